"""MD protocols: melt-quench (paper A.3), refinement, elastic moduli, uniaxial tensile test.

Every long protocol takes progress(fraction, info) and cancel() callbacks, writes a JSON-lines log as it goes
into out_dir and can resume from the checkpoint it writes there. Units: K, ps, fs, K/ps, GPa, Å.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from amorph_core import validation as V
from amorph_core.errors import AmorphError
from amorph_core.fileio import atomic_write
from amorph_core.md.potentials import build_potential, check_atoms, get_potential, potential_for
from amorph_core.structures.io import write_structure


class Cancelled(AmorphError):
    """Raised when a protocol's cancel() callback returned True; partial results stay in out_dir."""


# ------------------------------------------------------------------------------------------------ engines
def cuda_present() -> bool:
    from amorph_core.md.engine_openmm import cuda_available
    return cuda_available()


def make_engine(pot, engine: str = "auto", precision: str = "mixed"):
    """Engine for potential pot: 'openmm' (CUDA if present, else CPU), 'openmm-cpu', 'lammps', or 'auto'
    (OpenMM on CUDA when a GPU is present, LAMMPS on the CPU otherwise)."""
    e = str(engine).lower()
    if e == "auto":
        e = "openmm" if cuda_present() else "lammps"
    if e in ("openmm", "openmm-cuda", "gpu"):
        from amorph_core.md.engine_openmm import OpenMMEngine
        if not cuda_present():
            raise AmorphError(f"MD engine '{engine}' runs OpenMM on a CUDA GPU and none is available here; use "
                              "'openmm-cpu' or 'lammps' (or 'auto')")
        return OpenMMEngine(pot, "CUDA", precision)
    if e in ("openmm-cpu",):
        from amorph_core.md.engine_openmm import OpenMMEngine
        return OpenMMEngine(pot, "CPU", precision)
    if e in ("openmm-reference",):
        from amorph_core.md.engine_openmm import OpenMMEngine
        return OpenMMEngine(pot, "Reference", precision)
    if e in ("lammps", "cpu"):
        from amorph_core.md.engine_lammps import LammpsEngine
        return LammpsEngine(pot)
    raise AmorphError(f"unknown MD engine '{engine}' (auto, openmm, openmm-cpu, lammps)")


def _cb(cancel):
    if cancel is None:
        return lambda: False
    if hasattr(cancel, "is_set"):
        return cancel.is_set
    return cancel


# ------------------------------------------------------------------------------------------------ starts
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


def _relax_start(eng, atoms, fmax=0.05):
    if eng.name == "openmm":
        out = fire_relax(eng, atoms, fmax=fmax)
    else:
        out = eng.minimize(atoms, fmax=fmax, max_iter=5000)
    check_no_collapse(out[0])
    return out


# ------------------------------------------------------------------------------------------------ protocols
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


def _fresh_output(out_dir, log_name: str):
    """out_dir as a Path (created) with its old log file removed, or None when no out_dir is given."""
    if not out_dir:
        return None
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / log_name).unlink(missing_ok=True)
    return out


def _write_log(path, rec):
    with open(path, "a") as fh:
        fh.write(json.dumps(rec) + "\n")


def run_stages(sim, stages, out_dir=None, progress=None, cancel=None, report_every: int = 1000,
               checkpoint_every: int = 50000, start=(0, 0), meta=None):
    """Drive sim through stages [(name, steps, T0, T1, npt)] in chunks; log thermo to out_dir/log.jsonl,
    checkpoint to out_dir/checkpoint.{bin,json}; returns the list of thermo records."""
    cancel = _cb(cancel)
    total = sum(s[1] for s in stages)
    done_before = sum(s[1] for s in stages[:start[0]]) + start[1]
    out = Path(out_dir) if out_dir else None
    recs = []
    t0 = time.time()
    done = done_before
    for si in range(start[0], len(stages)):
        name, n, ta, tb, npt = stages[si]
        k = start[1] if si == start[0] else 0
        while k < n:
            m = min(report_every, n - k)
            t_a = ta + (tb - ta) * k / n
            t_b = ta + (tb - ta) * (k + m) / n
            sim.advance(m, t_a, t_b, npt)
            k += m
            done += m
            rec = {"stage": name, **sim.thermo(), "T_target": t_b, "wall_s": time.time() - t0}
            recs.append(rec)
            if out:
                _write_log(out / "log.jsonl", rec)
            if progress:
                progress(done / total, rec)
            if out and checkpoint_every and (done // checkpoint_every) != ((done - m) // checkpoint_every):
                try:  # atomic: a kill mid-write leaves the previous checkpoint whole
                    atomic_write(out / "checkpoint.bin", sim.checkpoint())
                    atomic_write(out / "checkpoint.json", json.dumps({"stage": si, "step": k, **(meta or {})}))
                except AmorphError:
                    pass
            if cancel():
                raise Cancelled(f"cancelled at {done}/{total} steps (stage {name}); partial log in {out}")
    return recs


#: most MD steps one protocol call runs (1 µs at 1 fs): beyond that, the request is a mistake or months of work
MAX_MD_STEPS = 1_000_000_000
#: most atoms a melt-quench start is built with (random_start places atoms one by one)
MAX_MELT_QUENCH_ATOMS = 50_000
#: atoms closer than this (Å) make MD on an input structure meaningless (moduli, tensile: no minimisation with
#: capped steps first); refine minimises first and accepts pairs down to REFINE_MIN_DISTANCE_A
MD_MIN_DISTANCE_A = 0.9
REFINE_MIN_DISTANCE_A = 0.5


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
        relaxed, info = _relax_start(eng, start)
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


# ------------------------------------------------------------------------------------------------ refinement
# Named refinement protocols: (NVT ps, NPT ps) at 300 K after a minimisation. Measured effect on the shipped
# sio2-cond's 1 K/ps glasses: BENCHMARKS.md ("MD refinement of generated glasses").
REFINE_PRESETS = {"min": (0.0, 0.0), "short": (1.0, 0.0), "paper": (25.0, 25.0)}
REFINE_MAX_PS = 10_000.0
#: strain range (from zero) of the tensile test's Young's-modulus fit
YOUNG_FIT_STRAIN = 0.02


def parse_refine(text) -> tuple[float, float]:
    """A refinement protocol as (nvt_ps, npt_ps): a preset name ('min' = minimise only, 'short' = + 1 ps NVT,
    'paper' = + 25 ps NVT + 25 ps zero-pressure NPT) or 'NVT_PS' / 'NVT_PS,NPT_PS' in ps."""
    t = str(text).strip().lower()
    if t in REFINE_PRESETS:
        return REFINE_PRESETS[t]
    parts = [x.strip() for x in t.split(",")]
    try:
        vals = [float(x) for x in parts]
    except ValueError:
        vals = []
    if not 1 <= len(vals) <= 2 or len(vals) != len(parts):
        raise AmorphError(f"refinement must be {', '.join(REFINE_PRESETS)} or NVT_PS[,NPT_PS] in ps; got {text!r}")
    if not all(math.isfinite(v) and 0 <= v <= REFINE_MAX_PS for v in vals):
        raise AmorphError(f"refinement times must be between 0 and {REFINE_MAX_PS:g} ps; got {text!r}")
    return (vals[0], vals[1] if len(vals) == 2 else 0.0)


def check_refinable(atoms, engine: str = "auto") -> str:
    """Raise the AmorphError refine() would raise for this structure and engine (unknown elements, a box under
    twice the potential's cutoff, a missing engine), before any work; returns the engine's name."""
    pot = potential_for(atoms)
    check_atoms(atoms, pot)
    eng = make_engine(pot, engine)
    return f"{eng.name}-{eng.platform_name}"


def refine(atoms, engine: str = "auto", seed: int = 0, nvt_ps: float = 25.0, npt_ps: float = 25.0,
           temperature_k: float = 300.0, dt_fs: float = 1.0, out_dir=None, progress=None, cancel=None,
           report_every: int = 1000):
    """Post-generation refinement (paper 2.1): nvt_ps NVT then npt_ps zero-pressure NPT at temperature_k.
    Minimises first (generated structures can hold close pairs). Returns the refined ase.Atoms."""
    from amorph_core.structures.density import density_g_cm3 as dens
    from amorph_core.structures.io import plain_info
    pot = potential_for(atoms)
    check_atoms(atoms, pot)
    if not (math.isfinite(temperature_k) and temperature_k > 0):
        raise AmorphError(f"temperature must be positive, got {temperature_k}")
    seed = V.seed(seed)
    nvt_ps = V.number(nvt_ps, "NVT time", "ps", lo=0, hi=REFINE_MAX_PS)
    npt_ps = V.number(npt_ps, "NPT time", "ps", lo=0, hi=REFINE_MAX_PS)
    check_no_collapse(atoms, REFINE_MIN_DISTANCE_A)
    eng = make_engine(pot, engine)
    out = _fresh_output(out_dir, "log.jsonl")
    relaxed, _ = _relax_start(eng, atoms)
    sim = eng.simulation(relaxed, seed=seed, temperature_k=temperature_k, dt_fs=dt_fs)
    n = lambda ps: int(round(ps * 1000 / dt_fs))  # noqa: E731
    stages = [s for s in [("nvt", n(nvt_ps), temperature_k, temperature_k, False),
                          ("npt", n(npt_ps), temperature_k, temperature_k, True)] if s[1] > 0]
    run_stages(sim, stages, out, progress, cancel, report_every)
    g = sim.atoms()
    V.finite_result({"positions": g.positions, "cell": g.cell.array}, "refinement")
    g.arrays.pop("momenta", None)
    g.info.update(plain_info(atoms))  # the generation record (seed, model, schedule...) as plain Python values
    g.info.update({"refined": f"{nvt_ps} ps NVT + {npt_ps} ps NPT at {temperature_k} K", "refine_seed": int(seed),
                   "engine": f"{eng.name}-{eng.platform_name}", "density_g_cm3": round(dens(g), 5)})
    if out:
        write_structure(g, out / "refined.extxyz", "extxyz")  # atomic
    return g


def refine_files(paths, protocol, engine: str = "auto", cancel=None, out_dir=None, seed: int | None = None) -> list:
    """Refine generated extxyz files with protocol (see parse_refine) into NAME_refined.extxyz beside each (or,
    with out_dir, into out_dir/NAME.extxyz); the generated files stay. seed: the MD velocities' seed (default:
    each structure's generation seed). Returns one dict per path: path, refined (the new file or None), error
    (or None), wall_s, engine. A structure the MD refuses is reported in its dict, not raised."""
    from amorph_core.structures import read_structure, write_structure

    nvt, npt = parse_refine(protocol)
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    rows = []
    for path in map(Path, paths):
        if cancel is not None and cancel():
            break
        t = time.perf_counter()
        row = {"path": str(path), "refined": None, "error": None, "engine": None}
        try:
            atoms = read_structure(path)
            md_seed = int(atoms.info.get("seed", 0)) if seed is None else int(seed)
            g = refine(atoms, engine=engine, seed=md_seed, nvt_ps=nvt, npt_ps=npt)
            dest = Path(out_dir) / path.name if out_dir is not None else path.with_name(path.stem + "_refined.extxyz")
            row["refined"] = str(write_structure(g, dest))
            row["engine"] = g.info["engine"]
        except AmorphError as exc:
            row["error"] = str(exc)
        row["wall_s"] = round(time.perf_counter() - t, 2)
        rows.append(row)
    return rows


# ------------------------------------------------------------------------------------------------ elasticity
VOIGT = [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]


def _deform(atoms, k, e):
    """Apply Voigt strain component k of size e (shear = engineering strain) as r -> (I + e_k) r."""
    F = np.eye(3)
    i, j = VOIGT[k]
    F[i, j] += e
    a = atoms.copy()
    a.set_cell(np.asarray(atoms.get_cell()) @ F.T, scale_atoms=True)
    return a


def moduli_from_stiffness(C) -> dict:
    """Isotropic moduli (GPa) from a 6x6 stiffness tensor (GPa): Voigt, Reuss and Hill (reported) averages."""
    C = np.asarray(C, float)
    Kv = (C[0, 0] + C[1, 1] + C[2, 2] + 2 * (C[0, 1] + C[0, 2] + C[1, 2])) / 9
    Gv = (C[0, 0] + C[1, 1] + C[2, 2] - (C[0, 1] + C[0, 2] + C[1, 2]) + 3 * (C[3, 3] + C[4, 4] + C[5, 5])) / 15
    try:
        S = np.linalg.inv(C)
        Kr = 1 / (S[0, 0] + S[1, 1] + S[2, 2] + 2 * (S[0, 1] + S[0, 2] + S[1, 2]))
        Gr = 15 / (4 * (S[0, 0] + S[1, 1] + S[2, 2]) - 4 * (S[0, 1] + S[0, 2] + S[1, 2])
                   + 3 * (S[3, 3] + S[4, 4] + S[5, 5]))
    except np.linalg.LinAlgError:
        Kr = Gr = float("nan")
    K, G = (Kv + Kr) / 2, (Gv + Gr) / 2
    E = 9 * K * G / (3 * K + G)
    nu = (3 * K - 2 * G) / (2 * (3 * K + G))
    return {"K_GPa": float(K), "G_GPa": float(G), "E_GPa": float(E), "poisson": float(nu),
            "K_voigt_GPa": float(Kv), "G_voigt_GPa": float(Gv), "K_reuss_GPa": float(Kr), "G_reuss_GPa": float(Gr)}


def elastic_moduli(atoms, engine: str = "auto", strain: float = 1e-3, fmax: float = 1e-4, max_iter: int = 20000,
                   progress=None, cancel=None) -> dict:
    """Stiffness tensor C_ij = (1/V) d^2U/de_i de_j (paper A.3) with relaxed internal coordinates, and K, G, E
    (GPa, Hill averages) and Poisson's ratio.

    The structure is relaxed at fixed cell, then each of the 6 strains (3 axial, 3 shear) is applied at +-strain
    and the atoms relaxed again; C_ij is the central difference of the stress sigma_i = (1/V) dU/de_i (the energy's
    first strain derivative) with respect to e_j, symmetrised; the diagonal is also taken directly from the energy
    curvature (U(+e) + U(-e) - 2U(0)) / (V e^2) as a check ('C_diag_energy_GPa'). Every relaxation reports its
    residual force: 'fmax_residual_ev_a' is the largest. Returns a dict with C_GPa (6x6), moduli, residuals.
    """
    from amorph_core.md.engine_openmm import EV_A3_TO_GPA
    pot = potential_for(atoms)
    check_atoms(atoms, pot)
    strain = V.number(strain, "strain", lo=0, hi=0.05, lo_open=True, hi_open=True)
    fmax = V.number(fmax, "force tolerance fmax", "eV/Å", lo=1e-6, hi=1.0)
    max_iter = V.number(max_iter, "max_iter", lo=1, hi=10_000_000, integer=True)
    check_no_collapse(atoms, MD_MIN_DISTANCE_A)
    cancel = _cb(cancel)
    eng = make_engine(pot, engine, precision="double")
    t0 = time.time()
    base, info0 = eng.minimize(atoms, fmax=fmax, max_iter=max_iter, precision="double")
    vol = base.get_volume()
    s0 = eng.stress(base)
    e0 = info0["energy_ev"]
    residuals = [info0["fmax_ev_a"]]
    C = np.zeros((6, 6))
    Cdiag_e = np.zeros(6)
    n_done = 0
    for k in range(6):
        sig, en = [], []
        for sgn in (+1, -1):
            if cancel():
                raise Cancelled(f"elastic moduli cancelled after {n_done} of 12 deformations")
            d, inf = eng.minimize(_deform(base, k, sgn * strain), fmax=fmax, max_iter=max_iter, precision="double")
            residuals.append(inf["fmax_ev_a"])
            sig.append(eng.stress(d))
            en.append(inf["energy_ev"])
            n_done += 1
            if progress:
                progress(n_done / 12, {"deformation": k, "sign": sgn, "fmax_ev_a": inf["fmax_ev_a"]})
        C[:, k] = (sig[0] - sig[1]) / (2 * strain) * EV_A3_TO_GPA
        Cdiag_e[k] = (en[0] + en[1] - 2 * e0) / (vol * strain**2) * EV_A3_TO_GPA
    Cs = 0.5 * (C + C.T)
    out = moduli_from_stiffness(Cs)
    out.update({"C_GPa": Cs.round(3).tolist(), "C_diag_energy_GPa": Cdiag_e.round(3).tolist(),
                "asymmetry_GPa": float(np.abs(C - C.T).max()), "stress0_GPa": (s0 * EV_A3_TO_GPA).round(4).tolist(),
                "fmax_residual_ev_a": float(max(residuals)), "strain": strain, "volume_a3": float(vol),
                "engine": f"{eng.name}-{eng.platform_name}", "potential": pot.name, "wall_s": time.time() - t0})
    return V.finite_result(out, "elastic moduli")


def elastic_moduli_md(atoms, engine: str = "auto", temperature_k: float = 300.0, strain: float = 0.005,
                      equil_ps: float = 2.0, average_ps: float = 8.0, sample_every: int = 10, seed: int = 0,
                      components=(0, 1, 2, 3, 4, 5), progress=None, cancel=None) -> dict:
    """Finite-temperature stiffness tensor: for each Voigt strain component k (+-strain, engineering shear) an NVT
    run at temperature_k in the strained cell (equil_ps, then the total stress, kinetic part included, averaged over
    average_ps, sampled every sample_every steps); C[:, k] = d<sigma>/de_k by central difference, symmetrised.
    The cell is the given one (for the reference glasses: their 300 K NPT volume). Returns the dict of
    elastic_moduli (Hill K, G, E, nu, C_GPa) plus C_sem_GPa, the standard error of C from 10 blocks per run.
    components: the strains to apply (all six for the full tensor)."""
    pot = potential_for(atoms)
    check_atoms(atoms, pot)
    if not (math.isfinite(strain) and 0 < strain < 0.05):
        raise AmorphError(f"strain must be in (0, 0.05), got {strain}")
    cancel = _cb(cancel)
    eng = make_engine(pot, engine)
    t0 = time.time()
    a0 = atoms.copy()
    a0.arrays.pop("momenta", None)
    n_eq = max(1, int(round(equil_ps * 1000)))
    n_samp = max(10, int(round(average_ps * 1000 / sample_every)))
    C = np.full((6, 6), np.nan)
    Csem = np.full((6, 6), np.nan)
    runs = []
    n_done, n_all = 0, 2 * len(components)
    for k in components:
        means, sems = [], []
        for sgn in (+1, -1):
            if cancel():
                raise Cancelled(f"finite-temperature moduli cancelled after {n_done} of {n_all} runs")
            sim = eng.simulation(_deform(a0, k, sgn * strain), seed=seed + 17 * n_done, temperature_k=temperature_k,
                                 barostat="none")
            sim.advance(n_eq, temperature_k, temperature_k, False)
            s, temps = [], []
            for _ in range(n_samp):
                sim.advance(sample_every, temperature_k, temperature_k, False)
                th = sim.thermo(stress=True)
                s.append(th["stress_gpa"])
                temps.append(th["T_K"])
            s = np.array(s)
            blocks = np.array([b.mean(0) for b in np.array_split(s, 10)])
            means.append(s.mean(0))
            sems.append(blocks.std(0, ddof=1) / math.sqrt(len(blocks)))
            runs.append({"component": k, "sign": sgn, "stress_mean_gpa": s.mean(0).round(5).tolist(),
                         "T_mean_K": float(np.mean(temps))})
            n_done += 1
            if progress:
                progress(n_done / n_all, {"component": k, "sign": sgn})
        C[:, k] = (means[0] - means[1]) / (2 * strain)
        Csem[:, k] = np.hypot(sems[0], sems[1]) / (2 * strain)
    if len(components) == 6:
        Cs = 0.5 * (C + C.T)
        out = moduli_from_stiffness(Cs)
        asym = float(np.abs(C - C.T).max())
    else:
        Cs, out, asym = C, {}, float("nan")
    out.update({"C_GPa": np.round(Cs, 3).tolist(), "C_sem_GPa": np.round(Csem, 3).tolist(), "asymmetry_GPa": asym,
                "temperature_k": temperature_k, "strain": strain, "equil_ps": equil_ps, "average_ps": average_ps,
                "runs": runs, "volume_a3": float(atoms.get_volume()), "engine": f"{eng.name}-{eng.platform_name}",
                "potential": pot.name, "wall_s": time.time() - t0})
    return out


# ------------------------------------------------------------------------------------------------ tensile
#: strain rates (1/s) a tensile test accepts: above 1e11 1/s a glass cannot follow the strain (no material
#: response), below 1e7 1/s the run exceeds MAX_MD_STEPS at the default max strain
TENSILE_RATE_RANGE = (1e7, 1e11)
TENSILE_MAX_STRAIN = 2.0


def tensile_test(atoms, engine: str = "auto", strain_rate_per_s: float = 1e9, max_strain: float = 0.5,
                 temperature_k: float = 300.0, seed: int = 0, dt_fs: float = 1.0, equil_ps: float = 5.0,
                 deform_every: int = 100, sample_every: int = 1000, out_dir=None, progress=None, cancel=None) -> dict:
    """Uniaxial tension along z at a constant engineering strain rate (1/s), x and y under zero pressure
    (barostat on x, y only), Langevin (OpenMM) or Nose-Hoover (LAMMPS) at temperature_k (paper A.3).

    True stress = the zz component of the full (virial + kinetic) stress tensor, tensile positive, GPa. With
    OpenMM the virial part is the finite-difference strain derivative of the energy (OpenMM has no stress tensor).
    Returns {strain, stress_gpa, lateral_stress_gpa, peak_stress_gpa, strain_at_peak, final_stress_gpa, ...};
    writes out_dir/stress_strain.jsonl as it goes."""
    pot = potential_for(atoms)
    check_atoms(atoms, pot)
    for name, v in (("strain rate", strain_rate_per_s), ("max strain", max_strain), ("temperature", temperature_k)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise AmorphError(f"{name} must be a positive number, got {v!r}")
    V.number(strain_rate_per_s, "strain rate", "1/s", lo=TENSILE_RATE_RANGE[0], hi=TENSILE_RATE_RANGE[1])
    V.number(max_strain, "max strain", lo=0, lo_open=True, hi=TENSILE_MAX_STRAIN)
    seed = V.seed(seed)
    n_deform = max_strain / (strain_rate_per_s * dt_fs * 1e-15)
    if round(n_deform) < 1:
        raise AmorphError(f"max strain {max_strain:g} is reached in under one {dt_fs:g} fs step at {strain_rate_per_s:g} "
                          "1/s: use a larger max strain or a slower rate")
    n_steps = n_deform + equil_ps * 1000 / dt_fs
    if n_steps > MAX_MD_STEPS:
        raise AmorphError(f"a tensile test to strain {max_strain:g} at {strain_rate_per_s:g} 1/s needs {n_steps:.3g} "
                          f"MD steps, more than {MAX_MD_STEPS:.0e}: use a faster rate or a smaller max strain")
    check_no_collapse(atoms, MD_MIN_DISTANCE_A)
    cancel = _cb(cancel)
    eng = make_engine(pot, engine)
    out = _fresh_output(out_dir, "stress_strain.jsonl")
    sim = eng.simulation(atoms, seed=seed, temperature_k=temperature_k, dt_fs=dt_fs, barostat="xy")
    if equil_ps > 0:
        sim.advance(int(equil_ps * 1000 / dt_fs), temperature_k, temperature_k, True)
    cell0 = sim.cell()
    lz0 = cell0[2, 2]
    de_step = strain_rate_per_s * dt_fs * 1e-15
    n_total = int(round(max_strain / de_step))
    res = {"strain": [], "stress_gpa": [], "lateral_stress_gpa": [], "T_K": []}
    t0 = time.time()
    step = 0
    while step < n_total:
        m = min(deform_every, n_total - step)
        sim.advance(m, temperature_k, temperature_k, True)
        step += m
        c = sim.cell()
        c[2, 2] = lz0 * (1 + step * de_step)
        sim.set_cell_affine(c)
        if step % sample_every == 0 or step == n_total:
            th = sim.thermo(stress=True)
            s = th["stress_gpa"]
            eps = step * de_step
            rec = {"strain": eps, "stress_gpa": s[2], "lateral_stress_gpa": 0.5 * (s[0] + s[1]), "T_K": th["T_K"],
                   "wall_s": time.time() - t0}
            for k in res:
                res[k].append(rec[k])
            if out:
                _write_log(out / "stress_strain.jsonl", rec)
            if progress:
                progress(step / n_total, rec)
            if cancel():
                raise Cancelled(f"tensile test cancelled at strain {eps:.3f}; curve so far in {out}")
    sv = np.array(res["stress_gpa"])
    ip = int(np.argmax(sv))
    res.update({"peak_stress_gpa": float(sv[ip]), "strain_at_peak": res["strain"][ip],
                "final_stress_gpa": float(sv[-1]), "strain_rate_per_s": strain_rate_per_s,
                "engine": f"{eng.name}-{eng.platform_name}", "potential": pot.name, "wall_s": time.time() - t0,
                "n_atoms": len(atoms)})
    k = max(3, int(YOUNG_FIT_STRAIN / (sample_every * de_step)))  # samples within the first 2 % strain
    x, y = np.array(res["strain"][:k]), sv[:k]
    if len(x) >= 2:
        res["young_fit_gpa"] = float(np.polyfit(x, y, 1)[0])
    else:  # one stress sample has no slope: reported as null with the reason, never NaN
        res["young_fit_gpa"] = None
        res["young_fit_note"] = (f"{len(x)} stress sample(s) up to strain {max_strain:g}: a fit needs 2; use a larger "
                                 "max strain")
    return V.finite_result(res, "tensile test")


# ------------------------------------------------------------------------------------------------ NVE
def nve_drift(atoms, engine: str = "auto", temperature_k: float = 300.0, ps: float = 10.0, dt_fs: float = 1.0,
              seed: int = 0, equil_ps: float = 2.0, report_every: int = 100) -> dict:
    """Energy conservation: equilibrate equil_ps with the thermostat, then run ps of NVE (velocity Verlet) and
    fit the total energy linearly: drift in eV/atom/ns (and the RMS fluctuation in eV/atom)."""
    pot = potential_for(atoms)
    eng = make_engine(pot, engine)
    sim = eng.simulation(atoms, seed=seed, temperature_k=temperature_k, dt_fs=dt_fs, barostat="none")
    sim.advance(int(equil_ps * 1000 / dt_fs), temperature_k, temperature_k, False)
    a = sim.atoms()
    nve = eng.simulation(a, seed=seed, temperature_k=temperature_k, dt_fs=dt_fs, barostat="none", integrator="verlet")
    t, e, temp = [], [], []
    n = int(ps * 1000 / dt_fs)
    for k in range(0, n + 1, report_every):
        if k:
            nve.advance(report_every, temperature_k, temperature_k, False)
        th = nve.thermo()
        t.append(th["time_ps"])
        e.append(th["pe_ev"] + th["ke_ev"])
        temp.append(th["T_K"])
    t, e = np.array(t), np.array(e) / len(atoms)
    slope = np.polyfit(t, e, 1)[0] * 1000.0
    return {"drift_ev_atom_ns": float(slope), "rms_ev_atom": float(np.std(e - np.polyval(np.polyfit(t, e, 1), t))),
            "T_mean_K": float(np.mean(temp)), "ps": ps, "dt_fs": dt_fs, "n_atoms": len(atoms),
            "engine": f"{eng.name}-{eng.platform_name}"}
