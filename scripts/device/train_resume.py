"""Device run: resume a checkpoint for another warmup+cosine cycle within a time budget.

python3 scripts/device/train_resume.py MODEL_DIR MINUTES LR MS_PER_STEP [SYSTEM]
"""
import json
import sys
import time
from pathlib import Path

import torch

torch.backends.cuda.matmul.allow_tf32 = True
torch.backends.cudnn.allow_tf32 = True

from amorph_core.train import TrainConfig, train  # noqa: E402

d, minutes, lr, ms = Path(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
system = sys.argv[5] if len(sys.argv) > 5 else "sio2"
start = json.loads((d / "config.json").read_text())["meta"]["step"] if (d / "config.json").exists() else 0
extra = int(minutes * 60 / (ms / 1000 * 1.08))
cfg = TrainConfig(system=system, steps=start + extra, batch_size=8, lr=lr, lr_min=1e-5, warmup=100,
                  schedule_start=start, val_every=500, ckpt_every=1000, device="cuda", max_minutes=minutes * 1.1)
print(f"resuming {d} at step {start} for {extra} steps, lr {lr}")
t0 = time.perf_counter()
train(cfg, d, resume=True)
print(f"training wall time {time.perf_counter() - t0:.1f} s")
