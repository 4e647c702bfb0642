# Device run (all GPUs of the host): one call of a training plan (scripts/device/train_plan.py), then optionally
# eval_all.sh. Made for the species-linears model; other models through the environment:
#   bash scripts/device/sl_call.sh MINUTES EXTRA_STEPS [eval]
#   AMORPH_SRC=assets/models/sio2-cond-hq2 AMORPH_WORK=/tmp/hq3 AMORPH_LR=2e-4 AMORPH_LOSS_WEIGHT=balanced \
#     bash scripts/device/sl_call.sh 8.8 11700         # continue a shipped checkpoint in a new cycle
# The model folder lives in $AMORPH_WORK (default /tmp/sl) on a warm machine; on a fresh one it is copied from
# the carried $AMORPH_SRC (default assets/training/sio2-cond-sl) without its plan.json unless AMORPH_KEEP_PLAN=1.
# AMORPH_SET_LOSS_WEIGHT=balanced switches the running plan's loss weight; AMORPH_SET_STEPS=N moves the running
# cycle's last step to N (e.g. to end it within the calls a machine has left). AMORPH_GPUS=0,1,2 trains on those
# GPUs only (the others stay free for a side job in the same call).
source scripts/device/setup.sh
D=${AMORPH_WORK:-/tmp/sl}; S=${AMORPH_SRC:-assets/training/sio2-cond-sl}; LR=${AMORPH_LR:-6e-4}
if [ ! -f $D/config.json ] && [ -f $S/config.json ]; then
  mkdir -p $D && cp -r $S/. $D/ && echo "copied $S"
  [ "${AMORPH_KEEP_PLAN:-0}" = 1 ] || rm -f $D/plan.json
fi
if [ -n "$AMORPH_SET_LOSS_WEIGHT$AMORPH_SET_STEPS" ] && [ -f $D/plan.json ]; then
  python3 -c "
import json, os
p = json.load(open('$D/plan.json'))
if os.environ.get('AMORPH_SET_LOSS_WEIGHT'): p['loss_weight'] = os.environ['AMORPH_SET_LOSS_WEIGHT']
if os.environ.get('AMORPH_SET_STEPS'): p['steps'] = int(os.environ['AMORPH_SET_STEPS'])
json.dump(p, open('$D/plan.json', 'w'), indent=1); print('plan', p)"
fi
mkdir -p $D
L=$OUT/train_$(date +%H%M%S).log
[ -n "$AMORPH_GPUS" ] && export CUDA_VISIBLE_DEVICES=$AMORPH_GPUS
NPROC=$(python3 -c "import torch; print(torch.cuda.device_count())")
AMORPH_MODEL_JSON=${AMORPH_MODEL_JSON:-'{"species_self_connection": true, "species_linears": true}'} \
  torchrun --standalone --nproc_per_node=$NPROC scripts/device/train_plan.py $D $1 $2 $LR 8 > $L 2>&1
grep -v -i warn $L | tail -25
mkdir -p $OUT/model && cp -r $D/. $OUT/model/
if [ "$3" = eval ]; then bash scripts/device/eval_all.sh $D eval; fi
