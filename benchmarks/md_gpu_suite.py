"""One-call GPU suite for the device machine (OpenMM CUDA): MD speed and moduli of the reference glasses.

    python benchmarks/md_gpu_suite.py OUT_DIR [--budget-s 450] [--quick] [--parts bench,moduli,moduli300]

bench:     steps/s of BJP silica (DSF 8 Å, mixed precision, Langevin 1/ps, 1 fs) at 300 K for 3,000 / 30,000 /
           108,000 atoms: the 1 K/ps reference glass s0 (3,000 atoms) replicated 1x1x1, 1x2x5 and 3x3x4
           (108,000 atoms, Lz/Lx = 1.33, the closest replica of a 3,000-atom cube to the paper's 112,848-atom
           Lz/Lx = 1.4 cell). Each size: velocities at 300 K, --warmup steps of NPT (MC barostat every 25 steps),
           then --timed steps of NPT and --timed steps of NVT timed between two state reads (GPU synchronised).
moduli:    static stiffness tensor (md.mechanics.elastic_moduli, relaxed internal coordinates, fmax 1e-4 eV/Å,
           double precision) of the six 1 K/ps reference glasses -> K, G, E, nu (the repository's default).
moduli300: the same six glasses at 300 K (md.mechanics.elastic_moduli_md: +-strain NVT runs, time-averaged stress).

Writes OUT_DIR/gpu_suite.json after every measurement (and a log), so a run cut off by the wall clock still
leaves what it finished. --quick: OpenMM CPU platform, tiny sizes and runs (a smoke test, numbers meaningless).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from timed_log import timed_log  # noqa: E402  (benchmarks/, the script's own folder)

T0 = time.time()
RESULT: dict = {}


def log(out, *msg):
    timed_log(Path(out) / "gpu_suite_log.txt", T0, *msg)


def save(out):
    (Path(out) / "gpu_suite.json").write_text(json.dumps(RESULT, indent=1))


def left(args):
    return args.budget_s - (time.time() - T0)


def part_bench(args, eng, glasses):
    sizes = {"3000": (1, 1, 1), "30000": (1, 2, 5), "108000": (3, 3, 4)}
    if args.quick:
        sizes = {"324": (1, 1, 1), "648": (1, 1, 2)}
    RESULT["bench"] = {"engine": f"OpenMM {args.openmm_version} {eng.platform_name}, mixed precision, Langevin "
                                 "1/ps, 1 fs, BJP + DSF 8 Å (CustomNonbondedForce)",
                       "system": "1 K/ps reference glass s0 replicated", "warmup_steps": args.warmup,
                       "timed_steps": args.timed, "sizes": {}}
    for key, rep in sizes.items():
        if left(args) < 60:
            log(args.out, f"bench {key}: skipped (budget)")
            continue
        a = glasses[0].repeat(rep)
        a.arrays.pop("momenta", None)
        t = time.perf_counter()
        sim = eng.simulation(a, seed=1, temperature_k=300.0, barostat="iso")
        sim.thermo()
        t_ctx = time.perf_counter() - t
        t = time.perf_counter()
        sim.advance(args.warmup, 300.0, 300.0, True)
        th0 = sim.thermo()
        t_warm = time.perf_counter() - t
        row = {"replicas": list(rep), "n_atoms": len(a), "context_s": t_ctx, "warmup_s": t_warm,
               "after_warmup": {"T_K": th0["T_K"], "density_g_cm3": float(a.get_masses().sum() / th0["volume_a3"]
                                                                           * 1.66053907)}}
        for mode, npt in (("npt", True), ("nvt", False)):
            sim.set_pressure_control(npt)
            sim.step(10)
            sim.thermo()
            t = time.perf_counter()
            sim.advance(args.timed, 300.0, 300.0, npt)
            th = sim.thermo()  # a state read: waits for the GPU
            dt = time.perf_counter() - t
            row[mode] = {"steps_per_s": args.timed / dt, "us_per_step": dt / args.timed * 1e6,
                         "ns_per_day": args.timed / dt * 86400 * 1e-6, "atom_steps_per_s": len(a) * args.timed / dt,
                         "T_K_end": th["T_K"]}
        RESULT["bench"]["sizes"][key] = row
        log(args.out, "bench", key, {m: round(row[m]["steps_per_s"], 1) for m in ("npt", "nvt")}, "steps/s",
            row["after_warmup"])
        save(args.out)
        del sim


def part_moduli(args, eng, glasses):
    from amorph_core.md.mechanics import elastic_moduli
    RESULT["moduli_static"] = {"method": "elastic_moduli: relaxed internal coordinates, 6 strains +-1e-3, "
                                         f"fmax {args.fmax} eV/Å, OpenMM {eng.platform_name} double", "glasses": []}
    per = None
    for i, a in enumerate(glasses[: args.n_glasses]):
        if per and left(args) < per * 1.2:
            log(args.out, f"moduli glass {i}: skipped (budget)")
            continue
        t = time.time()
        r = elastic_moduli(a, engine=args.engine, fmax=args.fmax, max_iter=args.max_iter)
        per = time.time() - t
        r["sample"] = a.info.get("sample", i)
        RESULT["moduli_static"]["glasses"].append(r)
        _summary(RESULT["moduli_static"])
        log(args.out, "moduli static", i, {k: round(r[k], 3) for k in ("K_GPa", "G_GPa", "E_GPa", "poisson",
                                                                      "fmax_residual_ev_a", "wall_s")})
        save(args.out)


def part_moduli300(args, eng, glasses):
    from amorph_core.md.mechanics import elastic_moduli_md
    kw = dict(temperature_k=300.0, strain=args.md_strain, equil_ps=args.md_equil_ps, average_ps=args.md_avg_ps,
              sample_every=args.md_sample_every)
    RESULT["moduli_300K"] = {"method": f"elastic_moduli_md {kw}", "glasses": []}
    per = None
    for i, a in enumerate(glasses[: args.n_glasses]):
        if left(args) < (per * 1.2 if per else 30):
            log(args.out, f"moduli 300 K glass {i}: skipped (budget)")
            continue
        t = time.time()
        r = elastic_moduli_md(a, engine=args.engine, seed=i, **kw)
        per = time.time() - t
        r["sample"] = a.info.get("sample", i)
        RESULT["moduli_300K"]["glasses"].append(r)
        _summary(RESULT["moduli_300K"])
        log(args.out, "moduli 300 K", i, {k: round(r[k], 3) for k in ("K_GPa", "G_GPa", "E_GPa", "poisson",
                                                                      "wall_s")})
        save(args.out)


def _summary(block):
    import numpy as np
    g = block["glasses"]
    block["summary"] = {k: {"mean": float(np.mean([r[k] for r in g])),
                            "std": float(np.std([r[k] for r in g], ddof=1)) if len(g) > 1 else None}
                        for k in ("K_GPa", "G_GPa", "E_GPa", "poisson")}
    block["summary"]["n"] = len(g)
    block["paper_table1"] = {"K_GPa": [61.2, 2.9], "G_GPa": [37.1, 3.0], "E_GPa": [92.4, 5.6], "poisson": [0.247, 0.025]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--parts", default="bench,moduli,moduli300")
    ap.add_argument("--budget-s", type=float, default=450)
    ap.add_argument("--quick", action="store_true", help="CPU platform, tiny runs: a smoke test")
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--timed", type=int, default=2000)
    ap.add_argument("--n-glasses", type=int, default=6)
    ap.add_argument("--fmax", type=float, default=1e-4)
    ap.add_argument("--max-iter", type=int, default=20000)
    ap.add_argument("--md-strain", type=float, default=0.005)
    ap.add_argument("--md-equil-ps", type=float, default=1.0)
    ap.add_argument("--md-avg-ps", type=float, default=4.0)
    ap.add_argument("--md-sample-every", type=int, default=20)
    args = ap.parse_args()
    if args.quick:
        args.warmup, args.timed, args.n_glasses, args.fmax, args.max_iter = 3, 3, 1, 0.05, 200
        args.md_equil_ps, args.md_avg_ps = 0.002, 0.004
    args.engine = "openmm-cpu" if args.quick else "openmm"
    Path(args.out).mkdir(parents=True, exist_ok=True)
    import openmm
    from amorph_core.md.engine_openmm import OpenMMEngine, available_platforms
    from amorph_core.md.potentials import get_potential
    from amorph_core.structures.references import reference_glasses
    args.openmm_version = openmm.__version__
    gpu = os.popen("nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null").read().strip()
    RESULT["machine"] = {"gpu": gpu or None, "openmm": openmm.__version__, "platforms": available_platforms(),
                         "cpu_count": os.cpu_count(), "quick": args.quick}
    log(args.out, "machine", RESULT["machine"])
    eng = OpenMMEngine(get_potential("sio2"), platform="CPU" if args.quick else "CUDA", precision="mixed")
    glasses = reference_glasses("sio2", 1.0)
    if args.quick:  # a 324-atom random start stands in for the glasses: exercises every code path in seconds
        from amorph_core.md.quench import random_start
        small = random_start("sio2", 324, 2.2, seed=3)
        small, _ = eng.minimize(small, fmax=0.5, max_iter=300)
        glasses = [small]
    for p in args.parts.split(","):
        try:
            globals()[f"part_{p}"](args, eng, glasses)
        except Exception as exc:  # noqa: BLE001
            RESULT.setdefault("errors", []).append(f"{p}: {exc!r}")
            log(args.out, f"part {p} failed: {exc!r}\n{traceback.format_exc()}")
        save(args.out)
    log(args.out, "done")


if __name__ == "__main__":
    main()
