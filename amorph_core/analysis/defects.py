"""Per-atom coordination defects, and the atoms of a slab: which atoms to show, and how many there are.

A network glass's atoms are coordination defects when their number of bonded neighbours (pairs closer than the
system's bond cutoffs, `GlassSystem.bond_cutoffs_a`) differs from the ideal (`GlassSystem.ideal_coordination`,
e.g. Si 4 and O 2 in a-SiO2). A slab is the atoms within a thickness (Å) of a plane through the periodic box;
the defects it shows are the whole glass's (bonds cut by its faces are no defects).
"""
from __future__ import annotations

import numpy as np

from amorph_core.analysis.neighbors import neighbor_pairs
from amorph_core.errors import AmorphError


def coordination_numbers(atoms, cutoffs: dict) -> np.ndarray:
    """Number of neighbours of each atom within the pair cutoffs {(el_a, el_b): r_cut in Å} (periodic)."""
    if not cutoffs:
        raise AmorphError("no bond cutoffs known for this system: coordination defects are not defined")
    i, j, d = neighbor_pairs(atoms, float(max(cutoffs.values())), full=True)
    sym = np.array(atoms.get_chemical_symbols())
    rc = np.zeros(len(i))
    for (a, b), r in cutoffs.items():
        m = ((sym[i] == a) & (sym[j] == b)) | ((sym[i] == b) & (sym[j] == a))
        rc[m] = r
    keep = d < rc
    return np.bincount(i[keep], minlength=len(atoms))


def defect_classes(atoms, system: str) -> dict:
    """Atoms whose coordination differs from the system's ideal, grouped as {'Si3': [indices], 'O1': [...]}."""
    from amorph_core.systems import get_system

    sys_ = get_system(system)
    ideal = sys_.ideal_coordination
    if not ideal:
        raise AmorphError(f"coordination defects are defined for network glasses with an ideal coordination "
                          f"(a-SiO2), not {sys_.label}")
    cn = coordination_numbers(atoms, sys_.bond_cutoffs_a)
    sym = np.array(atoms.get_chemical_symbols())
    out = {}
    for el, n0 in ideal.items():
        for n in sorted(set(cn[sym == el].tolist()) - {n0}):
            out[f"{el}{n}"] = np.flatnonzero((sym == el) & (cn == n)).tolist()
    return out


def slab_mask(atoms, axis: str = "z", center_frac: float = 0.5, thickness_a: float = 5.0) -> np.ndarray:
    """Which atoms lie within thickness_a (Å) of the plane at center_frac along axis (periodic)."""
    ax = "xyz".index(axis)
    if not 0 <= center_frac <= 1:
        raise AmorphError("slab position must be a fraction of the box between 0 and 1")
    if thickness_a <= 0:
        raise AmorphError("slab thickness must be positive (Å)")
    frac = atoms.get_scaled_positions(wrap=True)[:, ax]
    d = (frac - center_frac + 0.5) % 1.0 - 0.5
    return np.abs(d) * atoms.cell.lengths()[ax] <= thickness_a / 2


def slab(atoms, axis: str = "z", center_frac: float = 0.5, thickness_a: float = 5.0):
    """The atoms within thickness_a (Å) of the plane at center_frac along axis (periodic), cell kept."""
    sub = atoms[slab_mask(atoms, axis, center_frac, thickness_a)]
    sub.info = dict(atoms.info)
    return sub


def defects_in(defects: dict, mask) -> dict:
    """Defect classes of a whole structure ({'Si3': [indices]}) restricted to the atoms a mask keeps, with
    indices renumbered as in atoms[mask]: a slab shows the defects of the glass, not bonds the cut removed."""
    mask = np.asarray(mask, bool)
    new_index = np.cumsum(mask) - 1
    out = {}
    for name, idx in defects.items():
        kept = [int(new_index[i]) for i in idx if mask[i]]
        if kept:
            out[name] = kept
    return out
