#!/usr/bin/env bash
# Set up (first time only) and run the whole test suite, browser end-to-end test included.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[test] installing chromium + chromium-driver for the browser test"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
      || echo "[test] could not install chromium: the browser test will be skipped"
  fi
fi
# tests marked 'isolated' run in their own pytest process first (multi-process training)
# (exit code 5 = none selected, e.g. when "$@" names other files)
.venv/bin/python -m pytest -q -m isolated -p no:cacheprovider "$@" || [ $? -eq 5 ]
# the rest on AMORPH_TEST_WORKERS pytest-xdist workers (default 2; each computes on one thread, tests/conftest.py),
# whole files per worker so that module fixtures are made once; 1 = one process
workers=${AMORPH_TEST_WORKERS:-2}
if [ "$workers" -gt 1 ] && .venv/bin/python -c "import xdist" 2>/dev/null; then
  exec .venv/bin/python -m pytest -q -m "not isolated" -n "$workers" --dist loadfile "$@"
fi
exec .venv/bin/python -m pytest -q -m "not isolated" "$@"
