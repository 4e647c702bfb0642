"""Re-noise a finished glass and denoise it again with a short tail: are the defects frozen in by the model's
distribution, or by the schedule ending too fast?

python benchmarks/renoise_tail.py GLASS.extxyz SIGMA0 N_NOISY N_CLEAN [SEED]   (CPU)
Extra noise falls linearly from SIGMA0 (Å) to 0 over N_NOISY steps, then N_CLEAN clean steps (as the paper's tail).
"""
import sys
import time

import numpy as np
import torch

from amorph_core.analysis import analyze_structure
from amorph_core.diffusion.sampler import run_sampler
from amorph_core.generate import Generator
from amorph_core.structures import read_structure

f, s0, nn, nc = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
seed = int(sys.argv[5]) if len(sys.argv) > 5 else 0
torch.set_num_threads(1)
g = Generator("sio2", None, "cpu")
a = read_structure(f)
before = analyze_structure(a, rings=False, entropy=False)["summary"]
st = g.batch_state([a])  # cooling rate from the file's header
sigmas = list(np.linspace(s0, 0.0, nn, endpoint=False)) + [0.0] * nc
gen = torch.Generator().manual_seed(seed)
t = time.time()
out = run_sampler(st, g.predictor(), sigmas, [gen])
b = a.copy()
b.positions = out.positions.numpy()
after = analyze_structure(b, rings=False, entropy=False)["summary"]
print(f"{f}: sigma0 {s0} Å, {nn} noisy + {nc} clean steps ({time.time() - t:.0f} s): Si not 4-fold "
      f"{before['Si_not_4fold_pct']:.2f} -> {after['Si_not_4fold_pct']:.2f} %, O not 2-fold "
      f"{before['O_not_2fold_pct']:.2f} -> {after['O_not_2fold_pct']:.2f} %")
