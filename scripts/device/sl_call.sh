# Device run (all GPUs of the host): one call of the species-linears training plan, then optionally eval_all.
# bash scripts/device/sl_call.sh MINUTES EXTRA_STEPS [eval]
# The model folder lives in /tmp/sl on a warm machine; on a fresh one it is copied from the carried
# assets/training/sio2-cond-sl. AMORPH_SET_LOSS_WEIGHT=balanced switches the running plan's loss weight.
source scripts/device/setup.sh
D=/tmp/sl; S=assets/training/sio2-cond-sl
if [ ! -f $D/config.json ] && [ -f $S/config.json ]; then mkdir -p $D && cp -r $S/. $D/ && echo "copied $S"; fi
if [ -n "$AMORPH_SET_LOSS_WEIGHT" ] && [ -f $D/plan.json ]; then
  python3 -c "import json,sys; p=json.load(open('$D/plan.json')); p['loss_weight']='$AMORPH_SET_LOSS_WEIGHT'; json.dump(p, open('$D/plan.json','w'), indent=1); print('plan', p)"
fi
mkdir -p $D
L=$OUT/train_$(date +%H%M%S).log
AMORPH_MODEL_JSON='{"species_self_connection": true, "species_linears": true}' \
  torchrun --standalone --nproc_per_node=$(nvidia-smi -L | wc -l) scripts/device/train_plan.py $D $1 $2 6e-4 8 > $L 2>&1
grep -v -i warn $L | tail -25
mkdir -p $OUT/sl && cp -r $D/. $OUT/sl/
if [ "$3" = eval ]; then bash scripts/device/eval_all.sh $D sl; fi
