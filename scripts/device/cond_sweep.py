"""Device run: conditioning sweep in one process (one Generator, so the CUDA graph is captured once).

python3 scripts/device/cond_sweep.py MODEL_DIR OUT_DIR SEEDS RATE [RATE ...]   (3000 atoms, paper schedule)
Writes OUT_DIR/c_<rate>/*.extxyz; judge with benchmarks/eval_conditioning.py. Send its output to a file under
$OUT, not through a pipe: a call cut at its time limit returns nothing of a pipe's buffer (session 9 lost a
run that way).
"""
import sys
import time

import torch

from amorph_core.generate import GenerationRequest, Generator, generate_structures, parse_seeds

model, out, seeds, rates = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
gen = Generator("sio2", model, "cuda")
for r in rates:
    req = GenerationRequest(system="sio2", cooling_rate_k_ps=float(r), n_atoms=3000, seeds=parse_seeds(seeds),
                            schedule="paper", device="cuda", model=model)
    torch.cuda.synchronize()
    t = time.perf_counter()
    paths = generate_structures(req, f"{out}/c_{r}", generator=gen)
    torch.cuda.synchronize()
    dt = time.perf_counter() - t
    print(f"rate {r} K/ps, {len(paths)} x 3000 atoms: {dt:.1f} s ({dt / len(paths):.1f} s/structure)", flush=True)
