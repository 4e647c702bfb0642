"""Sampler speed (run on the device): ms per denoising step of one 3000-atom a-SiO2 structure (sio2-cond,
1 K/ps) for the old path and every Generator mode, in one process on one GPU; then one full paper-schedule run
(3000 steps) with the fastest reproducible mode, a same-seed reproducibility check, and the throughput of a
batch of 16 structures. Optional sections: one large structure, a batch of mixed cooling rates.

  python benchmarks/bench_sampler.py OUT_DIR [--sections speed,large,cond] [--modes eager,segment,...]
  python benchmarks/bench_sampler.py OUT_DIR --quick --device cpu      (tiny sizes: a smoke test of the script)

Paths timed (section 'speed'):
  old            five stable argsorts for the edge order + eager model with index_add (the code before issue 4)
  eager          one sort on a packed key + eager model with index_add (default mode)
  segment        + neighbour sum as a per-atom sequential sum over dst-sorted edges
  graph          + edges padded to a bucket size, one CUDA graph per bucket
  compile        + torch.compile (edge dimension dynamic)
  compile-graph  compile + one CUDA graph per bucket
Writes OUT_DIR/bench_sampler.json (updated after every measurement) and generated structures under OUT_DIR.
"""
import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from amorph_core.diffusion import get_schedule, run_sampler  # noqa: E402
from amorph_core.generate import MODES, GenerationRequest, Generator, build_starts, generate_structures  # noqa: E402
from amorph_core.model.graph import periodic_graph  # noqa: E402
from benchmarks._device_bench import Bench, add_device_args, min_image_max_diff  # noqa: E402

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("out")
ap.add_argument("--sections", default="speed", help="comma-separated: speed, large, cond (default speed)")
ap.add_argument("--modes", default="old," + ",".join(MODES), help="paths to time (default: all)")
add_device_args(ap, 270.0)
ap.add_argument("--atoms", type=int, default=None, help="atoms per structure (default 3000; quick 192)")
ap.add_argument("--steps", type=int, default=None, help="timed steps per path (default 300; quick 4)")
ap.add_argument("--batch", type=int, default=None, help="structures in the throughput batch (default 16)")
ap.add_argument("--full-schedule", default=None, help="schedule of the full run (default paper; quick 6)")
ap.add_argument("--large-schedule", default=None, help="schedule of the 112,848-atom run (default fast; quick draft)")
args = ap.parse_args()

quick = args.quick
n_atoms = args.atoms or (192 if quick else 3000)
n_steps = args.steps or (4 if quick else 300)
n_batch = args.batch or (2 if quick else 16)
full_sched = args.full_schedule or ("6" if quick else "paper")
full_sched = int(full_sched) if str(full_sched).isdigit() else full_sched
B = Bench(args.out, args.device, "bench_sampler.json", args.budget_s, model=args.model, n_atoms=n_atoms,
          timed_steps=n_steps, paths={})
res, save, sync, out, dev, cuda = B.res, B.save, B.sync, B.out, B.dev, B.cuda
modes = [m for m in args.modes.split(",") if m]
if not cuda:
    modes = [m for m in modes if not m.startswith("compile")] if quick else modes


def over_budget(frac=1.0):
    return B.elapsed() > frac * args.budget_s


def old_predictor(gen):
    """The step before issue 4: five stable argsorts for the edge order, eager model with index_add."""
    def predict(state):
        src, dst, vec = periodic_graph(state.positions, state.cells, state.ptr, gen.cfg.cutoff, order="argsort5")
        return gen.model(state.species, src, dst, vec, state.batch, state.cond)
    return predict


def per_step(gen, atoms_list, steps, predict=None, warm=5):
    """(ms per step over `steps` timed steps, seconds of warm-up incl. compilation/capture)."""
    predict = predict or gen.predictor()
    sig = np.linspace(1.0, 0.5, steps)
    seeds = [int(a.info["seed"]) for a in atoms_list]
    with gen.sampling():
        state = gen.batch_state(atoms_list)
        sync()
        t = time.perf_counter()
        run_sampler(state, predict, sig[:warm], gen.generators(seeds))
        sync()
        warm_s = time.perf_counter() - t
        t = time.perf_counter()
        run_sampler(state, predict, sig, gen.generators(seeds))
        sync()
    return 1000 * (time.perf_counter() - t) / steps, warm_s


def n_graphs(gen):
    return len(getattr(gen.forward, "graphs", {})) or None


def forward_diff(gen, ref_gen, atoms):
    """max |displacement| difference of one forward between gen's mode and the eager path (Å)."""
    with gen.sampling():
        st = gen.batch_state([atoms])
        a = gen.predictor()(st)
        b = ref_gen.predictor()(st)
        return float((a - b).abs().max())


sections = args.sections.split(",")
if "speed" in sections:
    req = GenerationRequest(cooling_rate_k_ps=1.0, n_atoms=n_atoms, seeds=(0,), device=dev)
    starts = build_starts(req)
    gens = {}
    t = time.perf_counter()
    eager = Generator("sio2", args.model, dev, mode="eager")
    res["load_s"] = time.perf_counter() - t
    with eager.sampling():
        st = eager.batch_state(starts)
        src, _, _ = periodic_graph(st.positions, st.cells, st.ptr, eager.cfg.cutoff)
        res["n_edges_start"] = int(src.shape[0])
        # neighbour list alone: old five argsorts vs one key sort
        for order in ("argsort5", "key"):
            for _ in range(3):
                periodic_graph(st.positions, st.cells, st.ptr, eager.cfg.cutoff, order=order)
            sync()
            t = time.perf_counter()
            for _ in range(20):
                periodic_graph(st.positions, st.cells, st.ptr, eager.cfg.cutoff, order=order)
            sync()
            res[f"neighbour_list_{order}_ms"] = 1000 * (time.perf_counter() - t) / 20
    save()
    for mode in modes:
        if over_budget(0.6):
            res["paths"][mode] = {"skipped": "time budget"}
            continue
        entry = res["paths"][mode] = {}
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                if mode == "old":
                    g, pred = eager, old_predictor(eager)
                elif mode == "eager":
                    g, pred = eager, None
                else:
                    g = gens[mode] = Generator("sio2", args.model, dev, mode=mode)
                    pred = None
                ms, warm_s = per_step(g, starts, n_steps, pred)
            entry.update(ms_per_step=ms, warmup_s=warm_s, cuda_graphs=n_graphs(g),
                         fell_back_to_eager=g.forward is g.model and mode not in ("old", "eager", "segment"))
            if mode not in ("old", "eager"):
                entry["forward_max_diff_vs_eager_a"] = forward_diff(g, eager, starts[0])
            msgs = sorted({str(w.message)[:200] for w in caught if "deprecated" not in str(w.message)})
            if msgs:
                entry["warnings"] = msgs[:5]
        except Exception as exc:  # keep measuring the other paths
            entry["error"] = f"{type(exc).__name__}: {exc}"[:500]
        print(mode, json.dumps(entry), flush=True)
        save()
    timed = {m: e["ms_per_step"] for m, e in res["paths"].items() if "ms_per_step" in e and m != "old"}
    best = min(timed, key=timed.get)
    res["best_mode"] = best
    g = eager if best == "eager" else gens[best]
    # reproducibility of the best mode: same seed, same device -> same structure (300 steps)
    short = GenerationRequest(cooling_rate_k_ps=1.0, n_atoms=n_atoms, seeds=(5,), device=dev, schedule=n_steps)
    from ase.io import read
    a = read(generate_structures(short, out / "rep1", generator=g)[0])
    b = read(generate_structures(short, out / "rep2", generator=g)[0])
    res["best_repro_max_abs_diff_a"] = min_image_max_diff(a, b)
    save()
    # one full schedule with the best mode (its compilation / graph capture is already done: the cold cost is
    # the path's warmup_s plus the capture of any new bucket, included here)
    req_full = GenerationRequest(cooling_rate_k_ps=1.0, n_atoms=n_atoms, seeds=(0,), device=dev,
                                 schedule=full_sched)
    sync()
    t = time.perf_counter()
    generate_structures(req_full, out / "single", generator=g)
    sync()
    full = time.perf_counter() - t
    steps_full = get_schedule(full_sched).n_steps
    res["full_schedule"] = {"mode": best, "schedule": str(full_sched), "steps": steps_full, "seconds": full,
                            "ms_per_step": 1000 * full / steps_full,
                            "cold_extra_s_compile_or_capture": res["paths"][best]["warmup_s"],
                            "cuda_graphs_after": n_graphs(g)}
    print("full", json.dumps(res["full_schedule"]), flush=True)
    save()
    # batch throughput: the best mode and eager
    many = build_starts(GenerationRequest(cooling_rate_k_ps=1.0, n_atoms=n_atoms, seeds=tuple(range(n_batch))))
    res["batch"] = {"n_structures": n_batch}
    for name, gb in (("best", g), ("eager", eager)):
        if over_budget(1.0):
            res["batch"][name] = {"skipped": "time budget"}
            continue
        try:
            ms, warm_s = per_step(gb, many, max(n_steps // 3, 2))
            res["batch"][name] = {"mode": gb.mode, "ms_per_step": ms, "warmup_s": warm_s,
                                  "structures_per_hour_paper_schedule": n_batch * 3600 / (ms / 1000 * 3000)}
        except Exception as exc:
            res["batch"][name] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
        print("batch", name, json.dumps(res["batch"][name]), flush=True)
        save()
    print(json.dumps(res, indent=1), flush=True)

mode_arg = modes[-1] if len(modes) == 1 else "eager"
if "cond" in sections:
    gen = Generator("sio2", args.model, dev, mode=mode_arg)
    rates = [1000.0, 100.0, 10.0, 0.1, 0.01]
    starts = []
    for r in rates:
        starts += build_starts(GenerationRequest(cooling_rate_k_ps=r, n_atoms=n_atoms, seeds=tuple(range(4))))
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    sync()
    t = time.perf_counter()
    with gen.sampling():
        state = gen.batch_state(starts)
        final = run_sampler(state, gen.predictor(), get_schedule(full_sched).sigmas(),
                            gen.generators([int(a.info["seed"]) for a in starts]))
    sync()
    dt = time.perf_counter() - t
    res["cond_batch"] = {"mode": gen.mode, "n_structures": len(starts), "atoms_total": int(final.positions.shape[0]),
                         "seconds": dt, "structures_per_hour": len(starts) * 3600 / dt,
                         "peak_gib": torch.cuda.max_memory_allocated() / 2**30 if cuda else None}
    from ase.io import write
    pos = final.positions.cpu().numpy()
    (out / "cond").mkdir(exist_ok=True)
    for k, a in enumerate(starts):
        b = a.copy()
        b.positions = pos[final.ptr[k]:final.ptr[k + 1]]
        b.wrap()
        b.info.update({"model": gen.model_name, "schedule": str(full_sched)})
        write(out / "cond" / f"sio2_{a.info['cooling_rate_k_ps']:g}Kps_seed{a.info['seed']}.extxyz", b)
    save()
    print(json.dumps(res["cond_batch"]), flush=True)

if "large" in sections:
    gen = Generator("sio2", args.model, dev, mode=mode_arg)
    sched = args.large_schedule or ("draft" if quick else "fast")
    big = GenerationRequest(cooling_rate_k_ps=1.0, n_atoms=6 * n_atoms if quick else 112848, aspect=(1, 1, 1.4),
                            seeds=(0,), schedule=sched, device=dev)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    sync()
    t = time.perf_counter()
    generate_structures(big, out / "large", generator=gen)
    sync()
    res["large"] = {"mode": gen.mode, "atoms": big.n_atoms, "schedule": sched, "steps": get_schedule(sched).n_steps,
                    "seconds": time.perf_counter() - t,
                    "peak_gib": torch.cuda.max_memory_allocated() / 2**30 if cuda else None}
    res["large"]["ms_per_step"] = 1000 * res["large"]["seconds"] / res["large"]["steps"]
    save()
    print(json.dumps(res["large"]), flush=True)
