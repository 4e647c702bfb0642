# Device run (one GPU, ~6 min; carry .whl and .whl-md): six 3000-atom 1 K/ps glasses from a model (seeds 0-5,
# paper schedule), then each refined with OpenMM CUDA by benchmarks/refine_generated.py (min, 1 ps NVT, 5 ps NVT,
# 25 ps NVT + 25 ps NPT). Everything comes back in $OUT/refine_TAG.tgz; judge on the CPU with eval_generated.py.
# bash scripts/device/refine_judge.sh MODEL_DIR TAG
source scripts/device/setup.sh
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site .whl-md/*.whl
M=$1; T=$2; G=/tmp/ref_$T; mkdir -p $G
python3 scripts/device/sample_eval.py $M $G/generated 1.0 3000 0-5 paper 2>&1 | grep "s/structure"
tar czf $OUT/refine_$T.tgz -C $G .
timeout 330 python3 benchmarks/refine_generated.py "$G/generated/*.extxyz" $G --engine openmm 2>&1 | grep -v -i warn | tail -30
tar czf $OUT/refine_$T.tgz -C $G .
