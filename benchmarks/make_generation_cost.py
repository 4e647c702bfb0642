"""Collect measured generation times into assets/generation_cost.json (read by the app's cost comparison).

python benchmarks/make_generation_cost.py   (sources: benchmarks/results/sampler/*.json, results/generator/cpu_*.txt)
"""
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
rows = []
b = json.loads((ROOT / "benchmarks/results/sampler/bench_speed_cond_h200.json").read_text())
rows.append({"device": "gpu", "hardware": b["device"], "n_atoms": 3000, "schedule": "paper", "steps": 3000,
             "seconds_per_structure": round(b["full_schedule_3000_atoms_s"], 2), "mode": "one structure",
             "source": "benchmarks/results/sampler/bench_speed_cond_h200.json"})
rows.append({"device": "gpu", "hardware": b["device"], "n_atoms": 3000, "schedule": "paper", "steps": 3000,
             "seconds_per_structure": round(3600 / b["batch16_structures_per_hour_paper_schedule"], 2),
             "mode": "batch of 16", "source": "benchmarks/results/sampler/bench_speed_cond_h200.json"})
for f in sorted((ROOT / "benchmarks/results/generator").glob("cpu_*_paper.txt")):
    m = re.search(r"(\d+) atoms, schedule paper \((\d+) steps\): ([\d.]+) s", f.read_text())
    if m:
        rows.append({"device": "cpu", "hardware": "x86_64, 2 cores (shared)", "n_atoms": int(m.group(1)),
                     "schedule": "paper", "steps": int(m.group(2)), "seconds_per_structure": float(m.group(3)),
                     "mode": "one structure", "source": str(f.relative_to(ROOT))})
doc = {"description": "Measured time to generate one structure with the shipped sio2-cond model (independent of "
                      "the cooling rate: the schedule has a fixed number of steps).", "rows": rows}
(ROOT / "assets/generation_cost.json").write_text(json.dumps(doc, indent=1))
print(json.dumps(doc, indent=1))
