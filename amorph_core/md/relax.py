"""Start relaxation and collapse checks, shared by the MD engines and the protocols (imports no engine).

fire_relax: step-capped FIRE through any engine's energy_forces; absurd_energy_or_force and check_no_collapse:
signs of the BJP r^-6 collapse; relax_start: the relaxation every protocol runs on a random or generated start."""
from __future__ import annotations

import math

import numpy as np

from amorph_core.errors import AmorphError


def absurd_energy_or_force(energy_ev: float, fmax_ev_a: float, n_atoms: int, fmax_limit_ev_a: float = 1e3) -> bool:
    """Signs of a short-range collapse: a non-finite value, an energy below -100 eV/atom (BJP silica sits near
    -18.5 eV/atom, CuZr near -5) or a largest force above fmax_limit_ev_a (eV/Å)."""
    if not (math.isfinite(energy_ev) and math.isfinite(fmax_ev_a)):
        return True
    return energy_ev < -100.0 * n_atoms or fmax_ev_a > fmax_limit_ev_a


def fire_relax(eng, atoms, fmax: float = 0.05, max_steps: int = 3000, max_move_a: float = 0.1):
    """FIRE relaxation (Bitzek et al. 2006) at fixed cell with every atom's step capped at max_move_a (Å), through
    eng.energy_forces. Used on random or generated starts: L-BFGS line searches there can throw an Si-O pair over
    the BJP barrier into the r^-6 collapse (seen once on the GPU: a 100 K/ps glass full of 0.1-0.5 Å pairs).
    Returns (atoms, info) like engine.minimize."""
    a = atoms.copy()
    x = a.get_positions()
    v = np.zeros_like(x)
    dt, dt_max, alpha, n_pos = 0.1, 1.0, 0.1, 0
    e, f = eng.energy_forces(a)
    fm = float(np.max(np.linalg.norm(f, axis=1)))
    k = 0
    for k in range(1, max_steps + 1):
        if fm <= fmax:
            break
        p = float(np.sum(f * v))
        if p > 0:
            fn, vn = np.linalg.norm(f), np.linalg.norm(v)
            v = (1 - alpha) * v + alpha * f * (vn / max(fn, 1e-30))
            n_pos += 1
            if n_pos > 5:
                dt, alpha = min(dt * 1.1, dt_max), alpha * 0.99
        else:
            v[:] = 0.0
            dt, alpha, n_pos = dt * 0.5, 0.1, 0
        v = v + dt * f
        dx = dt * v
        step = np.linalg.norm(dx, axis=1)
        big = step > max_move_a
        dx[big] *= (max_move_a / step[big])[:, None]
        x = x + dx
        a.set_positions(x)
        e, f = eng.energy_forces(a)
        fm = float(np.max(np.linalg.norm(f, axis=1)))
        if absurd_energy_or_force(e, fm, len(a), fmax_limit_ev_a=1e4):  # fallen into a short-range collapse
            break
    a.wrap()
    return a, {"energy_ev": float(e), "fmax_ev_a": fm, "rounds": k}


def check_no_collapse(atoms, min_a: float = 0.9) -> float:
    """Shortest interatomic distance (Å); AmorphError if below min_a (a collapsed or overlapping structure)."""
    from vesin import NeighborList
    d = NeighborList(cutoff=max(min_a * 2, 2.0), full_list=False).compute(
        points=atoms.get_positions(), box=np.asarray(atoms.get_cell()), periodic=True, quantities="d")
    d = np.asarray(d[0] if isinstance(d, (tuple, list)) else d)
    dmin = float(d.min()) if len(d) else float("inf")
    if dmin < min_a:
        raise AmorphError(f"structure has atoms {dmin:.2f} Å apart (< {min_a} Å): overlapping or collapsed; "
                          "MD on it would be meaningless")
    return dmin


#: atoms closer than this (Å) make MD on an input structure meaningless (moduli, tensile: no minimisation with
#: capped steps first); refine minimises first and accepts pairs down to REFINE_MIN_DISTANCE_A
MD_MIN_DISTANCE_A = 0.9
REFINE_MIN_DISTANCE_A = 0.5


def relax_start(eng, atoms, fmax=0.05):
    """Relax a random or generated start at fixed cell to fmax (eV/Å): step-capped FIRE on OpenMM, the engine's
    minimiser on LAMMPS; AmorphError if the result is collapsed. Returns (atoms, info)."""
    if eng.name == "openmm":
        out = fire_relax(eng, atoms, fmax=fmax)
    else:
        out = eng.minimize(atoms, fmax=fmax, max_iter=5000)
    check_no_collapse(out[0])
    return out
