# Device run (4 GPUs): two fine-tunes of the shipped sio2-cond side by side, then 1 K/ps and 0.1 K/ps samples of each.
# bash scripts/device/ab_finetune.sh MINUTES EXTRA_STEPS LR SIGMA_MAX_B   (after `source scripts/device/setup.sh`)
# A = the paper's sigma ~ U(0.001, 0.75) Å continued (GPUs 0,1, DDP); B = sigma ~ U(0.001, SIGMA_MAX_B) (GPUs 2,3).
# Optional: AB_MODEL_A / AB_MODEL_B (start checkpoints, default the shipped sio2-cond) and AB_DIST_A / AB_DIST_B
# (sigma distributions, default uniform; e.g. mixture) and AB_WEIGHT_A / AB_WEIGHT_B (loss weights, default paper;
# e.g. balanced) and AB_WSIGMA_A / AB_WSIGMA_B (the balanced weight's s_w in Å, default 0.05), e.g.
#   AB_MODEL_A=assets/training/sio2-cond-big AB_WEIGHT_A=balanced AB_WEIGHT_B=balanced \
#     bash scripts/device/ab_finetune.sh 5.5 3400 2e-4 0.75
# AB_EVAL=0 skips the sampling (judge later with EVAL_GPUS=0,1 eval_all.sh /tmp/A A & EVAL_GPUS=2,3 ... /tmp/B B);
# AB_RESUME=1 continues the training plans already in /tmp/A and /tmp/B (a later call on the warm machine).
MIN=$1; EXTRA=$2; LR=$3; SMAX=$4
if [ "${AB_RESUME:-0}" != 1 ]; then
  cp -r ${AB_MODEL_A:-assets/models/sio2-cond} /tmp/A_src; cp -r ${AB_MODEL_B:-assets/models/sio2-cond} /tmp/B_src
  for v in A B; do rm -rf /tmp/$v; mv /tmp/${v}_src /tmp/$v; chmod -R u+w /tmp/$v; rm -f /tmp/$v/plan.json; done
fi
tr() {  # VARIANT GPUS PORT SIGMA_MAX SIGMA_DIST LOSS_WEIGHT S_W
  CUDA_VISIBLE_DEVICES=$2 AMORPH_SIGMA_MAX=$4 AMORPH_SIGMA_DIST=$5 AMORPH_LOSS_WEIGHT=$6 AMORPH_LOSS_WEIGHT_SIGMA=$7 torchrun --nnodes=1 --nproc_per_node=2 --rdzv-backend=c10d \
    --rdzv-endpoint=localhost:$3 scripts/device/train_plan.py /tmp/$1 $MIN $EXTRA $LR 8 > $OUT/train_$1.log 2>&1
}
tr A 0,1 29511 0.75 ${AB_DIST_A:-uniform} ${AB_WEIGHT_A:-paper} ${AB_WSIGMA_A:-0.05} &
tr B 2,3 29522 $SMAX ${AB_DIST_B:-uniform} ${AB_WEIGHT_B:-paper} ${AB_WSIGMA_B:-0.05} & wait
tail -n 4 $OUT/train_A.log $OUT/train_B.log
mkdir -p /tmp/g
if [ "${AB_EVAL:-1}" = 0 ]; then
  for v in A B; do mkdir -p /tmp/g/model_$v; cp /tmp/$v/*.json /tmp/$v/*.jsonl /tmp/$v/*.pt /tmp/g/model_$v/; done
  tar czf $OUT/ab_models.tgz -C /tmp/g model_A model_B; exit 0
fi
ev() {  # VARIANT GPU RATE SEEDS
  CUDA_VISIBLE_DEVICES=$2 python3 scripts/device/sample_eval.py /tmp/$1 /tmp/g/gen_$1_$3 $3 3000 $4 paper > /tmp/g/gen_$1_$3.log 2>&1
}
ev A 0 1.0 0-5 & ev B 1 1.0 0-5 & ev A 2 0.1 10-13 & ev B 3 0.1 10-13 & wait
grep -h "rate" /tmp/g/gen_*.log
# $OUT brings back only a few files per call: one archive of the glasses, logs and both checkpoints
for v in A B; do mkdir -p /tmp/g/model_$v; cp /tmp/$v/*.json /tmp/$v/*.jsonl /tmp/$v/*.pt /tmp/g/model_$v/; done
tar czf $OUT/ab.tgz -C /tmp/g .
