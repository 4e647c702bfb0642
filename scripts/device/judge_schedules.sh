# Judge a checkpoint on one 4-GPU host (~5 min, after `source scripts/device/setup.sh`):
#   bash scripts/device/judge_schedules.sh MODEL_DIR
# Generates, with the two schedules that matter, twelve 1 K/ps glasses with `window` and with `matched` (seeds 0-11),
# and the `matched` conditioning sweep at 1000..0.01 K/ps (seeds 10-13). The glasses come back in one tgz
# (glasses.tgz); judge them on the CPU with benchmarks/eval_generated.py and benchmarks/eval_conditioning.py.
M=$1; G=/tmp/judge; nvidia-smi -L
c() { g=$1; t=$2; s=$3; seeds=$4; shift 4; for r in "$@"; do CUDA_VISIBLE_DEVICES=$g python3 scripts/device/sample_eval.py $M $G/$t/c_$r $r 3000 $seeds $s 2>&1 | grep -E "s/structure|Error"; done; }
( c 0 m matched 10-13 1000 100 10 ) > $OUT/c0.log 2>&1 &
( c 1 m matched 0-11 1 ) > $OUT/c1.log 2>&1 &
( c 2 w window 0-11 1 ) > $OUT/c2.log 2>&1 &
( c 3 m matched 10-13 0.1 0.01 ) > $OUT/c3.log 2>&1 &
wait
tar czf $OUT/glasses.tgz -C $G .
cat $OUT/c*.log
