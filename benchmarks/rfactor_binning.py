"""Partial-PDF R-factors of generated glasses at the paper's binning (100 bins on 0-8 Å) and at a finer one
(400 bins, 0.02 Å), against the mean of the 1 K/ps reference glasses; plus the Si-O first-peak height at 0.02 Å.
The coarse bins of the paper's R-factor average out the width of the first peaks; the fine bins show it.

  python benchmarks/rfactor_binning.py TAG 'DIR/*.extxyz' [TAG 'DIR2/*.extxyz' ...]
"""
import glob
import sys

import numpy as np

from amorph_core.analysis.pdf import mean_pdf, partial_pdfs, pdf_r_factors
from amorph_core.structures import read_structure, reference_glasses

sets = [(sys.argv[k], sorted(glob.glob(sys.argv[k + 1]))) for k in range(1, len(sys.argv) - 1, 2)]
refs = reference_glasses("sio2", 1.0)
for nb in (100, 400):
    rp = [partial_pdfs(r, n_bins=nb) for r in refs]
    mref = mean_pdf(rp)
    loo = [pdf_r_factors(rp[k], mean_pdf([p for i, p in enumerate(rp) if i != k])) for k in range(len(rp))]
    rows = [("reference (leave-one-out)", loo, rp)]
    for tag, files in sets:
        gp = [partial_pdfs(read_structure(f), n_bins=nb) for f in files]
        rows.append((f"{tag} ({len(files)})", [pdf_r_factors(p, mref) for p in gp], gp))
    for tag, rs, pdfs in rows:
        means = {k: round(float(np.mean([r[k] for r in rs])), 3) for k in rs[0]}
        peak = f", Si-O peak {np.mean([max(p['partials']['Si-O']) for p in pdfs]):.1f}" if nb == 400 else ""
        print(f"{nb} bins ({8 / nb:.2f} A) | {tag}: R {means}{peak}", flush=True)
