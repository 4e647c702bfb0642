"""Device run: probe training-step speed, then train a new model within a time budget.

python3 scripts/device/train_sio2.py OUT_DIR TRAIN_MINUTES [SYSTEM [NAME]]
(sio2 -> OUT_DIR/sio2-cond; cuzr -> OUT_DIR/cuzr)
"""
import sys
import time
from pathlib import Path

import torch

torch.backends.cuda.matmul.allow_tf32 = True
torch.backends.cudnn.allow_tf32 = True

from amorph_core.model.denoiser import Denoiser, DenoiserConfig  # noqa: E402
from amorph_core.train import Dataset, TrainConfig, loss_on, make_batch, mean_neighbors, train  # noqa: E402

from amorph_core.systems import get_system  # noqa: E402

out = Path(sys.argv[1])
minutes = float(sys.argv[2])
system = get_system(sys.argv[3] if len(sys.argv) > 3 else "sio2")
name = sys.argv[4] if len(sys.argv) > 4 else ("sio2-cond" if system.name == "sio2" else system.name)
dev = "cuda"
ds = Dataset(system.name, "train", system.elements, dev)
nn_mean = mean_neighbors(ds, 5.0)
m = Denoiser(DenoiserConfig(elements=system.elements, conditional=system.conditional, system=system.name,
                            avg_num_neighbors=nn_mean)).to(dev)
opt = torch.optim.AdamW(m.parameters(), 1e-3)
gen = torch.Generator(device=dev).manual_seed(0)
for bs in (8,):
    times = []
    for it in range(8):
        torch.cuda.synchronize()
        t = time.perf_counter()
        b = make_batch(ds.items[:bs], [0.3] * bs, gen, dev)
        loss = loss_on(m, b, 5.0)[0]
        opt.zero_grad()
        loss.backward()
        opt.step()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    t_step = sorted(times[2:])[len(times[2:]) // 2]
    print(f"batch {bs}: {t_step * 1000:.1f} ms/step, peak mem {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB")
steps = int(minutes * 60 / (t_step * 1.08))
print(f"mean neighbours {nn_mean:.2f}; training {steps} steps in ~{minutes} min")
cfg = TrainConfig(system=system.name, steps=steps, batch_size=8, lr=1e-3, lr_min=1e-5, warmup=200,
                  val_every=500, ckpt_every=1000, device=dev, max_minutes=minutes * 1.1)
t0 = time.perf_counter()
train(cfg, out / name, resume=False)
print(f"training wall time {time.perf_counter() - t0:.1f} s")
