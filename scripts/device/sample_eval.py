"""Generate glasses with a checkpoint on the device and time it.

python3 scripts/device/sample_eval.py MODEL_DIR OUT_DIR RATE N_ATOMS SEEDS SCHEDULE [MAX_ATOMS_PER_BATCH]
RATE 'none' for unconditional systems; the system is read from the checkpoint.
AMORPH_RATE_GUIDANCE=W samples with rate guidance W (GenerationRequest.rate_guidance); AMORPH_TF32=1 with TF32
(another trajectory of the same seeds, for judging with more glasses).
"""
import json
import os
import sys
from pathlib import Path
import time

import torch

from amorph_core.generate import GenerationRequest, Generator, generate_structures, parse_seeds

model, out, rate, n, seeds, sched = sys.argv[1:7]
max_atoms = int(sys.argv[7]) if len(sys.argv) > 7 else None
system = json.loads((Path(model) / "config.json").read_text())["config"]["system"]
gen = Generator(system, model, "cuda", tf32=os.environ.get("AMORPH_TF32", "0") == "1")
req = GenerationRequest(system=system, cooling_rate_k_ps=None if rate == "none" else float(rate), n_atoms=int(n), seeds=parse_seeds(seeds),
                        schedule=sched, device="cuda", model=model, max_atoms_per_batch=max_atoms,
                        rate_guidance=float(os.environ.get("AMORPH_RATE_GUIDANCE", "0")))
torch.cuda.synchronize()
t = time.perf_counter()
paths = generate_structures(req, out, generator=gen)
torch.cuda.synchronize()
dt = time.perf_counter() - t
print(f"rate {rate} K/ps, {len(paths)} x {n} atoms, schedule {sched}: {dt:.1f} s total, "
      f"{dt / len(paths):.1f} s/structure, peak {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB")
