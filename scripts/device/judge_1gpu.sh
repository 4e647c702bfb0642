# Device run (one GPU): eval_all.sh's judging without the no-noise glasses, split over two calls on the same
# warm machine (each fits the 10-minute call limit):
#   bash scripts/device/judge_1gpu.sh MODEL_DIR TAG a   six 1 K/ps glasses (seeds 0-5) + 4 each at 100, 10 K/ps
#   bash scripts/device/judge_1gpu.sh MODEL_DIR TAG b   4 each at 1, 0.1, 1000, 0.01 K/ps, then the analysis
# Writes $OUT/gen1k_paper_TAG.json (a), $OUT/conditioning_TAG.json and $OUT/eval_TAG.txt (b), and the glasses
# made in the call as $OUT/gen_TAG_PART.tgz (rings are left to the CPU: no matscipy on the device).
source scripts/device/setup.sh
M=$1; T=$2; P=$3; G=/tmp/gen_$T; mkdir -p $G/$P
if [ "$P" = a ]; then
  python3 scripts/device/sample_eval.py $M $G/$P/q_paper 1.0 3000 0-5 paper 2>&1 | grep "s/structure"
  python3 benchmarks/eval_generated.py "$G/$P/q_paper/*.extxyz" 1.0 $OUT/gen1k_paper_$T.json --no-rings 2>&1 \
    | grep -v -i warn | tee $OUT/eval_${T}_a.txt | tail -25
  rates="100 10"
else
  rates="1 0.1 1000 0.01"
fi
for r in $rates; do
  python3 scripts/device/sample_eval.py $M $G/$P/c_$r $r 3000 10-13 paper 2>&1 | grep "s/structure"
done
tar czf $OUT/gen_${T}_$P.tgz -C $G/$P .
if [ "$P" = b ]; then
  python3 benchmarks/eval_conditioning.py "$G/*/c_*/*.extxyz" "$G/a/q_paper/*.extxyz" --json $OUT/conditioning_$T.json \
    2>&1 | grep -v -i warn | tee $OUT/eval_$T.txt
fi
