"""Device (GPU) runs for the MD engines: python benchmarks/md_device.py TASK [TASK...] --out DIR.

Tasks: cuzr (4 Cu50Zr50 glasses, 5000 atoms, 10 K/ps, OpenMM CUDA), ... Each result is written to DIR as soon
as it exists; a wall-clock guard (--budget-s) skips what would not finish.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from timed_log import timed_log  # noqa: E402  (benchmarks/, the script's own folder)

T0 = time.time()


def log(out, *msg):
    timed_log(Path(out) / "device_log.txt", T0, *msg)


def task_cuzr(args):
    import ase.io
    from amorph_core.md.quench import MeltQuench, melt_quench
    rate = args.cuzr_rate
    per_glass = None
    thermo = {}
    for seed in range(args.cuzr_start, args.cuzr_n):
        t = time.time()
        if per_glass and time.time() - T0 + per_glass > args.budget_s:
            log(args.out, f"cuzr seed {seed}: skipped (budget)")
            continue
        last = {}

        def prog(f, rec):
            last.update(rec)

        g = melt_quench("cuzr", 5000, rate, seed=seed, engine="openmm", protocol=MeltQuench.for_system("cuzr", rate),
                        out_dir=f"/tmp/cuzr_{seed}", progress=prog, report_every=5000)
        a = g.copy()
        a.arrays.pop("momenta", None)
        a.info = {k: g.info[k] for k in ("cooling_rate_k_ps", "seed", "engine", "potential", "density_g_cm3")}
        a.info["sample"] = seed
        with gzip.open(Path(args.out) / f"cuzr_10Kps_s{seed}.extxyz.gz", "wt") as fh:
            ase.io.write(fh, a, format="extxyz")
        per_glass = time.time() - t
        steps = MeltQuench.for_system("cuzr", rate).total_steps()
        thermo[seed] = {"wall_s": per_glass, "steps": steps, "us_per_step": per_glass / steps * 1e6,
                        "final": last, "density_g_cm3": g.info["density_g_cm3"], "protocol": g.info["protocol"]}
        log(args.out, f"cuzr seed {seed}: density {g.info['density_g_cm3']} T {last.get('T_K'):.0f} "
                      f"{per_glass:.0f} s ({per_glass / steps * 1e6:.0f} us/step)")
        (Path(args.out) / f"cuzr_runs_{args.cuzr_start}.json").write_text(json.dumps(thermo, indent=1))


def _save(out, name, obj):
    (Path(out) / name).write_text(json.dumps(obj, indent=1))


def task_sio2mq(args):
    """>=3 silica glasses of 3000 atoms at 100 K/ps, paper protocol, OpenMM CUDA."""
    import ase.io
    from amorph_core.md.quench import MeltQuench, melt_quench
    res = {}
    for seed in range(args.sio2_seed0, args.sio2_seed0 + args.sio2_n):
        t = time.time()
        g = melt_quench("sio2", 3000, 100.0, seed=100 + seed, engine="openmm", out_dir=f"/tmp/sio2_{seed}",
                        report_every=5000)
        a = g.copy()
        a.arrays.pop("momenta", None)
        with gzip.open(Path(args.out) / f"sio2_mq100_s{seed}.extxyz.gz", "wt") as fh:
            ase.io.write(fh, a, format="extxyz")
        steps = MeltQuench.paper(100.0).total_steps()
        res[seed] = {"density_g_cm3": g.info["density_g_cm3"], "wall_s": time.time() - t, "steps": steps,
                     "us_per_step": (time.time() - t) / steps * 1e6}
        log(args.out, f"sio2 100 K/ps seed {100 + seed}: {res[seed]}")
        _save(args.out, "sio2_mq.json", res)


def task_nve(args):
    from amorph_core.structures.references import reference_glasses
    from amorph_core.md.mechanics import nve_drift
    a = reference_glasses("sio2", 1.0)[0]
    r = nve_drift(a, engine="openmm", ps=10.0)
    log(args.out, "nve", r)
    _save(args.out, "nve.json", r)


def task_bench(args):
    """steps/s of OpenMM CUDA for BJP silica at 3000 / 30000 / 112848 atoms (benchmarks/bench_md.py gpu)."""
    import importlib.util
    import openmm
    spec = importlib.util.spec_from_file_location("bench_md", Path(__file__).with_name("bench_md.py"))
    bm = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bm)
    r = bm.bench("openmm", steps={3000: 3000, 30000: 2000, 112848: 1000})
    name = os.popen("nvidia-smi --query-gpu=name --format=csv,noheader").read().strip() or "GPU"
    _save(args.out, "bench_gpu.json", {"engine": f"OpenMM {openmm.__version__} CUDA, mixed precision, Langevin + "
                                                 "MC barostat", "hardware": name, "sizes": r})
    log(args.out, "bench", r)


def task_moduli(args):
    from amorph_core.structures.references import reference_glasses
    from amorph_core.md.mechanics import elastic_moduli
    res = []
    for i, a in enumerate(reference_glasses("sio2", 1.0)[: args.moduli_n]):
        if time.time() - T0 > args.budget_s - 60:
            log(args.out, "moduli: budget reached")
            break
        r = elastic_moduli(a, engine="openmm", fmax=args.fmax)
        r["sample"] = a.info.get("sample", i)
        res.append(r)
        log(args.out, "moduli", i, {k: round(r[k], 4) for k in ("K_GPa", "G_GPa", "E_GPa", "poisson",
                                                                  "fmax_residual_ev_a", "wall_s")})
        _save(args.out, "moduli_ref1K.json", res)


def task_tensile(args):
    from amorph_core.structures.references import reference_glasses
    from amorph_core.md.mechanics import tensile_test
    a = reference_glasses("sio2", 1.0)[0]
    r = tensile_test(a, engine="openmm", max_strain=args.max_strain, out_dir="/tmp/tensile")
    log(args.out, "tensile", {k: r[k] for k in ("peak_stress_gpa", "strain_at_peak", "final_stress_gpa",
                                                 "young_fit_gpa", "wall_s")})
    _save(args.out, "tensile_ref1K_s0.json", r)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tasks", nargs="+")
    ap.add_argument("--out", default=os.environ.get("OUT", "/tmp/out"))
    ap.add_argument("--budget-s", type=float, default=540)
    ap.add_argument("--cuzr-rate", type=float, default=10.0)
    ap.add_argument("--cuzr-n", type=int, default=4)
    ap.add_argument("--cuzr-start", type=int, default=0)
    ap.add_argument("--sio2-n", type=int, default=3)
    ap.add_argument("--sio2-seed0", type=int, default=0, help="first seed offset (seed = 100 + offset)")
    ap.add_argument("--moduli-n", type=int, default=6)
    ap.add_argument("--fmax", type=float, default=1e-4)
    ap.add_argument("--max-strain", type=float, default=0.6)
    args = ap.parse_args()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    import openmm
    log(args.out, "openmm", openmm.__version__, "platforms",
        [openmm.Platform.getPlatform(i).getName() for i in range(openmm.Platform.getNumPlatforms())])
    for t in args.tasks:
        try:
            globals()[f"task_{t}"](args)
        except Exception as exc:  # noqa: BLE001
            import traceback
            log(args.out, f"task {t} failed: {exc!r}\n{traceback.format_exc()}")


if __name__ == "__main__":
    main()
