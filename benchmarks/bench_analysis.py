"""Time each analysis separately on a 3,000-atom a-SiO2 reference glass (1 K/ps, sample 0) and on a
replica of it (default 1x2x5 = 30,000 atoms; earlier runs used 2x2x2 = 24,000); QUESTS' numba compilation is timed apart in a fresh process with an empty
numba cache. Baselines in the same process: a 5 Å vesin neighbour list, and the same partial PDF built on
ase.neighborlist (3,000 atoms only).

    python benchmarks/bench_analysis.py [--out benchmarks/results/analysis.json] [--skip-large-rings] [--large-repeat 1,2,5]

Prints a Markdown table; writes JSON as it goes.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def best_of(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def compile_time() -> dict:
    """QUESTS first call in a fresh process: with an empty numba cache (compilation) and with a warm one."""
    code = ("import time; t=time.perf_counter(); from amorph_core.analysis.entropy import warm_up; "
            "w=warm_up(); print(time.perf_counter()-t, w)")
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        for label in ("empty_cache", "warm_cache"):
            env = dict(os.environ, NUMBA_CACHE_DIR=cache)
            p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
            total, warm = map(float, p.stdout.split()[-2:])
            out[label] = {"import_and_first_call_s": total, "first_call_s": warm}
    return out


def pdf_ase_baseline(atoms):
    """The same partial PDF with ase.neighborlist instead of vesin (baseline for the library choice)."""
    from ase.neighborlist import neighbor_list

    i, j, d = neighbor_list("ijd", atoms, 8.0)
    z = atoms.numbers
    return {k: np.histogram(d[(z[i] == a) & (z[j] == b)], bins=100, range=(0, 8))[0]
            for k, (a, b) in {"SiSi": (14, 14), "SiO": (14, 8), "OO": (8, 8)}.items()}


def bench(atoms, label, results, out_path, large):
    from vesin import NeighborList

    from amorph_core.analysis import (information_entropy, network_analysis, overlap,
                                      partial_pdfs, ring_statistics, shortest_distance, voronoi_analysis)
    from amorph_core.analysis.entropy import descriptors

    rep = 1 if large else 3
    row = {"n_atoms": len(atoms)}
    pos, cell = atoms.positions, atoms.cell.array
    row["neighbour_list_5A_vesin"], _ = best_of(
        lambda: NeighborList(cutoff=5.0, full_list=True).compute(pos, cell, True, "ijd"), rep)
    row["pdf"], _ = best_of(lambda: partial_pdfs(atoms), rep)
    if not large:
        row["pdf_ase_neighborlist_baseline"], _ = best_of(lambda: pdf_ase_baseline(atoms), 1)
    row["network_coord_qn_angles"], _ = best_of(lambda: network_analysis(atoms), rep)
    row["shortest_SiO"], _ = best_of(lambda: shortest_distance(atoms), rep)
    row["quests_descriptors"], x = best_of(lambda: descriptors(atoms), 1)
    row["quests_entropy"], h = best_of(lambda: information_entropy(x), 1)
    row["entropy_nats"] = h
    row["quests_overlap_self"], _ = best_of(lambda: overlap(x, x), 1)
    row["voronoi_covalent_radii"], _ = best_of(lambda: voronoi_analysis(atoms, per_atom=False), 1)
    results[label] = row
    out_path.write_text(json.dumps(results, indent=1))
    if large and "--skip-large-rings" in sys.argv:
        row["rings"] = None
    else:
        try:
            row["rings"], r = best_of(lambda: ring_statistics(atoms), 1)
        except Exception as exc:  # noqa: BLE001 - record why (e.g. the memory guard)
            row["rings"] = f"refused: {exc}"
    results[label] = row
    out_path.write_text(json.dumps(results, indent=1))
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "analysis.json"))
    ap.add_argument("--skip-large-rings", action="store_true")
    ap.add_argument("--large-repeat", default="1,2,5",
                    help="replication of the 3,000-atom glass for the large case (default 1,2,5 = 30,000 atoms)")
    args = ap.parse_args()
    out_path = Path(args.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    from amorph_core.structures import porous_start, reference_glasses

    results = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores",
               "python": platform.python_version()}
    print("compiling QUESTS in a fresh process ...", flush=True)
    results["quests_first_call"] = compile_time()
    out_path.write_text(json.dumps(results, indent=1))
    from amorph_core.analysis.entropy import warm_up

    warm_up()
    g = reference_glasses("sio2", 1.0)[0]
    small = bench(g, "glass_3000", results, out_path, large=False)
    rep = tuple(int(x) for x in args.large_repeat.split(","))
    big_atoms = g.repeat(rep)
    n_big = len(big_atoms)
    big = bench(big_atoms, f"glass_{n_big}_{'x'.join(map(str, rep))}", results, out_path, large=True)
    # pores: porous starts of similar sizes
    from amorph_core.analysis import nbo_at_pores

    for n in (3000, n_big):
        p = porous_start("sio2", pore_radius_a=8.0, n_atoms=n, seed=0)
        results.setdefault("nbo_at_pores", {})[str(n)] = best_of(lambda: nbo_at_pores(p), 3)[0]
    out_path.write_text(json.dumps(results, indent=1))
    # the lead's use: compare_sets on 6 vs 6 glasses (0.1 K/ps references standing in for "generated")
    from amorph_core.analysis import compare_sets

    t = time.perf_counter()
    cmp = compare_sets(reference_glasses("sio2", 0.1), reference_glasses("sio2", 1.0))
    results["compare_sets_6x6_3000"] = {"seconds": time.perf_counter() - t, "summary": cmp["summary"]}
    out_path.write_text(json.dumps(results, indent=1))
    print(f"\nmachine: {results['machine']}")
    c = results["quests_first_call"]
    print(f"QUESTS first call (fresh process): empty numba cache {c['empty_cache']['import_and_first_call_s']:.1f} s, "
          f"warm cache {c['warm_cache']['import_and_first_call_s']:.1f} s")
    print(f"\n| analysis | 3,000 atoms (s) | {n_big:,} atoms (s) | ratio | 3k / vesin 5 Å list |")
    print("|---|---|---|---|---|")
    nl = small["neighbour_list_5A_vesin"]
    for k in small:
        if k in ("n_atoms", "entropy_nats"):
            continue
        a, b = small.get(k), big.get(k)
        fa = f"{a:.3f}" if isinstance(a, float) else str(a)
        fb = f"{b:.3f}" if isinstance(b, float) else str(b)
        ratio = f"{b / a:.1f}" if isinstance(a, float) and isinstance(b, float) else "-"
        rel = f"{a / nl:.0f}x" if isinstance(a, float) else "-"
        print(f"| {k} | {fa} | {fb} | {ratio} | {rel} |")
    for n, t in results["nbo_at_pores"].items():
        print(f"| nbo_at_pores (porous start, {n} atoms) | {t:.3f} | | | |")
    print(f"\nentropy: {small['entropy_nats']:.3f} nats (3k), {big['entropy_nats']:.3f} nats ({n_big})")
    print(f"compare_sets 6 vs 6 (3,000 atoms, rings + overlaps): {results['compare_sets_6x6_3000']['seconds']:.1f} s")
    print(f"results: {out_path}")


if __name__ == "__main__":
    main()
