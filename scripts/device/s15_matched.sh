# Session 15, device call 3 (one 4x H200 host; record of what ran): the `matched` schedule at six rates for hq4 and hq2,
# twelve 1 K/ps glasses each, and hq4 `window` seeds 6-11. devcarry/hq4 was the carried copy of what is now
# assets/models/sio2-cond-hq4 (config.json, model.pt, train_log.jsonl; same weights hash): use that path to rerun.
source scripts/device/setup.sh; nvidia-smi -L
M2=assets/models/sio2-cond-hq2; M4=devcarry/hq4
c() { g=$1; m=$2; t=$3; s=$4; seeds=$5; shift 5; for r in "$@"; do CUDA_VISIBLE_DEVICES=$g python3 scripts/device/sample_eval.py $m /tmp/g/$t/c_$r $r 3000 $seeds $s 2>&1 | grep -E "s/structure|Error"; done; }
( c 0 $M4 hq4m matched 10-13 1000 100 10; c 0 $M4 hq4w window 6-11 1 ) > $OUT/c0.log 2>&1 &
( c 1 $M4 hq4m matched 0-11 1; c 1 $M4 hq4m matched 10-13 0.1 0.01 ) > $OUT/c1.log 2>&1 &
( c 2 $M2 hq2m matched 10-13 1000 100 10 ) > $OUT/c2.log 2>&1 &
( c 3 $M2 hq2m matched 0-11 1; c 3 $M2 hq2m matched 10-13 0.1 0.01 ) > $OUT/c3.log 2>&1 &
wait
tar czf $OUT/glasses3.tgz -C /tmp/g .
cat $OUT/c*.log; ls -la $OUT
