# Device run (one GPU): the quality-vs-cost glasses of a noise-conditional model (12 per point, 3,000 atoms,
# 1 K/ps) with both solvers, then the solver's speed against the paper's sampler (bench_solvers.py).
#   bash scripts/device/quality_cost.sh MODEL_DIR
# Judge the returned glasses here: python benchmarks/quality_cost.py judge DIR; ... report DIR
source scripts/device/setup.sh
M=$1; G=/tmp/qc; mkdir -p $G
pack() { tar czf $OUT/glasses_$1.tgz -C $G $(cd $G && ls -d $1-* 2>/dev/null) ; }
gen() { timeout $3 python3 benchmarks/quality_cost.py generate $G --model $M --sampler $1 --evals $2 2>&1 | grep -v -i warn; pack $1; }
gen heun 25,50,100,200 120
gen pc 25,50,100,200 120
gen heun 500,1000 ${T_LONG:-100}
gen pc 500,1000 ${T_LONG:-100}
[ -n "$NO_BENCH" ] || timeout 100 python3 benchmarks/bench_solvers.py $G/bench --model $M --sections single,paper 2>&1 | grep -v -i warn | tail -2
cp $G/bench/bench_solvers.json $OUT/ 2>/dev/null; ls $G
