"""Melt-quench (paper A.3 for SiO2; each glass system's recipe): random starts, the MeltQuench schedule,
the size check and melt_quench itself."""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from amorph_core import validation as V
from amorph_core.errors import AmorphError
from amorph_core.md.engines import make_engine
from amorph_core.md.potentials import build_potential, check_atoms, get_potential
from amorph_core.md.relax import check_no_collapse, relax_start
from amorph_core.md.stages import MAX_MD_STEPS, run_stages
from amorph_core.structures.io import write_structure


def random_start(system: str, n_atoms: int, density_g_cm3: float, seed: int, min_dist_a: float = 1.7):
    """Random atoms in a cubic box at the given density with no pair closer than min_dist_a (Å) (like PACKMOL's
    separation in the paper; avoids the Born r^-6 collapse). Records seed and parameters in atoms.info."""
    from ase import Atoms
    from amorph_core.structures.starts import box_from_density, _mass_amu, _symbols
    from amorph_core.systems import get_system

    sysd = get_system(system)
    syms = _symbols(sysd, n_atoms)
    rng = np.random.default_rng(seed)
    rng.shuffle(syms)
    L = box_from_density(_mass_amu(syms), density_g_cm3)
    nb = max(1, int(L[0] // min_dist_a))
    grid: dict = {}
    pos = np.empty((n_atoms, 3))
    k = 0
    tries = 0
    while k < n_atoms:
        tries += 1
        if tries > 200 * n_atoms:
            raise AmorphError(f"could not place {n_atoms} atoms {min_dist_a} Å apart at {density_g_cm3} g/cm3")
        p = rng.random(3) * L
        c = tuple((p / L * nb).astype(int) % nb)
        ok = True
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for dz in (-1, 0, 1):
                    for j in grid.get(((c[0] + dx) % nb, (c[1] + dy) % nb, (c[2] + dz) % nb), ()):
                        d = pos[j] - p
                        d -= L * np.round(d / L)
                        if d @ d < min_dist_a**2:
                            ok = False
                            break
                    if not ok:
                        break
                if not ok:
                    break
        if ok:
            pos[k] = p
            grid.setdefault(c, []).append(k)
            k += 1
    a = Atoms(syms, positions=pos, cell=np.diag(L), pbc=True)
    a.info.update({"seed": int(seed), "start": "random", "min_dist_a": min_dist_a,
                   "start_density_g_cm3": float(density_g_cm3)})
    return a


@dataclass(frozen=True)
class MeltQuench:
    """Melt-quench schedule. Stages: minimise; nvt_low_ps NVT + npt_low_ps NPT at t_low; melt_nvt_ps NVT +
    melt_ps NPT at t_melt; cool t_melt -> t_low at rate_k_ps (NPT, zero pressure); final_ps NPT at t_low.
    dt_fs time step. paper(): the paper's SiO2 schedule (A.3, the defaults); for_system(): a glass system's recipe
    (`GlassSystem.melt_quench`, e.g. our Cu50Zr50 analogue of the paper's)."""

    rate_k_ps: float = 100.0
    t_low: float = 300.0
    t_melt: float = 5000.0
    nvt_low_ps: float = 50.0
    npt_low_ps: float = 50.0
    melt_nvt_ps: float = 0.0
    melt_ps: float = 50.0
    final_ps: float = 100.0
    dt_fs: float = 1.0

    @staticmethod
    def paper(rate_k_ps: float) -> "MeltQuench":
        return MeltQuench(rate_k_ps=rate_k_ps)

    @staticmethod
    def for_system(system, rate_k_ps: float) -> "MeltQuench":
        """The melt-quench recipe of a glass system (a GlassSystem or its name) at rate_k_ps."""
        from amorph_core.systems import get_system

        sys_ = get_system(system) if isinstance(system, str) else system
        return MeltQuench(**{**sys_.melt_quench, "rate_k_ps": rate_k_ps})

    def check(self):
        for k in ("rate_k_ps", "t_low", "t_melt", "dt_fs"):
            v = getattr(self, k)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise AmorphError(f"{k} must be a positive number, got {v!r}"
                                  + (" (a cooling rate is a speed in K/ps: it cannot be negative)"
                                     if k == "rate_k_ps" else ""))
        for k in ("nvt_low_ps", "npt_low_ps", "melt_nvt_ps", "melt_ps", "final_ps"):
            if not getattr(self, k) >= 0:
                raise AmorphError(f"{k} must be >= 0 ps")
        if self.t_melt <= self.t_low:
            raise AmorphError("melt temperature must exceed the final temperature")
        return self

    def stages(self) -> list:
        """[(name, n_steps, T_start, T_end, npt)]"""
        n = lambda ps: int(round(ps * 1000.0 / self.dt_fs))  # noqa: E731
        st = [("nvt_low", n(self.nvt_low_ps), self.t_low, self.t_low, False),
              ("npt_low", n(self.npt_low_ps), self.t_low, self.t_low, True),
              ("melt_nvt", n(self.melt_nvt_ps), self.t_melt, self.t_melt, False),
              ("melt", n(self.melt_ps), self.t_melt, self.t_melt, True),
              ("quench", n((self.t_melt - self.t_low) / self.rate_k_ps), self.t_melt, self.t_low, True),
              ("final", n(self.final_ps), self.t_low, self.t_low, True)]
        return [s for s in st if s[1] > 0]

    def total_steps(self) -> int:
        return sum(s[1] for s in self.stages())


#: most atoms a melt-quench start is built with (random_start places atoms one by one)
MAX_MELT_QUENCH_ATOMS = 50_000


def check_melt_quench_size(system: str, n_atoms, density_g_cm3: float, pot=None) -> int:
    """n_atoms as an int, or AmorphError before any work: whole formula units, at most MAX_MELT_QUENCH_ATOMS,
    and a cubic box at density_g_cm3 at least twice the potential's cutoff wide."""
    from amorph_core.structures.starts import _mass_amu, _symbols, box_from_density
    from amorph_core.systems import get_system

    n = V.number(n_atoms, "number of atoms", lo=1, hi=MAX_MELT_QUENCH_ATOMS, integer=True)
    sysd = get_system(system)
    pot = pot or get_potential(sysd.name)
    L = box_from_density(_mass_amu(_symbols(sysd, n)), density_g_cm3)[0]
    if L < 2 * pot.cutoff:
        n_min = math.ceil(n * (2 * pot.cutoff / L) ** 3 / sysd.atoms_per_formula) * sysd.atoms_per_formula
        raise AmorphError(f"{n} atoms make a box {L:.1f} Å wide, under twice the cutoff of {pot.name} "
                          f"({2 * pot.cutoff:g} Å): use at least {n_min} atoms")
    return n


def melt_quench(system: str = "sio2", n_atoms: int = 3000, rate_k_ps: float = 100.0, seed: int = 0,
                engine: str = "auto", protocol: MeltQuench | None = None, density_g_cm3: float | None = None,
                out_dir=None, progress=None, cancel=None, resume: bool = True, report_every: int = 1000):
    """Melt-quench one glass with its system's recipe and potential (paper A.3 for SiO2). Returns ase.Atoms at t_low with info:
    cooling_rate_k_ps, seed, engine, potential, protocol (JSON), density_g_cm3. Writes out_dir/log.jsonl,
    checkpoints, and out_dir/final.extxyz at the end. Resumes from out_dir/checkpoint.* when resume is True."""
    from amorph_core.structures.density import density_g_cm3 as dens, positive_rate
    from amorph_core.systems import get_system

    r = positive_rate(rate_k_ps)
    sysd = get_system(system)
    seed = V.seed(seed)
    proto = protocol or MeltQuench.for_system(sysd, r)
    proto = MeltQuench(**{**asdict(proto), "rate_k_ps": r}).check()
    if proto.total_steps() > MAX_MD_STEPS:
        raise AmorphError(f"melt-quench at {r:g} K/ps needs {proto.total_steps():.3g} MD steps, more than "
                          f"{MAX_MD_STEPS:.0e} (1 µs): use a faster cooling rate")
    pot = build_potential(sysd)
    start_density = density_g_cm3 or sysd.melt_start_density_g_cm3 or sysd.default_density_g_cm3
    check_melt_quench_size(sysd.name, n_atoms, start_density, pot)
    eng = make_engine(pot, engine)
    start = random_start(sysd.name, n_atoms, start_density, seed)
    check_atoms(start, pot)
    out = Path(out_dir) if out_dir else None
    meta = {"system": sysd.name, "n_atoms": n_atoms, "seed": seed, "protocol": asdict(proto)}
    begin = (0, 0)
    if out:
        out.mkdir(parents=True, exist_ok=True)
    ck = out / "checkpoint.json" if out else None
    if resume and ck is not None and ck.exists() and (out / "checkpoint.bin").exists():
        cj = json.loads(ck.read_text())
        if {k: cj.get(k) for k in meta} != meta:
            raise AmorphError(f"{out} holds a checkpoint of a different run; use another directory")
        sim = eng.simulation(start, seed=seed, temperature_k=proto.t_low, dt_fs=proto.dt_fs)
        sim.restore((out / "checkpoint.bin").read_bytes())
        begin = (cj["stage"], cj["step"])
    else:
        if out and (out / "log.jsonl").exists():
            (out / "log.jsonl").unlink()
        relaxed, info = relax_start(eng, start)
        sim = eng.simulation(relaxed, seed=seed, temperature_k=proto.t_low if proto.nvt_low_ps else proto.t_melt,
                             dt_fs=proto.dt_fs)
    run_stages(sim, proto.stages(), out, progress, cancel, report_every, start=begin, meta=meta)
    glass = sim.atoms()
    V.finite_result({"positions": glass.positions, "cell": glass.cell.array}, "melt-quench")
    check_no_collapse(glass)
    d_end = dens(glass)
    d_ref = sysd.default_density_g_cm3
    if d_end < 0.8 * d_ref:
        import warnings
        from amorph_core.errors import AmorphWarning
        glass.info["cavitated"] = True
        warnings.warn(f"melt-quench seed {seed}: final density {d_end:.3f} g/cm3 is far below {d_ref} g/cm3: the "
                      "liquid cavitated (a void formed, typically during the zero-pressure melt); discard this "
                      "glass or run another seed", AmorphWarning)
    glass.info.update({"cooling_rate_k_ps": r, "seed": int(seed), "engine": f"{eng.name}-{eng.platform_name}",
                       "potential": pot.name, "protocol": json.dumps(asdict(proto)),
                       "density_g_cm3": round(d_end, 5), "system": sysd.name})
    if out:
        write_structure(glass, out / "final.extxyz", "extxyz")  # atomic: never half a file under the final name
    return glass
