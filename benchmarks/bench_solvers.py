"""Solver speed (run on the device): a noise-conditional model with a solver at N network evaluations against
the paper's sampler (noise-blind model, 3,000 steps) in the same process on one GPU.

  python benchmarks/bench_solvers.py OUT --model M [--baseline sio2-cond-hq4] [--evals 200] [--sampler heun]
                                     [--mode compile-graph] [--tf32] [--batch 32]
  python benchmarks/bench_solvers.py OUT --model M --quick --device cpu          (tiny sizes: a smoke test)

Measures (seconds of sampling, after a warm-up glass that captures the CUDA graphs): one 3,000-atom 1 K/ps
glass with the solver; the same with the paper's sampler and the baseline model (the ratio is the speed-up);
a batch of --batch glasses (glasses per hour); one 112,848-atom glass (the paper's Fig. 3 box, Lz/Lx 1.4) with
its peak GPU memory. Writes OUT/bench_solvers.json after every measurement.
"""
import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from amorph_core.generate import GenerationRequest, Generator, generate_structures  # noqa: E402
from benchmarks._device_bench import Bench, add_device_args  # noqa: E402

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("out")
add_device_args(ap, 540.0)
ap.add_argument("--baseline", default="sio2-cond-hq4", help="noise-blind model for the paper's sampler")
ap.add_argument("--evals", type=int, default=200)
ap.add_argument("--sampler", default="heun")
ap.add_argument("--mode", default="auto")
ap.add_argument("--tf32", action="store_true", help="TF32 matrix products for both models (CUDA)")
ap.add_argument("--batch", type=int, default=None, help="glasses in the throughput batch (default 32; quick 2)")
ap.add_argument("--sections", default="single,paper,batch,large")
args = ap.parse_args()

quick = args.quick
n_atoms = 192 if quick else 3000
n_batch = args.batch or (2 if quick else 32)
large = 648 if quick else 112_848
B = Bench(args.out, args.device, "bench_solvers.json", args.budget_s, model=args.model, sampler=args.sampler,
          evals=args.evals, n_atoms=n_atoms, mode=args.mode, tf32=args.tf32)
res, save, sync = B.res, B.save, B.sync
sections = args.sections.split(",")


def timed(gen, folder, **kw):
    req = GenerationRequest(cooling_rate_k_ps=1.0, model=gen.model_name, mode=args.mode, device=args.device, **kw)
    sync()
    t0 = time.perf_counter()
    paths = generate_structures(req, B.out / folder, generator=gen)
    sync()
    return time.perf_counter() - t0, paths


solver_gen = Generator("sio2", args.model, args.device, mode=args.mode, tf32=args.tf32)
sched = dict(schedule=args.evals, sampler=args.sampler)
if "single" in sections:
    timed(solver_gen, "warmup", n_atoms=n_atoms, seeds=(100,), **sched)
    s, _ = timed(solver_gen, "single", n_atoms=n_atoms, seeds=(0,), **sched)
    res["single_s"] = s
    save()
if "paper" in sections and B.left() > 60:
    base = Generator("sio2", args.baseline, args.device, mode="compile-graph" if B.cuda else "auto", tf32=args.tf32)
    steps = 6 if quick else "paper"
    timed(base, "paper_warmup", n_atoms=n_atoms, seeds=(100,), schedule=30 if not quick else 6, sampler="paper")
    s, _ = timed(base, "paper", n_atoms=n_atoms, seeds=(0,), schedule=steps, sampler="paper")
    res["paper_single_s"] = s
    res["speedup_vs_paper"] = s / res["single_s"] if res.get("single_s") else None
    del base
    save()
if "batch" in sections and B.left() > 60:
    timed(solver_gen, "batch_warmup", n_atoms=n_atoms, seeds=tuple(range(200, 200 + n_batch)), schedule=5,
          sampler=args.sampler)  # captures the batch's graphs
    s, paths = timed(solver_gen, "batch", n_atoms=n_atoms, seeds=tuple(range(n_batch)), **sched)
    res.update(batch=n_batch, batch_s=s, glasses_per_hour=3600 * len(paths) / s)
    save()
if "large" in sections and B.left() > 60:
    if B.cuda:
        torch.cuda.reset_peak_memory_stats()
    s, paths = timed(solver_gen, "large", n_atoms=large, aspect=(1.0, 1.0, 1.4), seeds=(0,), **sched)
    res.update(large_atoms=large, large_s=s,
               large_peak_gib=torch.cuda.max_memory_allocated() / 2 ** 30 if B.cuda else None)
    save()
print(res)
