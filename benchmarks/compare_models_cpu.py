"""Compare denoiser checkpoints on the CPU: small a-SiO2 glasses (paper schedule) and their coordination defects.

  python benchmarks/compare_models_cpu.py OUT_DIR MODEL [MODEL ...] [--atoms 648] [--seeds 0-2] [--rate 1.0]
      [--threads 1] [--analyse-only]

Each MODEL (a shipped name or a checkpoint folder) writes OUT_DIR/<folder name>/*.extxyz (one file per seed, as
each finishes); then every glass found is judged: Si not 4-fold, O not 2-fold (fractions, 2.0 Å Si-O bonds as in
amorph_core.analysis.bonds), shortest Si-O (Å), partial-PDF R-factors against the mean PDF of the reference glasses
at the nearest rate. Run one process per model to use several cores.
"""
import argparse
import glob
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from ase.io import read  # noqa: E402

from amorph_core.analysis.bonds import network_analysis, shortest_distance  # noqa: E402
from amorph_core.analysis.pdf import mean_pdf, partial_pdfs, pdf_r_factors  # noqa: E402
from amorph_core.structures import reference_glasses  # noqa: E402
from amorph_core.generate import GenerationRequest, Generator, generate_structures, parse_seeds  # noqa: E402

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("out")
ap.add_argument("models", nargs="+")
ap.add_argument("--atoms", type=int, default=648)
ap.add_argument("--seeds", default="0-2")
ap.add_argument("--rate", type=float, default=1.0)
ap.add_argument("--schedule", default="paper")
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--analyse-only", action="store_true")
args = ap.parse_args()
torch.set_num_threads(args.threads)
out = Path(args.out)
report = {}
ref_pdf = mean_pdf([partial_pdfs(a) for a in reference_glasses("sio2", args.rate, nearest=True)])
PAIRS = ("Si-O", "O-O", "Si-Si")
for m in args.models:
    d = out / Path(m).name
    if not args.analyse_only:
        gen = Generator("sio2", m, "cpu")
        req = GenerationRequest(system="sio2", cooling_rate_k_ps=args.rate, n_atoms=args.atoms,
                                seeds=parse_seeds(args.seeds), schedule=args.schedule, device="cpu", model=m)
        t = time.perf_counter()
        generate_structures(req, d, generator=gen)
        print(f"{m}: generated in {time.perf_counter() - t:.0f} s", flush=True)
    rows = []
    for f in sorted(glob.glob(str(d / "*.extxyz"))):
        a = read(f)
        r = network_analysis(a)
        rf = pdf_r_factors(partial_pdfs(a), ref_pdf)
        rows.append({"file": Path(f).name, "Si_not_4fold_pct": 100 * r["Si_not_4fold_fraction"],
                     "O_not_2fold_pct": 100 * r["O_not_2fold_fraction"], "shortest_SiO_a": shortest_distance(a),
                     **{f"R_{k}": rf[k] for k in PAIRS}})
    if rows:
        mean = {k: sum(r[k] for r in rows) / len(rows)
                for k in ("Si_not_4fold_pct", "O_not_2fold_pct", *(f"R_{k}" for k in PAIRS))}
        report[m] = {"glasses": rows, "mean": mean, "shortest_SiO_min_a": min(r["shortest_SiO_a"] for r in rows)}
        per = ", ".join(f"{r['Si_not_4fold_pct']:.1f}" for r in rows)
        print(f"{m}: {len(rows)} glasses, Si not 4-fold {mean['Si_not_4fold_pct']:.2f} %, O not 2-fold "
              f"{mean['O_not_2fold_pct']:.2f} %, shortest Si-O {report[m]['shortest_SiO_min_a']:.3f} Å "
              f"(per glass Si: {per}); R " + " / ".join(f"{k} {mean['R_' + k]:.3f}" for k in PAIRS), flush=True)
(out / "compare_models_cpu.json").write_text(json.dumps(report, indent=1))
