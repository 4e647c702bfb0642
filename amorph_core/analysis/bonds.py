"""Network analysis of oxide glasses (a-SiO2 by default): coordination numbers, defect fractions,
Qn distribution, bond-angle distributions and the shortest cation-anion distance.

A bond is a former-anion (Si-O) pair closer than cutoff_a (2.0 Å, the first minimum of g_SiO; paper A.5).
Angles in degrees, distances in Å, fractions in [0, 1].
"""
from __future__ import annotations

import numpy as np

from amorph_core.analysis.neighbors import neighbor_pairs
from amorph_core.errors import AmorphError

#: the Si-O bond length (Å) below which a pair counts as bonded: coordination, rings and pore surfaces alike
BOND_CUTOFF_A = 2.0
ANGLE_BINS = 180  # 1-degree bins on 0-180


def _bonds(atoms, former: str, anion: str, cutoff_a: float):
    """Directed former->anion bonds: (former index, anion index, vector former->anion)."""
    symbols = np.array(atoms.get_chemical_symbols())
    is_f, is_a = symbols == former, symbols == anion
    if not is_f.any() or not is_a.any():
        raise AmorphError(f"network analysis needs both {former} and {anion} atoms "
                          f"(found {', '.join(sorted(set(symbols)))})")
    i, j, d, D = neighbor_pairs(atoms, cutoff_a, full=True, vectors=True)
    m = is_f[i] & is_a[j]
    return i[m], j[m], D[m], is_f, is_a


def _angles_around(centers, vectors) -> np.ndarray:
    """All angles (deg) between pairs of bond vectors sharing a centre; vectorised per coordination."""
    if len(centers) == 0:
        return np.zeros(0)
    order = np.argsort(centers, kind="stable")
    c, v = centers[order], vectors[order]
    uniq, start, cnt = np.unique(c, return_index=True, return_counts=True)
    out = []
    for k in np.unique(cnt):
        if k < 2:
            continue
        sel = start[cnt == k]
        vv = v[sel[:, None] + np.arange(k)[None, :]]  # (n_centres, k, 3)
        vv = vv / np.linalg.norm(vv, axis=2, keepdims=True)
        a, b = np.triu_indices(k, 1)
        cos = np.clip(np.einsum("nkx,nkx->nk", vv[:, a], vv[:, b]), -1.0, 1.0)
        out.append(np.degrees(np.arccos(cos)).ravel())
    return np.concatenate(out) if out else np.zeros(0)


def _hist(values, bins=ANGLE_BINS, lo=0.0, hi=180.0) -> dict:
    h, edges = np.histogram(values, bins=bins, range=(lo, hi))
    dens = h / max(1, len(values)) / (edges[1] - edges[0])
    return {"centers": (0.5 * (edges[1:] + edges[:-1])).tolist(), "density": dens.tolist()}


def _stats(values) -> dict:
    v = np.asarray(values, float)
    if v.size == 0:
        return {"n": 0, "mean": None, "sd": None}
    return {"n": int(v.size), "mean": float(v.mean()), "sd": float(v.std())}


def network_analysis(atoms, former: str = "Si", anion: str = "O", cutoff_a: float = BOND_CUTOFF_A,
                     ideal_former: int = 4, ideal_anion: int = 2) -> dict:
    """Coordination, defects, Qn and bond angles of a former-anion network (default Si-O, 2.0 Å bonds).

    coord_<X>: distribution {CN: fraction} and mean; defect fractions: <former> not ideal_former-fold,
    <anion> not ideal_anion-fold. Qn: fraction of formers with n bridging anions (anions bonded to >= 2
    formers). Angles: anion-former-anion (e.g. O-Si-O) and former-anion-former (Si-O-Si), in degrees.
    """
    fi, aj, vec, is_f, is_a = _bonds(atoms, former, anion, cutoff_a)
    n = len(atoms)
    cn_f = np.bincount(fi, minlength=n)[is_f]
    cn_a = np.bincount(aj, minlength=n)[is_a]
    cn_all_a = np.bincount(aj, minlength=n)
    bridging = cn_all_a >= 2
    qn = np.bincount(fi[bridging[aj]], minlength=n)[is_f]

    def dist(c):
        vals, cnts = np.unique(c, return_counts=True)
        return {str(int(k)): float(v / c.size) for k, v in zip(vals, cnts)}

    a_fa = _angles_around(fi, vec)       # anion-former-anion (O-Si-O), vectors former->anion
    a_af = _angles_around(aj, -vec)      # former-anion-former (Si-O-Si), vectors anion->former
    fa, af = f"{anion}{former}{anion}", f"{former}{anion}{former}"
    return {
        "bond_cutoff_a": float(cutoff_a),
        "definition": (f"bond = {former}-{anion} pair closer than {cutoff_a:g} Å; bridging {anion} = bonded "
                       f"to >= 2 {former}; Qn = {former} with n bridging {anion}"),
        f"coord_{former}": {"mean": float(cn_f.mean()), "distribution": dist(cn_f)},
        f"coord_{anion}": {"mean": float(cn_a.mean()), "distribution": dist(cn_a)},
        f"{former}_not_{ideal_former}fold_fraction": float(np.mean(cn_f != ideal_former)),
        f"{anion}_not_{ideal_anion}fold_fraction": float(np.mean(cn_a != ideal_anion)),
        "qn_distribution": dist(qn),
        f"angle_{fa}_deg": {**_stats(a_fa), "histogram": _hist(a_fa)},
        f"angle_{af}_deg": {**_stats(a_af), "histogram": _hist(a_af)},
        "n_bonds": int(len(fi)),
    }


def shortest_distance(atoms, a: str = "Si", b: str = "O", search_a: float = 4.0) -> float | None:
    """Shortest a-b distance (Å) under periodic boundaries, or None if no pair within search_a Å."""
    symbols = np.array(atoms.get_chemical_symbols())
    i, j, d = neighbor_pairs(atoms, search_a, full=False)
    si, sj = symbols[i], symbols[j]
    m = ((si == a) & (sj == b)) | ((si == b) & (sj == a))
    return float(d[m].min()) if m.any() else None
