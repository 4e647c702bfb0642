"""Non-bridging oxygens (NBO) at the surface of cylindrical pores along z (paper 3.4, A.5).

The network's former and anion (Si and O in a-SiO2) are the glass system's (`GlassSystem.network_pair`).
Radial profile: number density (atoms/Å^3) of Si+O atoms against the distance r (Å) from the nearest pore
axis (periodic in x, y), in shells of width dr. Plateau density rho_p = median of the profile from the
first r where it exceeds half its maximum out to r_max (half the distance between pore axes, or half the
box). Effective pore radius r_eff = the first r (bin centre) where the profile reaches plateau_fraction
(0.9) of rho_p, i.e. where the density plateaus. NBO = O bonded to exactly one Si (Si-O < 2.0 Å).
Concentration = (number of NBO) / (pore surface 2 pi r_eff Lz, summed over pores), reported per nm^2.
The NBO count covers all NBOs in the structure (in a dense wall they sit at the pore surface);
the count within r_eff + shell_a of an axis is reported beside it.
"""
from __future__ import annotations

import json
import math

import numpy as np

from amorph_core.analysis.bonds import BOND_CUTOFF_A
from amorph_core.analysis.neighbors import check_periodic, neighbor_pairs
from amorph_core.errors import AmorphError

#: an effective pore radius (Å) below which the pore has closed: narrower than an oxygen atom, no surface left
CLOSED_PORE_R_A = 1.5


def pore_axes(atoms, centers=None) -> np.ndarray:
    """(x, y) positions (Å) of the pore axes: `centers` if given, else atoms.info['pore_centers'] (JSON list
    written by amorph_core.structures.starts.porous_start)."""
    if centers is None:
        raw = atoms.info.get("pore_centers")
        if raw is None:
            raise AmorphError("no pore axes: the structure has no 'pore_centers' in its info; "
                              "give the pore centres (x,y in Å) explicitly")
        try:
            centers = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            raise AmorphError(f"pore_centers is not a JSON list of (x, y) pairs: {raw!r}") from None
    c = np.asarray(centers, dtype=float)
    if c.ndim == 1 and c.size == 2:
        c = c[None, :]
    if c.ndim != 2 or c.shape[1] != 2 or not np.all(np.isfinite(c)) or len(c) == 0:
        raise AmorphError(f"pore centres must be a list of (x, y) pairs in Å, got {centers!r}")
    return c


def _axis_distance(pos, cell, centers):
    lx, ly = cell[0, 0], cell[1, 1]
    best = np.full(len(pos), np.inf)
    for cx, cy in centers:
        d = pos[:, :2] - (cx, cy)
        d -= np.array([lx, ly]) * np.round(d / np.array([lx, ly]))
        best = np.minimum(best, np.hypot(d[:, 0], d[:, 1]))
    return best


def nbo_at_pores(atoms, centers=None, dr_a: float = 0.5, plateau_fraction: float = 0.9,
                 cutoff_a: float = BOND_CUTOFF_A, shell_a: float = 3.0, system=None) -> dict:
    """NBO per nm^2 of pore surface of a structure with cylindrical pores along z (see module docstring).
    system: GlassSystem, name or None (guessed from the elements); it must have a network (bond_cutoffs_a)."""
    from amorph_core.systems import get_system, guess_system

    pos, cell = check_periodic(atoms)
    if np.abs(cell - np.diag(np.diag(cell))).max() > 1e-8:
        raise AmorphError("pore analysis needs an orthorhombic cell with pores along z")
    c = pore_axes(atoms, centers)
    lx, ly, lz = np.diag(cell)
    symbols = np.array(atoms.get_chemical_symbols())
    sys_ = guess_system(symbols) if system is None else (get_system(system) if isinstance(system, str) else system)
    if sys_.network_pair is None:
        raise AmorphError(f"NBO analysis needs a network glass; {sys_.label} has no former-anion bonds")
    former, anion = sys_.network_pair
    is_si, is_o = symbols == former, symbols == anion
    if not is_si.any() or not is_o.any():
        raise AmorphError(f"NBO analysis needs {former} and {anion} atoms")
    # half the distance to the nearest other axis (periodic images included) or half the box
    r_max = 0.5 * min(lx, ly)
    for a in range(len(c)):
        for b in range(len(c)):
            if a == b:
                continue
            d = c[a] - c[b]
            d -= np.array([lx, ly]) * np.round(d / np.array([lx, ly]))
            r_max = min(r_max, 0.5 * float(np.hypot(*d)))
    r = _axis_distance(pos, cell, c)
    m = is_si | is_o
    edges = np.arange(0.0, r_max + 1e-9, dr_a)
    if len(edges) < 4:
        raise AmorphError(f"pores too close together for a radial profile (r_max {r_max:.1f} Å)")
    hist, _ = np.histogram(r[m], bins=edges)
    shell_vol = math.pi * (edges[1:] ** 2 - edges[:-1] ** 2) * lz * len(c)
    rho = hist / shell_vol
    centers_r = 0.5 * (edges[1:] + edges[:-1])
    if rho.max() <= 0:
        raise AmorphError("no atoms around the pore axes")
    start = int(np.argmax(rho >= 0.5 * rho.max()))
    rho_p = float(np.median(rho[start:]))
    reach = np.flatnonzero(rho >= plateau_fraction * rho_p)
    r_eff = float(centers_r[reach[0]]) if len(reach) else float("nan")
    # equivalent step radius (Gibbs dividing surface), for reference
    n_inside = float(np.sum(r[m] < r_max))
    r_gibbs_sq = r_max ** 2 - n_inside / (math.pi * lz * len(c) * rho_p)
    r_gibbs = float(math.sqrt(r_gibbs_sq)) if r_gibbs_sq > 0 else 0.0

    i, j, d = neighbor_pairs(atoms, cutoff_a, full=True)
    sel = is_o[i] & is_si[j]
    cn_o = np.bincount(i[sel], minlength=len(atoms))
    nbo = is_o & (cn_o == 1)
    n_nbo = int(nbo.sum())
    area_nm2 = 2.0 * math.pi * r_eff * lz * len(c) / 100.0
    return {
        "definition": ("NBO = O with exactly one Si within %.2f Å; r_eff = first radius where the Si+O density "
                       "around the pore axis reaches %.0f%% of its plateau; area = 2 pi r_eff Lz per pore"
                       % (cutoff_a, 100 * plateau_fraction)),
        "n_pores": int(len(c)),
        "pore_centers_a": c.tolist(),
        "r_eff_a": r_eff,
        "r_gibbs_a": r_gibbs,
        "plateau_density_per_a3": rho_p,
        "surface_area_nm2": float(area_nm2),
        "n_nbo": n_nbo,
        "n_nbo_near_surface": int(np.sum(nbo & (r < r_eff + shell_a))),
        "nbo_per_nm2": float(n_nbo / area_nm2) if area_nm2 > 0 else float("nan"),
        "o_underbonded_count": int(np.sum(is_o & (cn_o == 0))),
        "o_overbonded_count": int(np.sum(is_o & (cn_o >= 3))),
        "profile": {"r_a": centers_r.tolist(), "density_per_a3": rho.tolist()},
    }


def pore_closed(pores: dict) -> str | None:
    """A warning when a pore analysis (nbo_at_pores' result) found the pore closed (r_eff below CLOSED_PORE_R_A),
    None otherwise: an NBO surface density is then meaningless."""
    r = pores.get("r_eff_a")
    if r is not None and math.isfinite(r) and r >= CLOSED_PORE_R_A:
        return None
    shown = f"{r:.2f} Å" if r is not None and math.isfinite(r) else "none"
    return (f"the pore closed during generation (effective radius {shown}, below {CLOSED_PORE_R_A:g} Å): there is "
            f"no pore surface, so no NBO density is reported; try a larger pore radius or a lower wall density")
