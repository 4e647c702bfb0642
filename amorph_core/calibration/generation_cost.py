"""Collect measured generation times into assets/generation_cost.json (read by the app's cost comparison).

python -m amorph_core.calibration.generation_cost   (sources: benchmarks/results/sampler/*.json,
results/generator/whole_step/*.json, schedule_probe/bench_tf32_hq4_h100.json, results/generator/cpu_*_paper.txt)
"""
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ASSET = ROOT / "assets" / "generation_cost.json"


def gpu_rows(src, model, b, n_atoms, steps, seconds, per_hour=None, n_batch=None, one_how="", batch_how=""):
    """One-structure and (given per_hour) batch rows of a GPU benchmark result b (from file src); *_how: how it
    ran."""
    base = {"device": "gpu", "hardware": b["device"].replace(" 80GB HBM3", ""), "model": model, "n_atoms": n_atoms,
            "schedule": "paper", "steps": steps, "source": src}
    rows = [{**base, "seconds_per_structure": round(seconds, 2), "mode": f"one structure{one_how}"}]
    if per_hour is not None:
        rows.append({**base, "seconds_per_structure": round(3600 / per_hour, 2),
                     "mode": f"batch of {n_batch}{batch_how}"})
    return rows


def build(root=ROOT):
    """The asset's document, from the result files under root."""
    rows = []
    # sio2-cond-hq2, whole-step graphs (one H100; BENCHMARKS.md): one structure with compile-graph +
    # TF32 (bench_tf32.py), a batch of 8 with compile-graph in fp32 (bench_whole_step.py)
    one = "benchmarks/results/generator/whole_step/bench_tf32_hq2_h100.json"
    src = "benchmarks/results/generator/whole_step/bench_whole_step_h100.json"
    b = json.loads((root / src).read_text())
    batch = b["batch"]["compile-graph whole-step"]
    rows += gpu_rows(f"{one}; {src}", "sio2-cond-hq2", b, b["n_atoms"], 3000,
                     json.loads((root / one).read_text())["runs"]["tf32=True"]["seconds"],
                     batch["structures_per_hour_paper_schedule"], batch["n_structures"], ", compile-graph + TF32",
                     ", compile-graph")
    # the default, sio2-cond-hq4 (hq3's architecture): one structure, compile-graph + TF32 (one H100)
    src = "benchmarks/results/generator/schedule_probe/bench_tf32_hq4_h100.json"
    b = json.loads((root / src).read_text())
    rows += gpu_rows(src, "sio2-cond-hq4", b, 3000, 3000, b["runs"]["tf32=True"]["seconds"],
                     one_how=", compile-graph + TF32")
    # the fast model, before the dense neighbour list (one H100)
    src = "benchmarks/results/sampler/bench_sampler_h100_pair_sio2-cond.json"
    b = json.loads((root / src).read_text())
    rows += gpu_rows(src, "sio2-cond", b, b["n_atoms"], b["full_schedule"]["steps"], b["full_schedule"]["seconds"],
                     b["batch"]["best"]["structures_per_hour_paper_schedule"], b["batch"]["n_structures"])
    for f in sorted((root / "benchmarks/results/generator").glob("cpu_*_paper.txt")):
        m = re.search(r"(\d+) atoms, schedule paper \((\d+) steps\): ([\d.]+) s", f.read_text())
        if m:
            mm = re.search(r"model (\S+)", f.read_text())  # the oldest files name no model: sio2-cond
            rows.append({"device": "cpu", "hardware": "x86_64, 2 cores (shared)",
                         "model": mm.group(1) if mm else "sio2-cond", "n_atoms": int(m.group(1)), "schedule": "paper",
                         "steps": int(m.group(2)), "seconds_per_structure": float(m.group(3)), "mode": "one structure",
                         "source": str(f.relative_to(root))})
    doc = {"description": "Measured time to generate one structure with a shipped a-SiO2 model (independent of the "
                          "cooling rate: the schedule has a fixed number of steps; window and matched cost the same as "
                          "paper); the default is sio2-cond-hq4.",
           "rows": rows}
    return doc


def main():
    doc = build()
    ASSET.write_text(json.dumps(doc, indent=1))
    print(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
