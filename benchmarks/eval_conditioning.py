"""Cooling-rate conditioning check: QUESTS entropy, Si-O-Si angle, defects and density of generated glasses
per cooling rate against the reference glasses at the same rate.

python benchmarks/eval_conditioning.py 'DIR/*.extxyz' [more globs...] --json OUT.json
(each structure's cooling rate is read from its extxyz info)
"""
import glob
import json
import sys
from collections import defaultdict

import numpy as np

from amorph_core.analysis import analyze_structure
from amorph_core.structures import read_structure, reference_glasses, reference_rates

args = [a for a in sys.argv[1:] if not a.startswith("--")]
out = sys.argv[sys.argv.index("--json") + 1] if "--json" in sys.argv else None
files = sorted({f for pat in args if pat != out for f in glob.glob(pat)})
keys = ["entropy_nats", "angle_SiOSi_mean_deg", "Si_not_4fold_pct", "density_g_cm3"]


def summarize(structs):
    rows = [analyze_structure(a, rings=False)["summary"] for a in structs]
    return {k: [float(r[k]) for r in rows] for k in keys}


gen = defaultdict(list)
for f in files:
    a = read_structure(f)
    gen[float(a.info["cooling_rate_k_ps"])].append(a)
result = {"generated": {}, "reference": {}}
for rate in sorted(gen):
    result["generated"][rate] = summarize(gen[rate])
for rate in reference_rates("sio2"):
    result["reference"][rate] = summarize(reference_glasses("sio2", rate))
print(f"{'rate K/ps':>9} | {'gen entropy':>14} {'ref entropy':>14} | {'gen SiOSi':>12} {'ref SiOSi':>12} | "
      f"{'gen Si!4 %':>10}")
for rate in sorted(set(result["generated"]) | set(result["reference"])):
    g, r = result["generated"].get(rate), result["reference"].get(rate)

    def ms(d, k):
        return f"{np.mean(d[k]):.3f}±{np.std(d[k], ddof=1) if len(d[k]) > 1 else 0:.3f}" if d else "-"
    print(f"{rate:>9g} | {ms(g, 'entropy_nats'):>14} {ms(r, 'entropy_nats'):>14} | {ms(g, 'angle_SiOSi_mean_deg'):>12} "
          f"{ms(r, 'angle_SiOSi_mean_deg'):>12} | {ms(g, 'Si_not_4fold_pct'):>10}")
if out:
    with open(out, "w") as fh:
        json.dump({k: {str(r): v for r, v in d.items()} for k, d in result.items()}, fh, indent=1)
