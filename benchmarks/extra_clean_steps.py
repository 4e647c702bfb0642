"""Do more clean (no-noise) denoising steps remove the defects of a finished glass?

python benchmarks/extra_clean_steps.py GLASS.extxyz [...]   (CPU; 40 extra steps of x <- x - eps(x) each)
"""
import sys
import time

import torch

from amorph_core.structures import read_structure
from amorph_core.generate import Generator
from amorph_core.diffusion.sampler import run_sampler
from amorph_core.analysis import analyze_structure
torch.set_num_threads(1)
g = Generator("sio2", None, "cpu")
for f in sys.argv[1:]:
    a = read_structure(f)
    s0 = analyze_structure(a, rings=False, entropy=False)["summary"]
    st = g.batch_state([a])  # cooling rate from the file's header
    t = time.time()
    out = run_sampler(st, g.predictor(), [0.0] * 40, [torch.Generator()])
    b = a.copy(); b.positions = out.positions.numpy()
    s1 = analyze_structure(b, rings=False, entropy=False)["summary"]
    print(f, "Si!4 before %.2f after 40 more clean steps %.2f; O!2 %.2f -> %.2f; (%.0f s)" % (
        s0["Si_not_4fold_pct"], s1["Si_not_4fold_pct"], s0["O_not_2fold_pct"], s1["O_not_2fold_pct"], time.time() - t), flush=True)
