# Device run (one GPU): judge a checkpoint against the shipped sio2-cond in one call.
# bash scripts/device/gpu_judge.sh MODEL_DIR TAG
#   1. one 3000-atom 1 K/ps structure, paper schedule, shipped model then MODEL_DIR (time ratio, same call)
#   2. six 3000-atom 1 K/ps glasses (seeds 0-5, paper schedule)
#   3. four glasses (seeds 10-13) at 0.1, 10 and 100 K/ps
# Glasses go to $OUT/gen_TAG.tgz after each stage (analysed on the CPU: the device has no matscipy).
source scripts/device/setup.sh
M=$1; T=$2; G=/tmp/gen_$T; mkdir -p $G
pack() { tar czf $OUT/gen_$T.tgz -C $G . ; }
for m in assets/models/sio2-cond $M assets/models/sio2-cond; do
  python3 scripts/device/sample_eval.py $m /tmp/one_$RANDOM 1.0 3000 0 paper 2>&1 | grep "s/structure" | sed "s|^|$m: |"
done
python3 scripts/device/sample_eval.py $M $G/q_paper 1.0 3000 0-5 paper 2>&1 | grep "s/structure"; pack
for r in 0.1 10 100; do
  python3 scripts/device/sample_eval.py $M $G/c_$r $r 3000 10-13 paper 2>&1 | grep "s/structure"; pack
done
