"""Validate MD results that came back from the device (benchmarks/results/md/): run here on the CPU.

- our 100 K/ps SiO2 melt-quench vs the reference 100 K/ps glasses: density, partial-PDF R-factors of the mean
  PDFs (0-8 Å, 100 bins; amorph_core.analysis.pdf), with the reference's own spread (each reference glass vs
  the mean of the others) as the baseline;
- moduli of the 1 K/ps reference glasses vs the paper's Table 1;
- tensile curve summary, NVE drift.
Writes benchmarks/results/md/validation.json and prints it.
"""
from __future__ import annotations

import glob
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RES = ROOT / "benchmarks" / "results" / "md"
PAPER = {"K_GPa": (61.2, 2.9), "G_GPa": (37.1, 3.0), "E_GPa": (92.4, 5.6), "poisson": (0.247, 0.025)}


def pdf_check():
    import ase.io
    from amorph_core.analysis.pdf import mean_pdf, partial_pdfs, pdf_r_factors
    from amorph_core.structures.density import density_g_cm3
    from amorph_core.structures.references import reference_glasses
    ours = [ase.io.read(f) for f in sorted(glob.glob(str(RES / "sio2_mq100_s*.extxyz.gz")))]
    if not ours:
        return None
    refs = reference_glasses("sio2", 100.0)
    p_ours = [partial_pdfs(a) for a in ours]
    p_refs = [partial_pdfs(a) for a in refs]
    r = pdf_r_factors(mean_pdf(p_ours), mean_pdf(p_refs))
    per = [pdf_r_factors(p, mean_pdf(p_refs)) for p in p_ours]
    base = [pdf_r_factors(p_refs[i], mean_pdf(p_refs[:i] + p_refs[i + 1:])) for i in range(len(p_refs))]
    d = [density_g_cm3(a) for a in ours]
    dref = [density_g_cm3(a) for a in refs]
    ok = [i for i, x in enumerate(d) if x > 1.8]  # < 1.8 g/cm3: the melt cavitated (void in the glass)
    r_ok = pdf_r_factors(mean_pdf([p_ours[i] for i in ok]), mean_pdf(p_refs)) if ok else None
    return {"cavitated_samples": [i for i in range(len(d)) if i not in ok],
            "density_non_cavitated_mean": float(np.mean([d[i] for i in ok])) if ok else None,
            "r_factor_mean_pdf_non_cavitated": r_ok,
            "n_ours": len(ours), "density_ours": d, "density_ours_mean": float(np.mean(d)),
            "density_ref_mean": float(np.mean(dref)), "density_paper_100Kps": 2.169,
            "r_factor_mean_pdf": r, "r_factor_each_sample_vs_ref_mean": per,
            "r_factor_ref_sample_vs_other_refs": base}


def moduli_check():
    p = RES / "moduli_ref1K.json"
    if not p.exists():
        return None
    rows = json.loads(p.read_text())
    out = {"n": len(rows), "engine": rows[0]["engine"], "fmax_residual_max": max(r["fmax_residual_ev_a"] for r in rows)}
    for k, (m, s) in PAPER.items():
        v = np.array([r[k] for r in rows])
        out[k] = {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else None,
                  "paper": [m, s], "within_1sd": bool(abs(v.mean() - m) <= s), "values": v.round(3).tolist()}
    return out


def main():
    out = {"pdf_100Kps": pdf_check(), "moduli_1Kps": moduli_check()}
    p = RES / "moduli_ref1K_lammps.json"
    if p.exists():
        rows = json.loads(p.read_text())
        out["moduli_1Kps_lammps"] = {"n": len(rows), "fmax_residual_max": max(r["fmax_residual_ev_a"] for r in rows),
                                     **{k: {"mean": float(np.mean([r[k] for r in rows])),
                                            "std": float(np.std([r[k] for r in rows], ddof=1)) if len(rows) > 1 else None,
                                            "paper": list(PAPER[k]),
                                            "within_1sd": bool(abs(np.mean([r[k] for r in rows]) - PAPER[k][0]) <= PAPER[k][1]),
                                            "values": [round(r[k], 3) for r in rows]} for k in PAPER}}
    for name in ("tensile_ref1K_s0_lammps_1e10.json", "tensile_ref1K_s0_openmm_1e9.json", "tensile_ref1K_s0.json", "nve.json", "cuzr_runs_0.json", "cuzr_runs_2.json", "sio2_mq.json"):
        p = RES / name
        if p.exists():
            d = json.loads(p.read_text())
            if name.startswith("tensile"):
                d = {k: d[k] for k in ("peak_stress_gpa", "strain_at_peak", "final_stress_gpa", "young_fit_gpa",
                                       "engine", "wall_s")}
            out[name.replace(".json", "")] = d
    (RES / "validation.json").write_text(json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
