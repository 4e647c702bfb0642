# Device run, one H100, ~9 min (after `source scripts/device/setup.sh`; carry .whl and devcarry/large, the saved
# trajectory of call 1 in case the machine is a fresh one): (1) finishes the 112,848-atom paper-schedule glass
# (large_resumable.py continues /tmp/large), (2) six 3000-atom 1 K/ps glasses of the default model without extra
# noise (paper Fig. 15a ablation; seeds 0-5 like the judged paper-schedule glasses), (3) sampler speed of the
# default model: the pre-issue-4 path ('old') and compile-graph in one process, a full schedule, batch of 16.
[ -d /tmp/large ] || cp -r devcarry/large /tmp/large
timeout 330 python3 scripts/device/large_resumable.py /tmp/large 300 paper graph > $OUT/large2.log 2>&1
tail -n 2 $OUT/large2.log
tar czf $OUT/large_final.tgz -C /tmp --exclude=.partial large
timeout 150 python3 scripts/device/sample_eval.py assets/models/sio2-cond-hq4 /tmp/nonoise 1.0 3000 0-5 no-noise \
  > $OUT/nonoise.log 2>&1
tail -n 1 $OUT/nonoise.log
tar czf $OUT/nonoise_glasses.tgz -C /tmp nonoise
timeout 150 python3 benchmarks/bench_sampler.py /tmp/bench --sections speed --modes old,compile-graph \
  --budget-s 120 > $OUT/speed.log 2>&1
cp /tmp/bench/bench_sampler.json $OUT/bench_sampler_s16_hq4.json
grep -E "^(old|compile|full|batch)" $OUT/speed.log
