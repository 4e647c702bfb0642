"""Starting configurations the sampler denoises (paper 2.1, 3.4, A.5). All take an explicit seed.

Lengths in Å, densities in g/cm^3. Boxes are orthorhombic; `aspect` gives (Lx, Ly, Lz) ratios.
"""
from __future__ import annotations

import json
import math

import numpy as np
from ase import Atoms
from ase.data import atomic_masses, atomic_numbers

from amorph_core.errors import AmorphError
from amorph_core.structures.density import AMU_PER_A3_TO_G_CM3
from amorph_core.systems import get_system


def _symbols(system, n_atoms):
    counts = system.counts(n_atoms)
    return [el for el, c in counts.items() for _ in range(c)]


def _mass_amu(symbols) -> float:
    return float(sum(atomic_masses[atomic_numbers[s]] for s in symbols))


def check_density(system, density_g_cm3: float, what: str = "density") -> float:
    """Refuse densities that cannot be a glass of this system (<= 0, NaN, or far from its known density)."""
    try:
        d = float(density_g_cm3)
    except (TypeError, ValueError):
        raise AmorphError(f"{what} must be a number in g/cm3, got {density_g_cm3!r}") from None
    ref = system.default_density_g_cm3
    lo, hi = 0.2 * ref, 3.0 * ref
    if not math.isfinite(d) or d <= 0:
        raise AmorphError(f"{what} must be a positive number of g/cm3, got {density_g_cm3!r}")
    if not lo <= d <= hi:
        raise AmorphError(
            f"{what} {d:g} g/cm3 is impossible for {system.label} (accepted {lo:.2f}..{hi:.2f} g/cm3, typical "
            f"{ref:g}); if you meant kg/m3, divide by 1000"
        )
    return d


def _check_aspect(aspect):
    a = np.asarray(aspect, dtype=float).reshape(-1)
    if a.size != 3 or not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise AmorphError(f"aspect must be three positive ratios Lx,Ly,Lz, got {aspect!r}")
    return a / a[0]


def _check_box(box):
    b = np.asarray(box, dtype=float).reshape(-1)
    if b.size != 3 or not np.all(np.isfinite(b)) or np.any(b <= 0):
        raise AmorphError(f"box must be three positive lengths Lx,Ly,Lz in Å, got {box!r}")
    return b


def box_from_density(mass_amu: float, density_g_cm3: float, aspect=(1, 1, 1)) -> np.ndarray:
    """Orthorhombic box lengths (Å) holding mass_amu at density_g_cm3 with the given aspect ratios."""
    a = _check_aspect(aspect)
    volume = mass_amu * AMU_PER_A3_TO_G_CM3 / density_g_cm3
    lx = (volume / a.prod()) ** (1.0 / 3.0)
    return lx * a


def _info(system, seed, **kw):
    info = {"system": system.name, "seed": int(seed)}
    info.update({k: v for k, v in kw.items() if v is not None})
    return info


def uniform_start(system="sio2", n_atoms: int | None = None, density_g_cm3: float | None = None,
                  box=None, aspect=(1, 1, 1), seed: int = 0) -> Atoms:
    """Atoms uniformly random in an orthorhombic box (paper 2.1).

    Give n_atoms with density_g_cm3 (box from aspect), or box (Å) with density (n_atoms from it), or
    box with n_atoms. Density defaults to the system's typical density.
    """
    sys_ = get_system(system)
    if n_atoms is None and box is None:
        raise AmorphError("give the number of atoms or the box lengths")
    if n_atoms is not None and box is not None and density_g_cm3 is not None:
        raise AmorphError("give at most two of: number of atoms, box, density")
    unit_mass = _mass_amu([el for el, c in sys_.formula.items() for _ in range(c)])
    if box is not None:
        box = _check_box(box)
        if n_atoms is None:
            d = check_density(sys_, density_g_cm3 if density_g_cm3 is not None else sys_.default_density_g_cm3)
            units = max(1, round(d * box.prod() / AMU_PER_A3_TO_G_CM3 / unit_mass))
            n_atoms = units * sys_.atoms_per_formula
    symbols = _symbols(sys_, n_atoms)
    mass = _mass_amu(symbols)
    if box is None:
        d = check_density(sys_, density_g_cm3 if density_g_cm3 is not None else sys_.default_density_g_cm3)
        box = box_from_density(mass, d, aspect)
    d_actual = mass * AMU_PER_A3_TO_G_CM3 / box.prod()
    check_density(sys_, d_actual, "resulting density")
    rng = np.random.default_rng(seed)
    frac = rng.random((len(symbols), 3))
    atoms = Atoms(symbols=symbols, scaled_positions=frac, cell=np.diag(box), pbc=True)
    atoms.info.update(_info(sys_, seed, start="uniform", density_g_cm3=round(d_actual, 6)))
    return atoms


def pore_centers(box, lattice: str = "hexagonal") -> np.ndarray:
    """(x, y) centres (Å) of the cylindrical pores along z: 'single' = one at the box centre,
    'hexagonal' = a hexagonal pore lattice (two per orthorhombic cell with Ly = sqrt(3) Lx)."""
    lx, ly = box[0], box[1]
    if lattice == "single":
        return np.array([[lx / 2, ly / 2]])
    if lattice == "hexagonal":
        return np.array([[lx / 4, ly / 4], [3 * lx / 4, 3 * ly / 4]])
    raise AmorphError(f"pore lattice must be 'single' or 'hexagonal', got {lattice!r}")


def porous_start(system="sio2", pore_radius_a: float = 10.0, wall_density_g_cm3: float | None = None,
                 n_atoms: int | None = None, box=None, lz_over_lx: float = 1.0, lattice: str = "single",
                 seed: int = 0) -> Atoms:
    """Atoms uniformly random outside cylindrical pores along z (paper 3.4, A.5).

    lattice 'single': one pore in a square-based box; 'hexagonal': a hexagonal lattice of pores in an
    orthorhombic cell (Ly = sqrt(3) Lx, two pores). The wall (everything outside the pores) has
    wall_density_g_cm3. Give n_atoms (box solved from the wall density) or box (n_atoms solved).
    """
    sys_ = get_system(system)
    r = float(pore_radius_a)
    if not math.isfinite(r) or r <= 0:
        raise AmorphError(f"pore radius must be a positive length in Å, got {pore_radius_a!r}")
    wd = check_density(sys_, wall_density_g_cm3 if wall_density_g_cm3 is not None
                       else sys_.default_density_g_cm3, "wall density")
    ly_factor = math.sqrt(3.0) if lattice == "hexagonal" else 1.0
    n_pores = 2 if lattice == "hexagonal" else 1
    if lattice not in ("single", "hexagonal"):
        raise AmorphError(f"pore lattice must be 'single' or 'hexagonal', got {lattice!r}")
    unit = [el for el, c in sys_.formula.items() for _ in range(c)]
    unit_mass = _mass_amu(unit)
    if box is not None:
        box = _check_box(box)
        if n_atoms is not None:
            raise AmorphError("give either the number of atoms or the box, not both")
    else:
        if n_atoms is None:
            raise AmorphError("give the number of atoms or the box lengths")
        symbols = _symbols(sys_, n_atoms)
        v_wall = _mass_amu(symbols) * AMU_PER_A3_TO_G_CM3 / wd
        # ly_factor*c*L^3 - n_pores*pi*r^2*c*L = v_wall, with Lz = c*L
        c = float(lz_over_lx)
        roots = np.roots([ly_factor * c, 0.0, -n_pores * math.pi * r * r * c, -v_wall])
        lx = max(x.real for x in roots if abs(x.imag) < 1e-9 and x.real > 0)
        box = np.array([lx, ly_factor * lx, c * lx])
    spacing = box[0]  # nearest pore-pore distance in both lattices
    if 2 * r >= min(box[0], box[1]) or 2 * r >= spacing:
        raise AmorphError(
            f"pore of radius {r:g} Å (diameter {2 * r:g} Å) does not fit in the box "
            f"{box[0]:.1f} x {box[1]:.1f} Å: make the pore smaller or the box larger")
    v_pores = n_pores * math.pi * r * r * box[2]
    v_wall = box.prod() - v_pores
    if n_atoms is None:
        units = max(1, round(wd * v_wall / AMU_PER_A3_TO_G_CM3 / unit_mass))
        n_atoms = units * sys_.atoms_per_formula
    symbols = _symbols(sys_, n_atoms)
    centers = pore_centers(box, lattice)
    rng = np.random.default_rng(seed)
    pos = np.empty((0, 3))
    while len(pos) < len(symbols):
        trial = rng.random((2 * len(symbols), 3)) * box
        keep = np.ones(len(trial), bool)
        for cx, cy in centers:
            d = trial[:, :2] - (cx, cy)
            d -= box[:2] * np.round(d / box[:2])
            keep &= (d ** 2).sum(1) > r * r
        pos = np.concatenate([pos, trial[keep]])
    pos = pos[: len(symbols)]
    rng.shuffle(symbols)
    atoms = Atoms(symbols=symbols, positions=pos, cell=np.diag(box), pbc=True)
    atoms.info.update(_info(
        sys_, seed, start="porous", pore_radius_a=r, wall_density_g_cm3=wd, pore_lattice=lattice,
        pore_centers=json.dumps(np.round(centers, 4).tolist()),
        density_g_cm3=round(float(_mass_amu(symbols) * AMU_PER_A3_TO_G_CM3 / box.prod()), 6)))
    return atoms
