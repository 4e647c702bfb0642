"""Generation time on this machine's CPU (2 cores): a 648-atom a-SiO2 glass at 1 K/ps.

python benchmarks/bench_cpu_generate.py SCHEDULE [N_ATOMS] [MODEL]   -> prints seconds and ms/step (default model)
"""
import os
import sys
import time

import torch

from amorph_core.generate import GenerationRequest, Generator, generate_structures, resolve_schedule

sched = sys.argv[1] if len(sys.argv) > 1 else "quick"
n = int(sys.argv[2]) if len(sys.argv) > 2 else 648
gen = Generator("sio2", sys.argv[3] if len(sys.argv) > 3 else None, "cpu")
req = GenerationRequest(cooling_rate_k_ps=1.0, n_atoms=n, seeds=(0,), schedule=sched, device="cpu")
t = time.perf_counter()
generate_structures(req, f"/tmp/cpu_bench_{sched}", generator=gen)
dt = time.perf_counter() - t
steps = resolve_schedule(sched, "sio2", 1.0).n_steps
print(f"cpu ({os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads): {n} atoms, "
      f"schedule {sched} ({steps} steps): {dt:.1f} s, {1000 * dt / steps:.0f} ms/step, model {gen.model_name}")
