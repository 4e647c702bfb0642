"""The judge: generated glasses against the reference (MD) glasses of their system and cooling rate.

One report used by `amorph evaluate`, the benchmarks and the docs: defects, shortest bonds, partial-PDF
R-factors (generated vs the mean reference; references leave-one-out as the baseline), bond angles, rings,
QUESTS entropy and the overlaps Gen|Sim, Sim|Sim, Gen|Gen. A pure function of the structures: per-structure
values plus the aggregate (analysis.suite.compare_sets does the work).
"""
from __future__ import annotations

import numpy as np

from amorph_core.errors import AmorphError

#: (summary key without gen_/ref_, label, format) rows of the table, in order; missing keys are skipped
TABLE_ROWS = (
    ("Si_not_4fold_pct", "Si not 4-fold (%)", "{:.2f}"),
    ("O_not_2fold_pct", "O not 2-fold (%)", "{:.2f}"),
    ("shortest_SiO_min_a", "shortest Si-O (Å)", "{:.3f}"),
    ("pdf_rfactor_Si-O_mean", "R Si-O", "{:.3f}"),
    ("pdf_rfactor_O-O_mean", "R O-O", "{:.3f}"),
    ("pdf_rfactor_Si-Si_mean", "R Si-Si", "{:.3f}"),
    ("pdf_rfactor_Cu-Cu_mean", "R Cu-Cu", "{:.3f}"),
    ("pdf_rfactor_Cu-Zr_mean", "R Cu-Zr", "{:.3f}"),
    ("pdf_rfactor_Zr-Zr_mean", "R Zr-Zr", "{:.3f}"),
    ("pdf_rfactor_total_mean", "R total", "{:.3f}"),
    ("angle_OSiO_mean_deg", "O-Si-O (deg)", "{:.2f}"),
    ("angle_SiOSi_mean_deg", "Si-O-Si (deg)", "{:.2f}"),
    ("entropy_nats_mean", "entropy (nats)", "{:.3f}"),
    ("density_g_cm3", "density (g/cm3)", "{:.3f}"),
)


def _sizes(structures) -> list:
    return sorted({len(a) for a in structures})


def evaluate(generated: list, reference, *, rings: bool = True, entropy: bool = True, progress=None) -> dict:
    """Judge generated structures (ase.Atoms) against reference glasses.

    reference: 'SYSTEM:RATE' (e.g. 'sio2:1': the registry's glasses at the nearest cooling rate) or a list of
    ase.Atoms. Returns {"summary": flat numbers (gen_* and ref_* means, overlaps), "per_structure": one row per
    generated glass, "rings", "reference": what was compared with, "warnings": like-with-like problems}."""
    from amorph_core.analysis.suite import compare_sets, parse_reference
    from amorph_core.structures.references import nearest_rate, reference_glasses

    if not generated:
        raise AmorphError("no generated structures to evaluate")
    if isinstance(reference, (str, tuple)):
        system, rate = parse_reference(reference)
        if rate is None:
            raise AmorphError("give the reference cooling rate, e.g. --reference sio2:1 (K/ps)")
        used = nearest_rate(system, rate)
        ref = reference_glasses(system, used, nearest=False)
        ref_info = {"system": system, "rate_k_ps_asked": rate, "rate_k_ps": used, "n": len(ref), "source": "registry"}
    else:
        ref = list(reference)
        ref_info = {"n": len(ref), "source": "given"}
    if not ref:
        raise AmorphError(f"no reference glasses for {reference!r}")
    warnings_ = []
    rates = sorted({a.info.get("cooling_rate_k_ps") for a in generated if a.info.get("cooling_rate_k_ps")})
    if ref_info.get("rate_k_ps") is not None and rates and any(abs(np.log10(r / ref_info["rate_k_ps"])) > 0.01
                                                               for r in rates):
        warnings_.append(f"generated at {', '.join(f'{r:g}' for r in rates)} K/ps, references at "
                         f"{ref_info['rate_k_ps']:g} K/ps")
    if _sizes(generated) != _sizes(ref):
        warnings_.append(f"sizes differ: generated {_sizes(generated)} atoms, references {_sizes(ref)} atoms "
                         "(entropy grows with ln N: compare entropies only at equal size)")
    res = compare_sets(generated, ref, rings=rings, entropy=entropy, progress=progress)
    per = []
    for k, (a, r) in enumerate(zip(generated, res["generated"])):
        row = {"index": k, "n_atoms": len(a)}
        for key in ("seed", "sampler", "schedule", "network_evals", "model", "cooling_rate_k_ps"):
            if key in a.info:
                row[key] = a.info[key]
        row.update({k2: v for k2, v in r["summary"].items() if isinstance(v, (int, float, str)) or v is None})
        for p, vals in res["pdf_r_factor_generated_vs_mean_reference"].items():
            row[f"pdf_rfactor_{p}"] = vals[k]
        if entropy:
            row["overlap_on_reference_mean"] = float(np.mean(res["overlap_gen_sim"][k]))
        per.append(row)
    out = {"summary": res["summary"], "per_structure": per, "reference": ref_info, "warnings": warnings_,
           "n_generated": len(generated), "sizes_generated": _sizes(generated), "sizes_reference": _sizes(ref),
           "pdf_r_factor_definition": res["pdf_r_factor_definition"], "seconds": res["seconds"]}
    for key in ("rings_generated", "rings_reference", "qn_generated", "qn_reference", "entropy_definition"):
        if key in res:
            out[key] = res[key]
    return out


def sd_of(report: dict, key: str):
    """Glass-to-glass standard deviation of a per-structure value (None when absent)."""
    vals = [r[key] for r in report["per_structure"] if isinstance(r.get(key), (int, float))]
    return float(np.std(vals)) if len(vals) > 1 else None


def format_table(report: dict) -> str:
    """The report as a plain-text table: generated mean (+- sd between glasses) and reference mean."""
    s = report["summary"]
    ref = report["reference"]
    head = f"{report['n_generated']} generated vs {ref['n']} reference glasses"
    if ref.get("rate_k_ps") is not None:
        head += f" ({ref['system']} at {ref['rate_k_ps']:g} K/ps)"
    lines = [head, f"{'metric':22s} {'generated':>16s} {'reference':>10s}"]
    for key, label, fmt in TABLE_ROWS:
        g, r = s.get("gen_" + key), s.get("ref_" + key)
        if g is None and r is None:
            continue
        sd = None if key == "shortest_SiO_min_a" else sd_of(report, key[:-5] if key.endswith("_mean") else key)
        gs = "-" if g is None else fmt.format(g) + (f" ±{fmt.format(sd)}" if sd is not None else "")
        lines.append(f"{label:22s} {gs:>16s} {'-' if r is None else fmt.format(r):>10s}")
    if "overlap_gen_sim_mean" in s:
        f = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
        lines.append(f"overlap Gen|Sim {f(s['overlap_gen_sim_mean'])}   Sim|Sim {f(s['overlap_sim_sim_mean'])}   "
                     f"Gen|Gen {f(s['overlap_gen_gen_mean'])}")
    rg, rr = report.get("rings_generated"), report.get("rings_reference")
    if rg and rr:
        lines.append(f"rings per Si ({rg['definition']}), by number of Si: generated / reference")
        lines.extend(f"  {n:2d}  {a:.4f}  {b:.4f}"
                     for n, a, b in zip(rg["sizes_si"], rg["rings_per_si_mean"], rr["rings_per_si_mean"]))
    lines.extend(f"warning: {w}" for w in report["warnings"])
    return "\n".join(lines)
