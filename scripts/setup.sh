#!/usr/bin/env bash
# Create .venv and install Amorph with everything it needs. Idempotent: skips work already done.
# torch: a CPU build where no NVIDIA GPU exists (pytorch.org CPU index, else the PyPI/local wheel).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${AMORPH_VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating $VENV"
  "$PY" -m venv "$VENV"
fi
. "$VENV/bin/activate"
stamp="$VENV/.amorph-setup-$(cat requirements.txt pyproject.toml | sha256sum | cut -c1-16)"
if [ -f "$stamp" ]; then exit 0; fi
python -m pip install -q --upgrade pip
if ! python -c "import torch" 2>/dev/null; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then
    echo "[setup] GPU found: installing torch (CUDA build)"
    python -m pip install -q "torch>=2.2"
  else
    echo "[setup] no GPU: installing a CPU build of torch"
    python -m pip install -q --timeout 20 --retries 0 torch --index-url https://download.pytorch.org/whl/cpu 2>/dev/null \
      || python -m pip install -q "torch==2.13.0" \
      || python -m pip install -q "torch>=2.2"
  fi
fi
echo "[setup] installing requirements"
python -m pip install -q -r requirements.txt
python -m pip install -q --no-deps -e .
touch "$stamp"
echo "[setup] done"
