"""How much MD refinement generated glasses need (paper 2.1 and Fig. 15d: short MD removes the outliers).

python benchmarks/refine_generated.py 'DIR/*.extxyz' OUT_DIR [--protocols min,nvt1,nvt5,paper] [--engine auto]
Each glass is refined with each protocol (FIRE/L-BFGS minimisation first, then NVT and NPT at 300 K, BJP silica);
writes OUT_DIR/<protocol>/<name>.extxyz and OUT_DIR/refine_times.json (wall seconds per run, engine), updated
after every run. Judge the results with benchmarks/eval_generated.py.
"""
import argparse
import glob
import json
import time
from pathlib import Path

from amorph_core.md.protocols import parse_refine, refine
from amorph_core.structures import read_structure

# (NVT ps, NPT ps) of the CLI's --refine protocols, under the names of the result files
PROTOCOLS = {"min": parse_refine("min"), "nvt1": parse_refine("short"), "nvt5": parse_refine("5"),
             "paper": parse_refine("paper")}

ap = argparse.ArgumentParser()
ap.add_argument("pattern")
ap.add_argument("out")
ap.add_argument("--protocols", default="min,nvt1,nvt5,paper")
ap.add_argument("--engine", default="auto")
args = ap.parse_args()
out = Path(args.out)
files = sorted(glob.glob(args.pattern))
if not files:
    raise SystemExit(f"no structures match {args.pattern}")
log = {"runs": []}
for name in args.protocols.split(","):
    nvt, npt = PROTOCOLS[name]
    (out / name).mkdir(parents=True, exist_ok=True)
    for f in files:
        t = time.perf_counter()
        g = refine(read_structure(f), engine=args.engine, seed=0, nvt_ps=nvt, npt_ps=npt)
        dt = time.perf_counter() - t
        g.write(out / name / Path(f).name, format="extxyz")
        log["runs"].append({"protocol": name, "nvt_ps": nvt, "npt_ps": npt, "file": Path(f).name,
                            "wall_s": round(dt, 2), "engine": g.info.get("engine"), "atoms": len(g)})
        print(json.dumps(log["runs"][-1]), flush=True)
        (out / "refine_times.json").write_text(json.dumps(log, indent=1))
