"""Collect measured generation times into assets/generation_cost.json (read by the app's cost comparison).

python benchmarks/make_generation_cost.py   (sources: benchmarks/results/sampler/*.json, results/generator/cpu_*.txt)
"""
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
rows = []
# the default model with the dense neighbour list (session 13, one H100; BENCHMARKS.md)
src = "benchmarks/results/sampler/bench_neighbors_h100_s13_call2_fused_attempt.json"
b = json.loads((ROOT / src).read_text())
base = {"device": "gpu", "hardware": b["device"].replace(" 80GB HBM3", ""), "model": "sio2-cond-hq2",
        "n_atoms": 3000, "schedule": "paper", "steps": b["full_schedule"]["compile-graph auto"]["steps"], "source": src}
rows.append({**base, "seconds_per_structure": round(b["full_schedule"]["compile-graph auto"]["seconds"], 2),
             "mode": "one structure"})
rows.append({**base, "seconds_per_structure": round(3600 / b["batch"]["auto"]["structures_per_hour_paper_schedule"], 2),
             "mode": f"batch of {b['batch']['auto']['n_structures']}"})
# the fast model, before the dense neighbour list (session 12, one H100)
for model in ("sio2-cond",):
    src = f"benchmarks/results/sampler/bench_sampler_h100_s12_{model}.json"
    b = json.loads((ROOT / src).read_text())
    base = {"device": "gpu", "hardware": b["device"].replace(" 80GB HBM3", ""), "model": model,
            "n_atoms": b["n_atoms"], "schedule": "paper", "steps": b["full_schedule"]["steps"], "source": src}
    rows.append({**base, "seconds_per_structure": round(b["full_schedule"]["seconds"], 2), "mode": "one structure"})
    n = b["batch"]["n_structures"]
    per_hour = b["batch"]["best"]["structures_per_hour_paper_schedule"]
    rows.append({**base, "seconds_per_structure": round(3600 / per_hour, 2), "mode": f"batch of {n}"})
for f in sorted((ROOT / "benchmarks/results/generator").glob("cpu_*_paper.txt")):
    m = re.search(r"(\d+) atoms, schedule paper \((\d+) steps\): ([\d.]+) s", f.read_text())
    if m:
        mm = re.search(r"model (\S+)", f.read_text())  # files from before session 12 name no model: sio2-cond
        rows.append({"device": "cpu", "hardware": "x86_64, 2 cores (shared)",
                     "model": mm.group(1) if mm else "sio2-cond", "n_atoms": int(m.group(1)), "schedule": "paper",
                     "steps": int(m.group(2)), "seconds_per_structure": float(m.group(3)), "mode": "one structure",
                     "source": str(f.relative_to(ROOT))})
doc = {"description": "Measured time to generate one structure with a shipped a-SiO2 model (independent of the "
                      "cooling rate: the schedule has a fixed number of steps); the default is sio2-cond-hq2, which "
                      "has sio2-cond-hq's architecture and speed.",
       "rows": rows}
(ROOT / "assets/generation_cost.json").write_text(json.dumps(doc, indent=1))
print(json.dumps(doc, indent=1))
