"""Measure what the app's time estimate needs: seconds per denoising step vs atom count on this machine's CPU.

python benchmarks/bench_generation_estimate.py [N1 N2 N3 ...] [--schedule draft] [--refit]

After a warm-up job (numba compiles the entropy kernels once per server), runs the app's own 'generate' job
runner (the default shipped a-SiO2 model, 1 K/ps, the app's entropy trace) for each size, fits
seconds/step = a + b * n_atoms  by least squares on relative errors, and writes assets/generation_estimate.json
(read by amorph_core.costs.estimate_generation_s) with the measured runs and, for each, the estimate's
ratio to the measured time. The fit is refused (nothing written) unless every estimate is within a factor of 2.
"""
import argparse
import json
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the app's pages/ package

from amorph_core.costs import estimate_generation_s  # noqa: E402
from amorph_core.generate import GenerationRequest  # noqa: E402
from amorph_core.jobs.manager import _single_thread_blas  # noqa: E402
from amorph_core.jobs.runners import _generate_runner  # noqa: E402
from pages import _requests  # noqa: E402

OUT = ROOT / "assets" / "generation_estimate.json"

ap = argparse.ArgumentParser()
ap.add_argument("sizes", nargs="*", type=int, default=[96, 384, 1536])
ap.add_argument("--schedule", default="draft")
ap.add_argument("--refit", action="store_true", help="fit again from the runs recorded in the JSON (no new runs)")
args = ap.parse_args()

_single_thread_blas()  # as the app's job worker thread does


def run_job(req):
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        _generate_runner(_requests.job_params(req), Path(d), lambda ev: None, threading.Event())
        return time.perf_counter() - t


runs = [{k: v for k, v in r.items() if k != "estimate_over_measured"}
        for r in json.loads(OUT.read_text())["runs"]] if args.refit else []
if not args.refit:
    # warm-up: the first job in a server compiles the entropy kernels (numba); not part of the fit
    print(f"warm-up: {run_job(GenerationRequest(cooling_rate_k_ps=1.0, n_atoms=96, schedule=20, device='cpu')):.1f} s",
          flush=True)
for n in ([] if args.refit else args.sizes):
    req = GenerationRequest(cooling_rate_k_ps=1.0, n_atoms=n, seeds=(0,), schedule=args.schedule, device="cpu")
    check = _requests.check_generation(req, cuda_available=False)
    load0 = os.getloadavg()[0]
    dt = run_job(req)
    runs.append({"n_atoms": check["n_atoms"], "n_steps": check["n_steps"], "schedule": args.schedule,
                 "seconds": round(dt, 2), "load_average_1min_before": round(load0, 2)})
    print(f"{check['n_atoms']} atoms, {check['n_steps']} steps: {dt:.1f} s (load {load0:.1f})", flush=True)

n_atoms = np.array([r["n_atoms"] for r in runs], float)
per_step = np.array([r["seconds"] / r["n_steps"] for r in runs])
b, a = np.polyfit(n_atoms, per_step, 1, w=1 / per_step)  # relative residuals: the estimate is judged by ratio
if b <= 0:
    raise SystemExit(f"time per step does not grow with the atom count ({per_step} s for {n_atoms} atoms): the "
                     f"machine's load changed during the runs; run again when it is steadier. Nothing written")
a = max(float(a), 0.0)
fit = {"seconds_per_step": round(a, 5), "seconds_per_atom_step": round(float(b), 7)}
table = {"devices": {"cpu": fit}}
for r in runs:
    r["estimate_over_measured"] = round(estimate_generation_s(r["n_atoms"], r["n_steps"], 1, "cpu", table)
                                        / r["seconds"], 3)
doc = {
    "description": "Measured CPU cost of generating one a-SiO2 glass in the app (its job runner, default model, "
                   "entropy trace every 10 steps; measured after a warm-up: the first job in a server also compiles "
                   "the entropy kernels): "
                   "seconds per denoising step = seconds_per_step + "
                   "seconds_per_atom_step * n_atoms. Written by benchmarks/bench_generation_estimate.py.",
    "machine": {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                "processor": platform.processor() or platform.machine(), "torch": torch.__version__},
    "devices": {"cpu": fit},
    "runs": runs,
}
print(json.dumps(doc, indent=1))
bad = [r for r in runs if not 0.5 <= r["estimate_over_measured"] <= 2.0]
if bad:
    raise SystemExit(f"the linear cost model misses a measured run by more than 2x: {bad}; nothing written")
OUT.write_text(json.dumps(doc, indent=1) + "\n")
print(f"wrote {OUT}")
