# Device run, one GPU, ~9.5 min (after `source scripts/device/setup.sh`; carry .whl and .whl-md; writes $OUT):
# GPU MD suite (speed 3k/30k/108k + static moduli), six 1 K/ps glasses with a candidate model, 112,848-atom run.
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site .whl-md/*.whl
M=${1:-assets/models/sio2-cond-next}
timeout 300 python3 benchmarks/md_gpu_suite.py $OUT/md --budget-s 260 --parts bench,moduli > /tmp/md.log 2>&1
timeout 130 python3 scripts/device/sample_eval.py $M /tmp/g/paper 1.0 3000 0-5 paper > /tmp/gen.log 2>&1
tar czf $OUT/gen1k_candidate.tgz -C /tmp/g .
timeout 140 python3 benchmarks/bench_sampler.py $OUT/large --sections large --modes graph --large-schedule fast > /tmp/large.log 2>&1
cat /tmp/md.log /tmp/gen.log /tmp/large.log | grep -v -i -E "warn|deprecat" | tail -60
