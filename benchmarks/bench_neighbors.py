"""Neighbour-list methods on the GPU (run on the device): vesin's cell list + one key sort (the baseline) against
the dense all-pairs minimum-image list, in one process on one GPU.

  python benchmarks/bench_neighbors.py OUT_DIR [--model M] [--budget-s 400]
  python benchmarks/bench_neighbors.py OUT_DIR --quick --device cpu      (tiny sizes: a smoke test)

1. the list alone, for uniform starts of 648 ... 24,000 atoms and for a batch of 8 x 3,000 (ms, median of 10;
   edges compared: the same (src, dst) in the same order, largest vector difference);
2. one 3,000-atom 1 K/ps structure with the full paper schedule in the 'compile-graph' and 'graph' (default)
   modes, with each list (same seed: largest position difference between the two lists);
3. a batch of 8 x 3,000 atoms, 'compile-graph', ms per step with each list (structures/hour, paper schedule).
Writes OUT_DIR/bench_neighbors.json after every measurement.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from amorph_core.diffusion import run_sampler  # noqa: E402
from amorph_core.generate import GenerationRequest, Generator, build_starts, generate_structures  # noqa: E402
from amorph_core.model.graph import DENSE_MAX_ATOMS, periodic_graph  # noqa: E402
from benchmarks._device_bench import Bench, add_device_args, min_image_max_diff  # noqa: E402

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("out")
add_device_args(ap, 400.0)
args = ap.parse_args()
B = Bench(args.out, args.device, "bench_neighbors.json", args.budget_s, dense_max_atoms=DENSE_MAX_ATOMS,
          model=args.model, list_alone={}, full_schedule={}, batch={})
res, save, sync, out, dev, cuda = B.res, B.save, B.sync, B.out, B.dev, B.cuda
sizes = [192, 648] if args.quick else [648, 3000, 4500, 6000, 12000, 24000]
n_atoms = 192 if args.quick else 3000
sched = 6 if args.quick else "paper"
n_batch = 2 if args.quick else 8
batch_steps = 4 if args.quick else 100
def timed(fn, reps=10, warm=3):
    for _ in range(warm):
        fn()
    ts = []
    for _ in range(reps):
        sync()
        t = time.perf_counter()
        fn()
        sync()
        ts.append(1000 * (time.perf_counter() - t))
    return float(np.median(ts))


def tensors(starts):
    pos = torch.tensor(np.concatenate([a.positions for a in starts]), dtype=torch.float32, device=dev)
    cells = torch.tensor(np.stack([np.array(a.cell) for a in starts]), dtype=torch.float32, device=dev)
    ptr = [0]
    for a in starts:
        ptr.append(ptr[-1] + len(a))
    return pos, cells, ptr


# 1. the list alone
cases = [(f"{n} atoms", build_starts(GenerationRequest(cooling_rate_k_ps=1.0, n_atoms=n, seeds=(0,))))
         for n in sizes]
cases.append((f"batch {n_batch} x {n_atoms}",
              build_starts(GenerationRequest(cooling_rate_k_ps=1.0, n_atoms=n_atoms, seeds=tuple(range(n_batch))))))
for name, starts in cases:
    pos, cells, ptr = tensors(starts)
    a = periodic_graph(pos, cells, ptr, 5.0, method="vesin")
    b = periodic_graph(pos, cells, ptr, 5.0, method="dense")
    entry = {"edges": int(a[0].shape[0]),
             "same_edges_same_order": bool(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])),
             "max_vec_diff_a": float((a[2] - b[2]).abs().max()) if len(a[2]) == len(b[2]) else None}
    for method in ("vesin", "dense"):
        entry[f"{method}_ms"] = timed(lambda m=method: periodic_graph(pos, cells, ptr, 5.0, method=m))
    entry["speedup"] = entry["vesin_ms"] / entry["dense_ms"]
    res["list_alone"][name] = entry
    print(name, json.dumps(entry), flush=True)
    save()
    del a, b

# 2. one structure, full paper schedule, each list (generators warmed: compilation/capture excluded, reported)
req = GenerationRequest(cooling_rate_k_ps=1.0, n_atoms=n_atoms, seeds=(0,), device=dev, schedule=sched)
warm_req = GenerationRequest(cooling_rate_k_ps=1.0, n_atoms=n_atoms, seeds=(1,), device=dev, schedule=20)
modes = ["compile-graph", "graph"] if cuda else ["eager"]
from ase.io import read  # noqa: E402

for mode in modes:
    finals = {}
    for nl in ("vesin", "auto"):
        if B.elapsed() > 0.7 * args.budget_s:
            res["full_schedule"][f"{mode} {nl}"] = {"skipped": "time budget"}
            continue
        g = Generator("sio2", args.model, dev, mode=mode, neighbors=nl)
        t = time.perf_counter()
        generate_structures(warm_req, out / f"warm_{mode}_{nl}", generator=g)
        warm_s = time.perf_counter() - t
        sync()
        t = time.perf_counter()
        path = generate_structures(req, out / f"full_{mode}_{nl}", generator=g)[0]
        sync()
        s = time.perf_counter() - t
        finals[nl] = read(path)
        res["full_schedule"][f"{mode} {nl}"] = {"seconds": s, "warmup_s": warm_s, "steps": int(finals[nl].info["n_steps"])}
        print(mode, nl, json.dumps(res["full_schedule"][f"{mode} {nl}"]), flush=True)
        if nl == "vesin" and mode == "compile-graph":
            g_vesin = g
        elif mode == "compile-graph":
            g_auto = g
        save()
    if len(finals) == 2:
        e = res["full_schedule"]
        e[f"{mode} ratio vesin/auto"] = e[f"{mode} vesin"]["seconds"] / e[f"{mode} auto"]["seconds"]
        e[f"{mode} max_abs_dx_vesin_vs_auto_a"] = min_image_max_diff(finals["vesin"], finals["auto"])
        print(mode, "ratio", e[f"{mode} ratio vesin/auto"], "max dx", e[f"{mode} max_abs_dx_vesin_vs_auto_a"], flush=True)
        save()

# 3. batch throughput, compile-graph (cuda) with each list
if cuda and "g_auto" in globals() and "g_vesin" in globals():
    many = build_starts(GenerationRequest(cooling_rate_k_ps=1.0, n_atoms=n_atoms, seeds=tuple(range(n_batch))))
    sig = np.linspace(1.0, 0.5, batch_steps)
    for nl, g in (("vesin", g_vesin), ("auto", g_auto)):
        if B.left() < 0:
            res["batch"][nl] = {"skipped": "time budget"}
            continue
        with g.sampling():
            st = g.batch_state(many)
            gens = g.generators(list(range(n_batch)))
            run_sampler(st, g.predictor(), sig[:5], gens)
            sync()
            t = time.perf_counter()
            run_sampler(st, g.predictor(), sig, gens)
            sync()
        ms = 1000 * (time.perf_counter() - t) / batch_steps
        res["batch"][nl] = {"n_structures": n_batch, "ms_per_step": ms,
                            "structures_per_hour_paper_schedule": n_batch * 3600 / (ms / 1000 * 3000)}
        print("batch", nl, json.dumps(res["batch"][nl]), flush=True)
        save()
save()
print(json.dumps(res, indent=1))
