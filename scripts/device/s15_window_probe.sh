# Session 15, device call 2 (one 4x H200 host; record of what ran): the `window` schedule for hq2 and hq4 at 1 K/ps,
# hq2 `window` and hq4 `paper` conditioning. devcarry/hq4 was the carried copy of what is now
# assets/models/sio2-cond-hq4 (same weights hash): use that path to rerun.
source scripts/device/setup.sh; nvidia-smi -L
M2=assets/models/sio2-cond-hq2; M4=devcarry/hq4; W=paper:w0.1-0.45x4
p() { CUDA_VISIBLE_DEVICES=$1 python3 scripts/device/schedule_probe.py "${@:2}" > $OUT/probe_$1.log 2>&1; }
c() { g=$1; m=$2; t=$3; s=$4; shift 4; for r in "$@"; do CUDA_VISIBLE_DEVICES=$g python3 scripts/device/sample_eval.py $m /tmp/cond_$t/c_$r $r 3000 10-13 $s 2>&1 | grep s/structure; done; }
p 0 $M2 /tmp/p_hq2 1.0 0-5 $W 6000:w0.1-0.45x4 &
p 1 $M4 /tmp/p_hq4 1.0 0-5 paper $W &
c 2 $M2 hq2w $W 100 0.1 1000 10 > $OUT/cond_2.log 2>&1 &
c 3 $M4 hq4 paper 1000 100 10 0.1 0.01 > $OUT/cond_3.log 2>&1 &
wait
tar czf $OUT/glasses.tgz -C /tmp p_hq2 p_hq4 cond_hq2w cond_hq4
cat $OUT/cond_*.log; grep -v -i warn $OUT/probe_*.log | grep -E "glasses in|Si_not|O_not|shortest|rfactor|entropy|overlap"
