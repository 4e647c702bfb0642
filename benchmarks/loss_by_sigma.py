"""Denoising error by noise level on the held-out glasses: where is the model weak?

python benchmarks/loss_by_sigma.py [MODEL] [N_GLASSES] > OUT.txt
For each sigma (Å): the eq.-5 MSE per atom (Å^2) and its ratio to the noise variance 3 sigma^2 (1.0 = no better
than predicting zero displacement).
"""
import sys

import torch

from amorph_core.model.checkpoint import load_model
from amorph_core.train import Dataset, loss_on, make_batch

name = sys.argv[1] if len(sys.argv) > 1 else "sio2-cond"
n = int(sys.argv[2]) if len(sys.argv) > 2 else 4
model, _ = load_model(name, "cpu")
ds = Dataset(model.cfg.system, "validation", tuple(model.cfg.elements), "cpu")
gen = torch.Generator().manual_seed(0)
print(f"model {name}, {min(n, len(ds))} validation glasses")
print("sigma_A  mse_A2   mse/(3 sigma^2)")
with torch.no_grad():
    for s in (0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.4, 0.75):
        vals = [float(loss_on(model, make_batch([it], [s], gen, "cpu"), model.cfg.cutoff)[1]) for it in ds.items[:n]]
        mse = sum(vals) / len(vals)
        print(f"{s:7.3f} {mse:9.5f} {mse / (3 * s * s):9.3f}")
