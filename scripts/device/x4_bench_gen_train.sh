# Device run on a 4-GPU host (after `source scripts/device/setup.sh`; writes to $OUT):
#   GPU 0: sampler speed benchmark (benchmarks/bench_sampler.py, all paths, one process)
#   GPU 1: six 1 K/ps glasses with the paper schedule and six without extra noise (packed as gen1k.tgz)
#   GPU 2,3: continue training sio2-cond (DDP, 2 ranks) in a copy -> train.tgz
M=assets/models/sio2-cond
mkdir -p $OUT/bench /tmp/g
(CUDA_VISIBLE_DEVICES=0 timeout 540 python3 benchmarks/bench_sampler.py $OUT/bench --budget-s 240 > /tmp/bench.log 2>&1) &
(for s in paper no-noise; do CUDA_VISIBLE_DEVICES=1 python3 scripts/device/sample_eval.py $M /tmp/g/$s 1.0 3000 0-5 $s; done > /tmp/gen.log 2>&1; tar czf $OUT/gen1k.tgz -C /tmp/g .) &
cp -r $M /tmp/m2 && rm -f /tmp/m2/plan.json
(CUDA_VISIBLE_DEVICES=2,3 OMP_NUM_THREADS=4 python3 -m torch.distributed.run --standalone --nproc_per_node=2 scripts/device/train_plan.py /tmp/m2 ${TRAIN_MIN:-7.5} ${TRAIN_STEPS:-5000} ${TRAIN_LR:-3e-4} 8 > /tmp/train.log 2>&1; tar czf $OUT/train.tgz -C /tmp/m2 .) &
wait
cat /tmp/bench.log /tmp/gen.log /tmp/train.log | grep -v -i -E "warn|deprecat|return func" | tee $OUT/log.txt
