"""Whole-step CUDA graphs (run on the device): one 3000-atom a-SiO2 structure (1 K/ps, seed 0) over the full paper
schedule with the per-step path (neighbour list with a host sync, model replayed as a graph) against the
whole-step path (dense list in fixed capacities + model + update as one graph, no sync per step), for the
'graph' and 'compile-graph' modes, in one process, interleaved and repeated; then the batch throughput of
each, same-seed reproducibility, and the per-step cost of other models (e.g. the species-linears model).

  python benchmarks/bench_whole_step.py OUT_DIR [--models sio2-cond-hq2,assets/training/sio2-cond-hq2-sl]
  python benchmarks/bench_whole_step.py OUT_DIR --quick --device cpu      (tiny sizes: a smoke test)

Writes OUT_DIR/bench_whole_step.json (updated after every measurement).
"""
import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore")

from amorph_core.diffusion import run_sampler  # noqa: E402
from amorph_core.generate import GenerationRequest, Generator, build_starts, generate_structures  # noqa: E402
from benchmarks._device_bench import Bench, add_device_args, min_image_max_diff  # noqa: E402

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("out")
add_device_args(ap, 420.0)
ap.add_argument("--models", default="", help="comma-separated models whose per-step cost to compare")
ap.add_argument("--modes", default="compile-graph,graph")
ap.add_argument("--repeats", type=int, default=2)
args = ap.parse_args()
n_atoms = 192 if args.quick else 3000
sched = 6 if args.quick else "paper"
n_batch = 2 if args.quick else 8
batch_steps = 4 if args.quick else 200
B = Bench(args.out, args.device, "bench_whole_step.json", args.budget_s, model=args.model, n_atoms=n_atoms,
          schedule=str(sched), full_schedule={}, batch={}, models={})
res, save, sync, left, out, dev, cuda = B.res, B.save, B.sync, B.left, B.out, B.dev, B.cuda
modes = [m for m in args.modes.split(",") if m] if cuda else ["graph"]


# 1. one structure, full schedule: per-step vs whole-step, each mode, interleaved repeats
from ase.io import read  # noqa: E402

req = GenerationRequest(cooling_rate_k_ps=1.0, n_atoms=n_atoms, seeds=(0,), device=dev, schedule=sched)
warm_req = GenerationRequest(cooling_rate_k_ps=1.0, n_atoms=n_atoms, seeds=(0,), device=dev, schedule=20)
gens = {}
for mode in modes:
    for ws in (False, True):
        name = f"{mode} {'whole-step' if ws else 'per-step'}"
        g = Generator("sio2", args.model, dev, mode=mode, whole_step=ws)
        t = time.perf_counter()
        generate_structures(warm_req, out / "warm", generator=g)  # compilation and capture of this start's shapes
        sync()
        gens[name] = g
        res["full_schedule"][name] = {"warmup_s": round(time.perf_counter() - t, 2), "seconds": [],
                                      "whole_step_used": g.uses_whole_step(g.batch_state(build_starts(req)))}
finals = {}
for rep in range(args.repeats):
    for name, g in gens.items():
        if left() < 60:
            res["full_schedule"][name].setdefault("skipped", "time budget")
            continue
        sync()
        t = time.perf_counter()
        path = generate_structures(req, out / f"full_{name.replace(' ', '_')}_{rep}", generator=g)[0]
        sync()
        res["full_schedule"][name]["seconds"].append(round(time.perf_counter() - t, 3))
        finals.setdefault(name, []).append(read(path))
        print(name, res["full_schedule"][name], flush=True)
        save()
for name, fs in finals.items():
    e = res["full_schedule"][name]
    e["best_s"] = min(e["seconds"])
    if len(fs) > 1:
        e["same_seed_max_dx_a"] = min_image_max_diff(fs[0], fs[1])
for mode in modes:
    a, b = f"{mode} per-step", f"{mode} whole-step"
    if a in finals and b in finals:
        res["full_schedule"][f"{mode} ratio per-step/whole-step"] = round(
            res["full_schedule"][a]["best_s"] / res["full_schedule"][b]["best_s"], 3)
        res["full_schedule"][f"{mode} max_dx_per_step_vs_whole_step_a"] = min_image_max_diff(finals[a][0], finals[b][0])
print(json.dumps(res["full_schedule"], indent=1), flush=True)
save()

# 2. batch throughput (a constant-noise stretch of the schedule; structures per hour over 3000 steps)
many = build_starts(GenerationRequest(cooling_rate_k_ps=1.0, n_atoms=n_atoms, seeds=tuple(range(n_batch))))
sig = np.linspace(1.0, 0.5, batch_steps)
for name, g in gens.items():
    if left() < 40:
        res["batch"][name] = {"skipped": "time budget"}
        continue
    with g.sampling():
        st = g.batch_state(many)
        p = g.predictor(st)
        run_sampler(st, p, sig[:10], g.generators(list(range(n_batch))))  # capture
        sync()
        t = time.perf_counter()
        run_sampler(st, p, sig, g.generators(list(range(n_batch))))
        sync()
    ms = 1000 * (time.perf_counter() - t) / batch_steps
    res["batch"][name] = {"n_structures": n_batch, "ms_per_step": round(ms, 3),
                          "structures_per_hour_paper_schedule": round(n_batch * 3600 / (ms / 1000 * 3000), 1)}
    print("batch", name, res["batch"][name], flush=True)
    save()
del gens

# 3. per-step cost of other models (whole-step graph on CUDA), interleaved
models = [m for m in args.models.split(",") if m]
if models:
    one = build_starts(req)
    mode = "graph"  # whole-step graph without compilation (no compile time per model)
    mg = {m: Generator("sio2", m, dev, mode=mode) for m in models}
    for m, g in mg.items():
        res["models"][m] = {"mode": mode, "params": sum(p.numel() for p in g.model.parameters()), "ms_per_step": []}
    for rep in range(args.repeats):
        for m, g in mg.items():
            if left() < 20:
                continue
            with g.sampling():
                st = g.batch_state(one)
                p = g.predictor(st)
                run_sampler(st, p, sig[:10], g.generators([0]))
                sync()
                t = time.perf_counter()
                run_sampler(st, p, sig, g.generators([0]))
                sync()
            res["models"][m]["ms_per_step"].append(round(1000 * (time.perf_counter() - t) / batch_steps, 3))
            print("model", m, res["models"][m], flush=True)
            save()
save()
print(json.dumps(res, indent=1))
