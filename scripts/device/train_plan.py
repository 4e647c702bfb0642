"""Device run: one warmup+cosine training cycle spread over several calls (single GPU or torchrun).

python3 scripts/device/train_plan.py MODEL_DIR MINUTES EXTRA_STEPS LR BATCH_PER_RANK [SYSTEM]
  torchrun --standalone --nproc_per_node=4 scripts/device/train_plan.py ...

The first call writes MODEL_DIR/plan.json (cycle start = the checkpoint's step, end = start + EXTRA_STEPS);
later calls read it and resume the same cycle, so a long schedule survives the 10-minute call limit.
AMORPH_SIGMA_DIST=loguniform (first call) trains with log-uniform noise levels instead of the paper's uniform ones;
AMORPH_MODEL_JSON='{"hidden_vectors": 64}' (first call, empty MODEL_DIR) sets the architecture of a new model;
AMORPH_SIGMA_MAX=0.4 (first call) narrows the noise range from the paper's 0.75 Å (a low-noise fine-tune);
AMORPH_LOSS_WEIGHT=balanced (first call) weights low-noise errors up (TrainConfig.loss_weight);
AMORPH_LOSS_WEIGHT_SIGMA=0.1 (first call) sets that weight's s_w in Å (TrainConfig.loss_weight_sigma, default 0.05).
"""
import json
import os
import sys
import time
from pathlib import Path

import torch

torch.backends.cuda.matmul.allow_tf32 = True
torch.backends.cudnn.allow_tf32 = True

from amorph_core.train import TrainConfig, end_distributed_process, train  # noqa: E402

d, minutes, extra, lr, bs = Path(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
system = sys.argv[6] if len(sys.argv) > 6 else "sio2"
rank = int(os.environ.get("RANK", "0"))
plan_path = d / "plan.json"
if plan_path.exists():
    plan = json.loads(plan_path.read_text())
else:
    start = json.loads((d / "config.json").read_text())["meta"]["step"] if (d / "config.json").exists() else 0
    plan = {"schedule_start": start, "steps": start + extra, "lr": lr, "batch_per_rank": bs,
            "world_size": int(os.environ.get("WORLD_SIZE", "1")),
            "sigma_dist": os.environ.get("AMORPH_SIGMA_DIST", "uniform"),
            "sigma_max": float(os.environ.get("AMORPH_SIGMA_MAX", "0.75")),
            "loss_weight": os.environ.get("AMORPH_LOSS_WEIGHT", "paper"),
            "loss_weight_sigma": float(os.environ.get("AMORPH_LOSS_WEIGHT_SIGMA", "0.05")),
            "model": json.loads(os.environ.get("AMORPH_MODEL_JSON", "{}"))}
    if rank == 0:
        plan_path.write_text(json.dumps(plan, indent=1))
cfg = TrainConfig(system=system, steps=plan["steps"], batch_size=plan["batch_per_rank"], lr=plan["lr"],
                  lr_min=1e-5, warmup=200, schedule_start=plan["schedule_start"], val_every=500,
                  ckpt_every=500, device="cuda", max_minutes=minutes,
                  sigma_dist=plan.get("sigma_dist", "uniform"), sigma_max=plan.get("sigma_max", 0.75),
                  loss_weight=plan.get("loss_weight", "paper"),
                  loss_weight_sigma=plan.get("loss_weight_sigma", 0.05),
                  model=plan.get("model", {}))
if rank == 0:
    print(f"plan {plan}")
t0 = time.perf_counter()
train(cfg, d, resume=True)
if rank == 0:
    print(f"training wall time {time.perf_counter() - t0:.1f} s")
end_distributed_process()
