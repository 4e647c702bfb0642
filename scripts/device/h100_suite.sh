# Device run, one GPU, ~9 min (after `source scripts/device/setup.sh`; carry .whl and .whl-md; writes $OUT):
# sampler speed (old / eager / graph / compile-graph, full paper schedule, batch of 16), the 112,848-atom
# structure (Lz/Lx 1.4, fast schedule, graph mode), then static moduli of the 1 K/ps reference glasses on OpenMM CUDA.
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site .whl-md/*.whl
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee $OUT/gpu.txt
B=/tmp/bench; mkdir -p $B
timeout 270 python3 benchmarks/bench_sampler.py $B/speed --sections speed --modes old,eager,graph,compile-graph \
  --budget-s 230 > $OUT/speed.log 2>&1
timeout 120 python3 benchmarks/bench_sampler.py $B/large --sections large --modes graph --large-schedule fast \
  > $OUT/large.log 2>&1
timeout 150 python3 benchmarks/md_gpu_suite.py $B/md --parts moduli --budget-s 130 > $OUT/md.log 2>&1
for d in speed large md; do for f in $B/$d/*.json; do cp $f $OUT/${d}_$(basename $f); done; done
grep -h -v -i -E "warn|deprecat" $OUT/speed.log $OUT/large.log | grep -E "^(old|eager|graph|compile|full|batch)|seconds|peak" | head -30
tail -n 15 $OUT/md.log
