"""Judge generated glasses against the reference glasses of the nearest cooling rate (no MD refinement).

python benchmarks/eval_generated.py 'DIR/*.extxyz' RATE OUT.json [--no-rings]
Prints the issue's quality table: Si not 4-fold, O not 2-fold, shortest Si-O, per-pair PDF R-factor,
QUESTS entropy and overlaps Gen|Sim vs Sim|Sim.
"""
import glob
import json
import sys

from amorph_core.analysis import compare_sets
from amorph_core.structures import read_structure, reference_glasses

pattern, rate, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
rings = "--no-rings" not in sys.argv
gen = [read_structure(f) for f in sorted(glob.glob(pattern))]
ref = reference_glasses("sio2", rate, nearest=True)
res = compare_sets(gen, ref, rings=rings)
s = res["summary"]
keys = ["Si_not_4fold_pct", "O_not_2fold_pct", "shortest_SiO_min_a", "pdf_rfactor_Si-O_mean",
        "pdf_rfactor_O-O_mean", "pdf_rfactor_Si-Si_mean", "entropy_nats_mean", "angle_SiOSi_mean_deg",
        "density_g_cm3"]
print(f"{len(gen)} generated vs {len(ref)} reference glasses at {rate:g} K/ps")
print(f"{'metric':28s} {'generated':>10s} {'reference':>10s}")
for k in keys:
    g, r = s.get("gen_" + k), s.get("ref_" + k)
    print(f"{k:28s} {g if g is None else round(g, 4):>10} {r if r is None else round(r, 4):>10}")
def _f(v):  # an overlap, or '-' where it is undefined (Gen|Gen of a single glass)
    return "-" if v is None else f"{v:.3f}"


print(f"overlap Gen|Sim {_f(s['overlap_gen_sim_mean'])}  Sim|Sim {_f(s['overlap_sim_sim_mean'])}  "
      f"Gen|Gen {_f(s['overlap_gen_gen_mean'])}")
rings_out = {k: res[k] for k in ("rings_generated", "rings_reference") if k in res}
if rings_out:
    rg, rr = rings_out.get("rings_generated"), rings_out.get("rings_reference")
    print(f"rings per Si ({rg['definition']}), size by number of Si: generated / reference")
    for n, a, b in zip(rg["sizes_si"], rg["rings_per_si_mean"], rr["rings_per_si_mean"]):
        print(f"  {n:2d}  {a:.4f}  {b:.4f}")
with open(out, "w") as fh:
    json.dump({"summary": s, "n_generated": len(gen), "rate_k_ps": rate,
               "files": sorted(glob.glob(pattern)), **rings_out}, fh, indent=1)
