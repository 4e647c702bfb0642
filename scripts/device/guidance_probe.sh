# Device run (one GPU): does rate guidance bring the 100 and 0.1 K/ps glasses to their references' entropy?
#   bash scripts/device/guidance_probe.sh [MODEL] [W...]     (default: the shipped sio2 model, W = 1 2)
# 3000-atom glasses per rate and W (SEEDS, default 10-13, paper schedule: the judging glasses' seeds and starts;
# RATES, default "100 0.1"), then eval_conditioning per W; no new rate starts after BUDGET_S (default 420) s.
# Writes $OUT/guidance_W.json, $OUT/guidance_W.txt, $OUT/guidance_glasses.tgz.
source scripts/device/setup.sh
M=${1:-assets/models/sio2-cond-hq2}; shift; WS=${*:-1 2}; G=/tmp/guid
T0=$(date +%s)
for w in $WS; do for r in ${RATES:-100 0.1}; do
  if [ $(( $(date +%s) - T0 )) -gt ${BUDGET_S:-420} ]; then echo "skipped w=$w rate=$r (time)"; continue; fi
  AMORPH_RATE_GUIDANCE=$w python3 scripts/device/sample_eval.py $M $G/w$w/c_$r $r 3000 ${SEEDS:-10-13} paper 2>&1 \
    | grep -E "s/structure|Error|error"
done; done
for w in $WS; do
  [ -d $G/w$w ] && python3 benchmarks/eval_conditioning.py "$G/w$w/*/*.extxyz" --json $OUT/guidance_$w.json 2>&1 \
    | grep -v -i warn | tee $OUT/guidance_$w.txt
done
tar czf $OUT/guidance_glasses.tgz -C $G .
