"""Can a small constant noise at the end of sampling give generated glasses the thermal broadening of 300 K MD
glasses (instead of the clean tail's sharp peaks), without MD?

python benchmarks/thermal_tail.py MODEL 'GLASSES/*.extxyz' [N_STEPS] [SIGMAS] > OUT.txt   (CPU)
Applies N_STEPS (default 40) steps x <- wrap(x - eps(x) + sigma z) at each constant sigma (Å; default
0.02,0.035,0.05) to finished generated glasses (a proxy for replacing the paper schedule's clean tail) and prints,
per sigma, the Si-O first-peak height at 0.02 Å bins, the partial-PDF R-factors at 0.08 and 0.02 Å bins against the
1 K/ps MD glasses, the defects and the shortest Si-O; the MD glasses' own values first (against a mean that
includes them).
"""
import glob
import sys

import numpy as np
import torch

from amorph_core.analysis import analyze_structure
from amorph_core.analysis.pdf import mean_pdf, partial_pdfs, pdf_r_factors
from amorph_core.diffusion.sampler import run_sampler
from amorph_core.generate import Generator
from amorph_core.structures import read_structure, reference_glasses

model, pattern = sys.argv[1], sys.argv[2]
n_steps = int(sys.argv[3]) if len(sys.argv) > 3 else 40
sigmas = [float(x) for x in (sys.argv[4] if len(sys.argv) > 4 else "0.02,0.035,0.05").split(",")]
glasses = [read_structure(f) for f in sorted(glob.glob(pattern))]
refs = reference_glasses("sio2", 1.0)
mref = {nb: mean_pdf([partial_pdfs(r, n_bins=nb) for r in refs]) for nb in (100, 400)}
g = Generator("sio2", model, "cpu")


def row(tag, structs):
    peaks, r100, r400, si, o, short = [], [], [], [], [], []
    for a in structs:
        p400 = partial_pdfs(a, n_bins=400)
        peaks.append(max(p400["partials"]["Si-O"]))
        r100.append(pdf_r_factors(partial_pdfs(a, n_bins=100), mref[100]))
        r400.append(pdf_r_factors(p400, mref[400]))
        s = analyze_structure(a, rings=False, entropy=False)["summary"]
        si.append(s["Si_not_4fold_pct"])
        o.append(s["O_not_2fold_pct"])
        short.append(s["shortest_SiO_a"])

    def r(rs):
        return " / ".join(f"{np.mean([x[k] for x in rs]):.3f}" for k in ("Si-O", "O-O", "Si-Si"))
    print(f"{tag:>28s} | Si-O peak {np.mean(peaks):5.1f} | R (0.08 A) {r(r100)} | R (0.02 A) {r(r400)} | "
          f"Si!4 {np.mean(si):.2f} % | O!2 {np.mean(o):.2f} % | shortest Si-O {min(short):.3f} A", flush=True)


print(f"model {model}; {len(glasses)} glasses from {pattern}; {n_steps} steps at constant sigma")
row("MD glasses (1 K/ps)", refs)
row("as generated (clean tail)", glasses)
for sigma in sigmas:
    out = []
    for k, a in enumerate(glasses):
        with g.sampling():
            st = run_sampler(g.batch_state([a]), g.predictor(), [sigma] * n_steps,
                             [torch.Generator().manual_seed(1000 + k)])
        b = a.copy()
        b.positions = st.positions.numpy()
        b.wrap()
        out.append(b)
    row(f"+ {n_steps} steps at {sigma:g} A", out)
