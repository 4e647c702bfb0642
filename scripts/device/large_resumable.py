"""One large a-SiO2 glass (default 112,848 atoms, Lz/Lx = 1.4, 1 K/ps, paper schedule, default model) generated
across several device calls: each call runs for BUDGET_S seconds, then cancels, which saves the trajectory
(WORK_DIR/.partial); the next call with the same WORK_DIR continues it (generate_structures' resume).

python3 scripts/device/large_resumable.py WORK_DIR BUDGET_S [SCHEDULE] [MODE] [N_ATOMS]

Appends one row per call to WORK_DIR/parts.json: steps done in the call, wall seconds of the sampling, peak GPU
memory, the device. When the glass is finished, prints the totals over all calls.
"""
import json
import sys
import threading
import time
from pathlib import Path

import torch

from amorph_core.generate import GenerationRequest, Generator, RunOptions, generate_structures

work, budget = Path(sys.argv[1]), float(sys.argv[2])
sched = sys.argv[3] if len(sys.argv) > 3 else "paper"
mode = sys.argv[4] if len(sys.argv) > 4 else "graph"
n_atoms = int(sys.argv[5]) if len(sys.argv) > 5 else 112848
work.mkdir(parents=True, exist_ok=True)
log_path = work / "parts.json"
parts = json.loads(log_path.read_text()) if log_path.exists() else []

t_load = time.perf_counter()
cuda = torch.cuda.is_available()  # a CPU run (tiny sizes) checks the script
gen = Generator("sio2", None, "cuda" if cuda else "cpu", mode=mode)
load_s = time.perf_counter() - t_load
req = GenerationRequest(system="sio2", cooling_rate_k_ps=1.0, n_atoms=n_atoms, aspect=(1, 1, 1.4), seeds=(0,),
                        schedule=sched, device=gen.device, mode=mode)
seen = {"first": None, "last": None, "n": None, "path": None}


def progress(ev):
    if ev["kind"] == "resumed":
        seen["first"], seen["n"] = ev["step"], ev["n_steps"]
    elif ev["kind"] in ("progress", "cancelled"):
        seen["last"] = ev["step"]
        seen["n"] = ev.get("n_steps", seen["n"])
        if seen["first"] is None:
            seen["first"] = 0
    elif ev["kind"] == "done":
        seen["path"] = ev["path"]


cancel = threading.Event()
timer = threading.Timer(budget, cancel.set)
if cuda:
    torch.cuda.reset_peak_memory_stats()
    torch.cuda.synchronize()
t0 = time.perf_counter()
timer.start()
paths = generate_structures(req, work, progress=progress, cancel=cancel, generator=gen,
                            run=RunOptions(checkpoint_every=250))
timer.cancel()
if cuda:
    torch.cuda.synchronize()
row = {"from_step": seen["first"] or 0, "to_step": seen["last"], "n_steps": seen["n"], "sampling_s": round(time.perf_counter() - t0, 2),
       "load_s": round(load_s, 2), "peak_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if cuda else None,
       "device": torch.cuda.get_device_name() if cuda else "cpu", "model": gen.model_name, "mode": gen.mode, "schedule": str(sched),
       "atoms": n_atoms, "finished": bool(paths)}
parts.append(row)
log_path.write_text(json.dumps(parts, indent=1))
print(json.dumps(row), flush=True)
if paths:
    from ase.io import read

    info = read(paths[0]).info
    steps = sum(p["to_step"] - p["from_step"] for p in parts)
    sampling = sum(p["sampling_s"] for p in parts)
    total = {"calls": len(parts), "steps": steps, "sampling_s": round(sampling, 1),
             "ms_per_step": round(1000 * sampling / max(steps, 1), 1), "peak_gib": max((p["peak_gib"] or 0) for p in parts),
             "generation_time_s_in_file": float(info.get("generation_time_s")),
             "resumed_from_step": int(info.get("resumed_from_step", 0)),
             "file": Path(paths[0]).name}
    (work / "total.json").write_text(json.dumps(total, indent=1))
    print("TOTAL", json.dumps(total), flush=True)
