"""Pair distribution functions and R-factors.

g_ab(r) is normalised like OVITO's coordination-analysis RDF: the number of b atoms in the spherical
shell [r, r+dr) around an a atom, averaged over a atoms, divided by the shell volume times the mean
number density of b (N_b / V); all partials tend to 1 at large r. Bins: n_bins equal bins on
[0, r_max) Å, r given at bin centres (defaults 100 bins on 0-8 Å as in the paper, A.5).
The total g(r) is the concentration-weighted sum  sum_ab c_a c_b g_ab(r)  over ordered pairs.
"""
from __future__ import annotations

import math

import numpy as np

from amorph_core.analysis.neighbors import neighbor_pairs
from amorph_core.errors import AmorphError

R_MAX_A = 8.0
N_BINS = 100
#: definition written into the output
R_FACTOR_DEFINITION = "R = sqrt( sum_r (g(r) - g_ref(r))^2 / sum_r g_ref(r)^2 ), over the common r bins"


def species_order(symbols) -> list:
    """Elements in a stable order: the order of the glass system holding them (GlassSystem.elements: the network
    former first, e.g. Si before O), otherwise by atomic number."""
    from ase.data import atomic_numbers

    from amorph_core.systems import SYSTEMS

    present = set(symbols)
    for s in SYSTEMS.values():
        if present and present <= set(s.elements):
            return [el for el in s.elements if el in present]
    return sorted(present, key=lambda s: atomic_numbers.get(s, 999))


def pair_keys(elements) -> list:
    """Unordered pair labels 'A-B' for an element order, e.g. ['Si-Si', 'Si-O', 'O-O']."""
    return [f"{a}-{b}" for k, a in enumerate(elements) for b in elements[k:]]


def partial_pdfs(atoms, r_max_a: float = R_MAX_A, n_bins: int = N_BINS) -> dict:
    """Partial and total pair distribution functions of one periodic structure.

    Returns {'r_a': bin centres (Å), 'partials': {'Si-O': g, ...}, 'total': g, 'elements', 'n_bins', 'r_max_a'}.
    """
    if n_bins < 1 or r_max_a <= 0:
        raise AmorphError(f"PDF needs n_bins >= 1 and r_max > 0 Å, got {n_bins}, {r_max_a}")
    i, j, d = neighbor_pairs(atoms, r_max_a, full=False)
    symbols = np.array(atoms.get_chemical_symbols())
    elements = species_order(symbols)
    code = {el: k for k, el in enumerate(elements)}
    z = np.array([code[s] for s in symbols])
    counts = np.bincount(z, minlength=len(elements)).astype(float)
    n = float(len(atoms))
    volume = float(abs(atoms.get_volume()))
    edges = np.linspace(0.0, r_max_a, n_bins + 1)
    shell = 4.0 / 3.0 * math.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    bin_idx = np.minimum((d / r_max_a * n_bins).astype(np.int64), n_bins - 1)
    zi, zj = z[i], z[j]
    lo, hi = np.minimum(zi, zj), np.maximum(zi, zj)
    partials = {}
    for a in range(len(elements)):
        for b in range(a, len(elements)):
            m = (lo == a) & (hi == b)
            hist = np.bincount(bin_idx[m], minlength=n_bins).astype(float)
            # each unordered pair appears once in the half list: a-b pairs seen from a (and from b)
            ordered = 2.0 * hist if a == b else hist
            g = ordered * volume / (counts[a] * counts[b] * shell)
            partials[f"{elements[a]}-{elements[b]}"] = g.tolist()
    hist_all = np.bincount(bin_idx, minlength=n_bins).astype(float)
    total = 2.0 * hist_all * volume / (n * n * shell)
    return {
        "r_a": (0.5 * (edges[1:] + edges[:-1])).tolist(),
        "partials": partials,
        "total": total.tolist(),
        "elements": elements,
        "n_bins": int(n_bins),
        "r_max_a": float(r_max_a),
        "normalisation": "OVITO-like: g_ab -> 1 at large r; total = sum_ab c_a c_b g_ab",
    }


def mean_pdf(pdfs: list) -> dict:
    """Bin-wise mean (and standard deviation) of several partial_pdfs results with the same bins."""
    if not pdfs:
        raise AmorphError("mean_pdf needs at least one PDF")
    first = pdfs[0]
    for p in pdfs[1:]:
        if p["n_bins"] != first["n_bins"] or p["r_max_a"] != first["r_max_a"]:
            raise AmorphError("PDFs to average must use the same bins")
    keys = [k for k in first["partials"] if all(k in p["partials"] for p in pdfs)]
    out = dict(first)
    out["partials"] = {k: np.mean([p["partials"][k] for p in pdfs], axis=0).tolist() for k in keys}
    out["partials_sd"] = {k: np.std([p["partials"][k] for p in pdfs], axis=0).tolist() for k in keys}
    out["total"] = np.mean([p["total"] for p in pdfs], axis=0).tolist()
    out["total_sd"] = np.std([p["total"] for p in pdfs], axis=0).tolist()
    out["n_structures"] = len(pdfs)
    return out


def r_factor(g, g_ref) -> float:
    """R-factor between two PDFs on the same bins: sqrt(sum (g - g_ref)^2 / sum g_ref^2) (dimensionless)."""
    g, g_ref = np.asarray(g, float), np.asarray(g_ref, float)
    if g.shape != g_ref.shape:
        raise AmorphError(f"PDFs have different bins ({g.shape} vs {g_ref.shape})")
    den = float(np.sum(g_ref ** 2))
    if den == 0:
        return float("nan")
    return float(math.sqrt(float(np.sum((g - g_ref) ** 2)) / den))


def pdf_r_factors(pdf: dict, pdf_ref: dict) -> dict:
    """R-factor of every partial present in both PDFs, plus 'total'."""
    out = {k: r_factor(pdf["partials"][k], pdf_ref["partials"][k])
           for k in pdf["partials"] if k in pdf_ref["partials"]}
    out["total"] = r_factor(pdf["total"], pdf_ref["total"])
    return out
