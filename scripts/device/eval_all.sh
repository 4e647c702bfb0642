# Device run: judge a checkpoint on up to 4 GPUs at once (quality at 1 K/ps, no-noise, conditioning sweep).
# Rings are left to the CPU analysis (no matscipy on the device): $OUT/gen_TAG.tgz holds every glass.
# bash scripts/device/eval_all.sh MODEL_DIR TAG   (after `source scripts/device/setup.sh`; writes to $OUT)
# EVAL_GPUS=2,3 uses only those GPUs (two judges side by side); EVAL_NO_NOISE=0 skips the no-noise glasses.
M=$1; T=$2; G=/tmp/gen_$T; mkdir -p $G
IFS=, read -r -a GPUS <<< "${EVAL_GPUS:-$(seq -s, 0 $(( $(nvidia-smi -L | wc -l) - 1 )))}"
gpu() { echo ${GPUS[$(( $1 % ${#GPUS[@]} ))]}; }
run_q() {  # GPU SCHED
  CUDA_VISIBLE_DEVICES=$(gpu $1) python3 scripts/device/sample_eval.py $M $G/q_$2 1.0 3000 0-5 $2 > $G/q_$2.log 2>&1
  python3 benchmarks/eval_generated.py "$G/q_$2/*.extxyz" 1.0 $OUT/gen1k_${2}_$T.json --no-rings >> $G/q_$2.log 2>&1
}
run_c() {  # GPU RATES...
  g=$1; shift
  for r in "$@"; do CUDA_VISIBLE_DEVICES=$(gpu $g) python3 scripts/device/sample_eval.py $M $G/c_$r $r 3000 10-13 paper >> $G/c_$g.log 2>&1; done
}
run_q 0 paper & [ "${EVAL_NO_NOISE:-1}" = 0 ] || run_q 1 no-noise & run_c 2 1000 100 10 & run_c 3 1 0.1 0.01 & wait
python3 benchmarks/eval_conditioning.py "$G/c_*/*.extxyz" "$G/q_paper/*.extxyz" --json $OUT/conditioning_$T.json > $G/cond.txt 2>&1
cat $G/*.log $G/cond.txt | grep -v -i warn > $OUT/eval_$T.txt; cat $OUT/eval_$T.txt
tar czf $OUT/gen_$T.tgz -C $G --exclude='*.log' --exclude=cond.txt .   # the glasses (one file: the per-call file limit)
