"""How much MD refinement generated glasses need (paper 2.1 and Fig. 15d: short MD removes the outliers).

python benchmarks/refine_generated.py 'DIR/*.extxyz' OUT_DIR [--protocols min,nvt1,nvt5,paper] [--engine auto]
Each glass is refined with each protocol (FIRE/L-BFGS minimisation first, then NVT and NPT at 300 K, BJP silica);
MD velocities from seed 0; writes OUT_DIR/<protocol>/<name>.extxyz (md.refinement.refine_files) and
OUT_DIR/refine_times.json (wall seconds per run, engine, error), updated
after every run. Judge the results with benchmarks/eval_generated.py.
"""
import argparse
import glob
import json
from pathlib import Path

from amorph_core.md.refinement import refine_files

# the CLI's --refine protocols, under the names of the result folders
PROTOCOLS = {"min": "min", "nvt1": "short", "nvt5": "5", "paper": "paper"}

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
    for f in files:  # one file per call, so the times log is written after every run
        row = refine_files([f], PROTOCOLS[name], engine=args.engine, out_dir=out / name, seed=0)[0]
        run = {"protocol": name, "refine": PROTOCOLS[name], "file": Path(f).name, "wall_s": row["wall_s"],
               "engine": row["engine"], "error": row["error"]}
        log["runs"].append(run)
        print(json.dumps(run), flush=True)
        (out / "refine_times.json").write_text(json.dumps(log, indent=1))
