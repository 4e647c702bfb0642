# Source on the device machine: installs the carried wheels (.whl/) into /tmp/site.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl >/dev/null 2>&1 || { echo "wheel install failed"; exit 1; }
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
python3 -c "import torch, e3nn, ase, vesin_torch; print('torch', torch.__version__, 'e3nn', e3nn.__version__, torch.cuda.get_device_name())"
