"""Is the low-noise error floor learnable? A short CPU fine-tune on low noise levels only.

python benchmarks/lowsigma_finetune_cpu.py MODEL OUT_DIR STEPS SIGMA_MAX [MINUTES] [LOSS_WEIGHT]   (one thread)
Copies MODEL to OUT_DIR and continues its training for STEPS structures (batch 1) with sigma ~ U(0.001, SIGMA_MAX) Å,
LR 1e-4 -> 1e-5, EMA decay 0.95 (so the saved weights follow a short run). Judge the result with
benchmarks/loss_by_sigma.py (all noise levels: did the high-noise levels suffer?) and benchmarks/ref_fixed_point.py.
LOSS_WEIGHT 'balanced' (TrainConfig.loss_weight) with SIGMA_MAX 0.75 keeps the paper's noise levels and weights
the low ones up instead.
An experiment for choosing the next device run, not a way to train a shipped model.
"""
import json
import shutil
import sys
from pathlib import Path

import torch

from amorph_core.train import TrainConfig, train

torch.set_num_threads(1)
src, out, steps, smax = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
minutes = float(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[5] != "none" else None
weight = sys.argv[6] if len(sys.argv) > 6 else "paper"
if not out.exists():
    shutil.copytree(src, out)
    for p in out.rglob("*"):
        p.chmod(0o644 if p.is_file() else 0o755)
    (out / "plan.json").unlink(missing_ok=True)
start = json.loads((out / "config.json").read_text())["meta"]["step"] if not (out / "ft_start.json").exists() \
    else json.loads((out / "ft_start.json").read_text())["start"]
(out / "ft_start.json").write_text(json.dumps({"start": start}))
cfg = TrainConfig(system="sio2", steps=start + steps, batch_size=1, lr=1e-4, lr_min=1e-5, warmup=10,
                  sigma_min=0.001, sigma_max=smax, ema_decay=0.95, val_every=10**9, ckpt_every=25, device="cpu",
                  max_minutes=minutes, schedule_start=start, loss_weight=weight)
train(cfg, out, resume=True)
