"""OpenMM engine (GPU through the CUDA platform when present; CPU/Reference otherwise).

BJP + DSF is one CustomNonbondedForce; the EAM/FS is a CustomGBForce (density as a computed value, embedding as a
single-particle energy) plus a CustomNonbondedForce for the pair term; tables are natural cubic splines.
OpenMM reports no stress tensor: the static (virial) stress is the strain derivative of the energy under affine
deformation, taken by central differences (``stress``), and the kinetic part is added from the velocities.
Units at this interface: eV, Å, ps, K, bar; OpenMM's own are kJ/mol, nm, ps.
"""
from __future__ import annotations

import math

import numpy as np

from amorph_core.errors import AmorphError
from amorph_core.md.cell import reduced_cell
from amorph_core.md.potentials import COULOMB_EV_A, BJPPotential, EAMFSPotential, check_atoms
from amorph_core.md.relax import absurd_energy_or_force, check_no_collapse, fire_relax

EV = 96.48533212  # kJ/mol per eV
KB_EV = 8.617333262e-5  # eV/K
EV_A3_TO_GPA = 160.21766208
BAR_TO_EV_A3 = 1e-4 / EV_A3_TO_GPA


def _mm():
    try:
        import openmm
    except Exception as exc:  # noqa: BLE001
        raise AmorphError(f"OpenMM is not installed ({exc}); pip install openmm (and openmm-cuda-13 for GPUs)") from None
    return openmm


def available_platforms() -> list:
    mm = _mm()
    return [mm.Platform.getPlatform(i).getName() for i in range(mm.Platform.getNumPlatforms())]


def cuda_available() -> bool:
    try:
        return "CUDA" in available_platforms()
    except AmorphError:
        return False


def _collapsed(atoms, info, n_atoms) -> bool:
    """A minimisation result that fell into a short-range collapse: absurd energy or residual force (> 1e3 eV/Å;
    relax.absurd_energy_or_force) or two atoms closer than 0.9 Å."""
    if absurd_energy_or_force(info["energy_ev"], info["fmax_ev_a"], n_atoms):
        return True
    try:
        check_no_collapse(atoms)
    except AmorphError:
        return True
    return False


def _masses(atoms, pot):
    if isinstance(pot, EAMFSPotential):
        return np.array([pot.masses[s] for s in atoms.get_chemical_symbols()])
    return atoms.get_masses()


def build_forces(pot, symbols):
    """OpenMM Force objects for potential pot and the given symbols (order = particle order)."""
    mm = _mm()
    forces = []
    if isinstance(pot, BJPPotential):
        els = list(pot.elements)
        n = len(els)
        tab = {k: [0.0] * (n * n) for k in ("A", "rho", "sig", "C", "D", "sh")}
        for i, a in enumerate(els):
            for j, b in enumerate(els):
                A, rho, sig, C, D = pot.pair_params(a, b)
                idx = i + n * j
                tab["A"][idx] = A * EV
                tab["rho"][idx] = rho * 0.1
                tab["sig"][idx] = sig * 0.1
                tab["C"][idx] = C * EV * 1e-6
                tab["D"][idx] = D * EV * 1e-8
                tab["sh"][idx] = pot.born_shift(a, b) * EV
        k = COULOMB_EV_A * EV * 0.1  # kJ/mol nm
        al, rc = pot.alpha * 10.0, pot.cutoff * 0.1
        erfc_rc = math.erfc(al * rc)
        c0 = erfc_rc / rc
        c1 = erfc_rc / rc**2 + 2 * al / math.sqrt(math.pi) * math.exp(-al * al * rc * rc) / rc
        expr = (f"tA(t1,t2)*exp((tsig(t1,t2)-r)/trho(t1,t2)) - tC(t1,t2)/r^6 + tD(t1,t2)/r^8 - tsh(t1,t2)"
                f" + {k!r}*q1*q2*(erfc({al!r}*r)/r - {c0!r} + (r-{rc!r})*{c1!r})")
        f = mm.CustomNonbondedForce(expr)
        for key, name in (("A", "tA"), ("rho", "trho"), ("sig", "tsig"), ("C", "tC"), ("D", "tD"), ("sh", "tsh")):
            f.addTabulatedFunction(name, mm.Discrete2DFunction(n, n, tab[key]))
        f.addPerParticleParameter("t")
        f.addPerParticleParameter("q")
        for s in symbols:
            f.addParticle([float(els.index(s)), pot.charges[s]])
        f.setNonbondedMethod(mm.CustomNonbondedForce.CutoffPeriodic)
        f.setCutoffDistance(rc)
        f.setUseSwitchingFunction(False)
        f.setUseLongRangeCorrection(False)
        forces.append(f)
    elif isinstance(pot, EAMFSPotential):
        els = list(pot.elements)
        if len(els) != 2:
            raise AmorphError("the OpenMM EAM force supports two-element EAM/FS files only")
        r = pot.r_grid
        k0 = max(1, int(round(0.5 / pot.dr)))  # tables start at 0.5 Å (functions are zero outside the range)
        rmin, rmax = r[k0] * 0.1, r[-1] * 0.1
        cut = min(pot.cutoff, r[-1]) * 0.1
        a, b = els

        def rfun(vals):
            return mm.Continuous1DFunction(list(map(float, vals[k0:])), rmin, rmax)

        gb = mm.CustomGBForce()
        gb.addPerParticleParameter("t")
        for (src, dst), tabv in pot.density.items():
            gb.addTabulatedFunction(f"d{els.index(src)}{els.index(dst)}", rfun(tabv))
        rho = pot.rho_grid
        for el in els:
            gb.addTabulatedFunction(f"F{els.index(el)}", mm.Continuous1DFunction(
                list(map(float, pot.embed[el] * EV)), float(rho[0]), float(rho[-1])))
        # value at particle1 (dst) from particle2 (src): d{src}{dst}
        gb.addComputedValue("rho", "(1-t1)*((1-t2)*d00(r) + t2*d10(r)) + t1*((1-t2)*d01(r) + t2*d11(r))",
                            mm.CustomGBForce.ParticlePairNoExclusions)
        gb.addEnergyTerm("(1-t)*F0(rho) + t*F1(rho)", mm.CustomGBForce.SingleParticle)
        pair = mm.CustomNonbondedForce("(1-t1)*(1-t2)*p00(r) + ((1-t1)*t2 + t1*(1-t2))*p01(r) + t1*t2*p11(r)")
        pair.addPerParticleParameter("t")
        rr = np.where(r > 0, r, 1.0)
        for (x, y), tabv in pot.rphi.items():
            i, j = sorted((els.index(x), els.index(y)))
            pair.addTabulatedFunction(f"p{i}{j}", rfun(tabv / rr * EV))
        for s in symbols:
            t = float(els.index(s))
            gb.addParticle([t])
            pair.addParticle([t])
        for fo in (gb, pair):
            fo.setNonbondedMethod(fo.CutoffPeriodic)
            fo.setCutoffDistance(cut)
        pair.setUseSwitchingFunction(False)
        pair.setUseLongRangeCorrection(False)
        forces += [gb, pair]
    else:
        raise AmorphError(f"OpenMM has no force for potential {pot.name} ({pot.kind}): use the LAMMPS engine")
    return forces


def constant_energy(pot, symbols) -> float:
    """Configuration-independent energy (eV) added to OpenMM's: the DSF self term for BJP, 0 for EAM."""
    if isinstance(pot, BJPPotential):
        return pot.dsf_self_energy(symbols)
    return 0.0


class OpenMMEngine:
    """Energy, forces, static stress, minimisation and MD with OpenMM.

    platform: 'CUDA', 'CPU', 'Reference' or None (CUDA when present, else CPU). precision: 'mixed' for MD,
    'double' for minimisation/moduli (CUDA only; CPU/Reference ignore it).
    """

    name = "openmm"

    def __init__(self, pot, platform: str | None = None, precision: str = "mixed"):
        mm = _mm()
        names = available_platforms()
        if platform is None:
            platform = "CUDA" if "CUDA" in names else "CPU"
        if platform not in names:
            raise AmorphError(f"OpenMM platform {platform} not available (have {', '.join(names)})")
        self.pot = pot
        self.platform_name = platform
        self.precision = precision
        self._mm = mm
        self._key = None
        self._ctx = None

    # --- context management -------------------------------------------------------------------------
    def _properties(self, precision=None):
        p = precision or self.precision
        if self.platform_name == "CUDA":
            return {"Precision": p}
        if self.platform_name == "CPU":
            return {"Threads": "2"} if False else {}
        return {}

    def make_context(self, atoms, integrator=None, barostat=None, precision=None, triclinic=False):
        """A fresh OpenMM Context for atoms (positions in the reduced cell); returns (context, rotation)."""
        mm = self._mm
        check_atoms(atoms, self.pot)
        cell, R = reduced_cell(atoms)
        system = mm.System()
        for m in _masses(atoms, self.pot):
            system.addParticle(float(m))
        for f in build_forces(self.pot, atoms.get_chemical_symbols()):
            system.addForce(f)
        if barostat is not None:
            system.addForce(barostat)
        # a (tiny) tilt in the default box makes OpenMM use its triclinic code path, so that sheared cells can be
        # set later (finite-difference stress, moduli); CUDA refuses a rectangular -> triclinic change otherwise
        dflt = cell * 0.1
        if triclinic and abs(dflt[1, 0]) < 1e-9:
            dflt = dflt.copy()
            dflt[1, 0] = 1e-6
        system.setDefaultPeriodicBoxVectors(*[mm.Vec3(*row) for row in dflt])
        integ = integrator or mm.VerletIntegrator(0.001)
        plat = mm.Platform.getPlatformByName(self.platform_name)
        ctx = mm.Context(system, integ, plat, self._properties(precision))
        ctx.setPeriodicBoxVectors(*[mm.Vec3(*(row * 0.1)) for row in cell])
        ctx.setPositions((atoms.get_positions() @ R.T) * 0.1)
        return ctx, R

    def _static_ctx(self, atoms, precision=None):
        key = (len(atoms), tuple(atoms.get_chemical_symbols()), precision or self.precision)
        if self._key != key:
            self._ctx, _ = self.make_context(atoms, precision=precision, triclinic=True)
            self._key = key
        check_atoms(atoms, self.pot)
        cell, R = reduced_cell(atoms)
        mm = self._mm
        self._ctx.setPeriodicBoxVectors(*[mm.Vec3(*(row * 0.1)) for row in cell])
        self._ctx.setPositions((atoms.get_positions() @ R.T) * 0.1)
        return self._ctx, R, cell

    # --- static properties --------------------------------------------------------------------------
    def energy_forces(self, atoms):
        """Potential energy (eV, including the constant DSF self term) and forces (eV/Å, n x 3)."""
        ctx, R, _ = self._static_ctx(atoms)
        st = ctx.getState(getEnergy=True, getForces=True)
        e = st.getPotentialEnergy()._value / EV + constant_energy(self.pot, atoms.get_chemical_symbols())
        f = np.asarray(st.getForces(asNumpy=True)._value) / EV / 10.0
        return float(e), f @ R

    def energy(self, atoms) -> float:
        return self.energy_forces(atoms)[0]

    def _energy_at(self, ctx, pos_nm, cell_nm):
        mm = self._mm
        ctx.setPeriodicBoxVectors(*[mm.Vec3(*row) for row in cell_nm])
        ctx.setPositions(pos_nm)
        return ctx.getState(getEnergy=True).getPotentialEnergy()._value / EV

    def fd_step(self) -> float:
        """Strain step for finite-difference stress: 1e-5 in double precision, 5e-4 on the (single) CPU platform."""
        return 5e-4 if self.platform_name == "CPU" else 1e-5

    def stress(self, atoms, h: float | None = None):
        """Static (virial) stress, Voigt order xx yy zz yz xz xy, eV/Å^3, positive = tensile (ASE sign)."""
        ctx, R, cell = self._static_ctx(atoms, precision="double" if self.platform_name == "CUDA" else None)
        pos = ctx.getState(getPositions=True).getPositions(asNumpy=True)._value
        return _fd_stress(lambda p, c: self._energy_at(ctx, p, c), np.asarray(pos), cell * 0.1, h or self.fd_step(), R)

    # --- minimisation -------------------------------------------------------------------------------
    def minimize(self, atoms, fmax: float = 1e-4, max_iter: int = 20000, precision: str = "double"):
        """Relax positions at fixed cell (L-BFGS) until the largest force is below fmax (eV/Å) or max_iter.

        Returns (relaxed atoms, info) with info: energy_ev, fmax_ev_a (residual), iterations (rounds), and
        'fire_restart' True when L-BFGS threw atoms into the BJP r^-6 collapse and the relaxation was redone
        from the input with step-capped FIRE first ('fire_only' True when L-BFGS collapsed again and FIRE
        finished the job). AmorphError if the result is still collapsed.
        """
        try:
            out, info = self._lbfgs(atoms, fmax, max_iter, precision)
            if not _collapsed(out, info, len(atoms)):
                return out, info
        except self._mm.OpenMMException:  # "Particle coordinate is NaN": the same collapse, caught by OpenMM
            pass
        # Seen on CUDA (double precision, a 3,000-atom glass compressed by 1e-3): an L-BFGS line search jumped an
        # Si-O pair over the Born-Mayer barrier (energy -4e12 eV). Redo from the input: FIRE with every atom's
        # step capped at 0.1 Å, then L-BFGS from there.
        pre, pinfo = fire_relax(self, atoms, fmax=max(fmax, 1e-2), max_steps=20000)
        if not _collapsed(pre, pinfo, len(atoms)):
            try:
                out, info = self._lbfgs(pre, fmax, max_iter, precision)
                info["fire_restart"] = True
                if not _collapsed(out, info, len(atoms)):
                    return out, info
            except self._mm.OpenMMException:
                pass
            # Seen on CUDA (H100, a 1e-3-strained reference glass): L-BFGS collapsed again from the FIRE-relaxed
            # structure. Finish with step-capped FIRE alone (slower, never jumps a barrier).
            out, info = fire_relax(self, pre, fmax=fmax, max_steps=max(max_iter, 20000))
            info.update(fire_restart=True, fire_only=True)
            if not _collapsed(out, info, len(atoms)):
                return out, info
            pinfo = info
        detail = f"energy {pinfo['energy_ev']:.3g} eV, max force {pinfo['fmax_ev_a']:.3g} eV/Å"
        raise AmorphError(f"energy minimisation collapsed (atoms fell into the potential's short-range r^-6 hole: "
                          f"{detail}) even after a step-capped FIRE restart; does the structure have overlapping "
                          "atoms?")

    def _lbfgs(self, atoms, fmax, max_iter, precision):
        mm = self._mm
        ctx, R, cell = self._static_ctx(atoms, precision=precision)
        tol = fmax * EV * 10.0 / 3.0  # OpenMM tolerance is an RMS force component in kJ/mol/nm
        rounds = 0
        for rounds in range(1, 6):
            mm.LocalEnergyMinimizer.minimize(ctx, tol, max_iter)
            st = ctx.getState(getForces=True, getEnergy=True, getPositions=True)
            f = np.asarray(st.getForces(asNumpy=True)._value) / EV / 10.0
            fm = float(np.max(np.linalg.norm(f, axis=1)))
            if fm <= fmax:
                break
            tol /= 4
        out = atoms.copy()
        pos = np.asarray(st.getPositions(asNumpy=True)._value) * 10.0
        out.set_positions(pos @ R)
        e = st.getPotentialEnergy()._value / EV + constant_energy(self.pot, atoms.get_chemical_symbols())
        return out, {"energy_ev": float(e), "fmax_ev_a": fm, "rounds": rounds}

    # --- dynamics -----------------------------------------------------------------------------------
    def simulation(self, atoms, seed: int = 0, temperature_k: float = 300.0, dt_fs: float = 1.0,
                   friction_ps: float = 1.0, barostat: str = "iso", integrator: str = "langevin"):
        return OpenMMSimulation(self, atoms, seed, temperature_k, dt_fs, friction_ps, barostat, integrator)


def _fd_stress(energy_at, pos, cell, h, R=None, length_to_a=10.0):
    """Central-difference strain derivative of the energy: sigma_k = (1/V) dU/de_k (Voigt, eV/Å^3).

    pos, cell in the units energy_at expects (row vectors); e_k applied as r -> (I + e_k) r with upper-triangular
    e_k so the cell stays in reduced form (shear: engineering strain).
    """
    vol = abs(np.linalg.det(cell)) * length_to_a**3  # Å^3
    sig = np.zeros(6)
    for k, (i, j) in enumerate([(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]):
        es = []
        for s in (+h, -h):
            F = np.eye(3)
            F[i, j] += s
            es.append(energy_at(pos @ F.T, cell @ F.T))
        sig[k] = (es[0] - es[1]) / (2 * h) / vol
    if R is not None and not np.allclose(R, np.eye(3)):
        from ase.stress import full_3x3_to_voigt_6_stress, voigt_6_to_full_3x3_stress
        s3 = voigt_6_to_full_3x3_stress(sig)
        sig = full_3x3_to_voigt_6_stress(R.T @ s3 @ R)
    return sig


class OpenMMSimulation:
    """A running MD state: Langevin (or Verlet for NVE), optional Monte Carlo barostat (iso or xy-only)."""

    def __init__(self, engine, atoms, seed, temperature_k, dt_fs, friction_ps, barostat, integrator):
        mm = engine._mm
        self.engine, self.symbols = engine, atoms.get_chemical_symbols()
        self.mm = mm
        if integrator == "verlet":
            integ = mm.VerletIntegrator(dt_fs * 1e-3)
        else:
            integ = mm.LangevinMiddleIntegrator(temperature_k, friction_ps, dt_fs * 1e-3)
            integ.setRandomNumberSeed(int(seed) % (2**31 - 1) + 1)
        baro = None
        self.barostat_kind = barostat
        if barostat == "iso":
            baro = mm.MonteCarloBarostat(0.0, temperature_k, 25)
        elif barostat == "xy":
            baro = mm.MonteCarloAnisotropicBarostat(mm.Vec3(0, 0, 0), temperature_k, True, True, False, 25)
        if baro is not None:
            baro.setRandomNumberSeed(int(seed) % (2**31 - 1) + 7)
        self.baro = baro
        self.ctx, self.R = engine.make_context(atoms, integ, baro)
        self.integ = integ
        self.dt_fs = dt_fs
        self.pbc_on = baro is not None
        if baro is not None:
            baro.setFrequency(0)
            self.ctx.reinitialize(preserveState=True)
            self.pbc_on = False
        v = atoms.get_velocities() if atoms.has("momenta") else None
        if v is not None and np.any(v):
            from ase import units
            self.ctx.setVelocities((v @ self.R.T) * units.fs * 100.0)  # Å/ase-time -> Å/fs -> nm/ps
        else:
            self.ctx.setVelocitiesToTemperature(temperature_k, int(seed) % (2**31 - 1) + 3)
        self.temperature_k = temperature_k
        self.steps = 0

    def set_pressure_control(self, on: bool):
        if self.baro is None or on == self.pbc_on:
            return
        self.baro.setFrequency(25 if on else 0)
        self.ctx.reinitialize(preserveState=True)
        self.pbc_on = on

    def set_temperature(self, t):
        if hasattr(self.integ, "setTemperature"):
            self.integ.setTemperature(t)
        if self.baro is not None:
            try:
                self.ctx.setParameter(self.baro.Temperature(), t)
            except Exception:  # noqa: BLE001
                pass
        self.temperature_k = t

    def step(self, n: int):
        self.integ.step(int(n))
        self.steps += int(n)

    def cell(self):
        return np.asarray(self.ctx.getState().getPeriodicBoxVectors(asNumpy=True)._value) * 10.0

    def set_cell_affine(self, new_cell):
        """Change the cell (Å, reduced form) and scale positions affinely with it."""
        st = self.ctx.getState(getPositions=True)
        old = np.asarray(st.getPeriodicBoxVectors(asNumpy=True)._value) * 10.0
        pos = np.asarray(st.getPositions(asNumpy=True)._value) * 10.0
        frac = pos @ np.linalg.inv(old)
        mm = self.mm
        self.ctx.setPeriodicBoxVectors(*[mm.Vec3(*(row * 0.1)) for row in new_cell])
        self.ctx.setPositions(frac @ new_cell * 0.1)

    def thermo(self, stress: bool = False) -> dict:
        """Current T (K), potential/kinetic energy (eV), volume (Å^3), density; stress (GPa) if asked."""
        st = self.ctx.getState(getEnergy=True, getVelocities=stress, getPositions=stress)
        pe = st.getPotentialEnergy()._value / EV + constant_energy(self.engine.pot, self.symbols)
        ke = st.getKineticEnergy()._value / EV
        n = len(self.symbols)
        cell = np.asarray(st.getPeriodicBoxVectors(asNumpy=True)._value) * 10.0
        vol = abs(np.linalg.det(cell))
        out = {"step": self.steps, "time_ps": self.steps * self.dt_fs * 1e-3, "T_K": 2 * ke / (3 * n * KB_EV),
               "pe_ev": pe, "ke_ev": ke, "volume_a3": vol,
               "cell_a": [float(cell[0, 0]), float(cell[1, 1]), float(cell[2, 2])]}
        if stress:
            pos = np.asarray(st.getPositions(asNumpy=True)._value)
            vel = np.asarray(st.getVelocities(asNumpy=True)._value)  # nm/ps
            if not hasattr(self, "_masses"):
                sysm = self.ctx.getSystem()
                self._masses = np.array([sysm.getParticleMass(i)._value for i in range(n)])
            masses = self._masses
            # energy derivative on a scratch context in double precision where available
            if not hasattr(self, "_sctx"):
                self._sctx, _ = self.engine.make_context(self.atoms(), precision="double", triclinic=True)
            sv = _fd_stress(lambda p, c: self.engine._energy_at(self._sctx, p, c), pos, cell * 0.1, self.engine.fd_step())
            # kinetic part: -(1/V) sum m v v, amu nm^2/ps^2 = 1 kJ/mol -> eV
            kin = np.einsum("i,ij,ik->jk", masses, vel, vel) / EV / vol
            kv = np.array([kin[0, 0], kin[1, 1], kin[2, 2], kin[1, 2], kin[0, 2], kin[0, 1]])
            out["stress_gpa"] = list((sv - kv) * EV_A3_TO_GPA)
        return out

    def atoms(self):
        """Current state as ase.Atoms (positions wrapped into the cell, velocities set)."""
        from ase import Atoms, units
        st = self.ctx.getState(getPositions=True, getVelocities=True)
        cell = np.asarray(st.getPeriodicBoxVectors(asNumpy=True)._value) * 10.0
        pos = np.asarray(st.getPositions(asNumpy=True)._value) * 10.0
        vel = np.asarray(st.getVelocities(asNumpy=True)._value) * 10.0 / 1000.0  # Å/fs
        a = Atoms(self.symbols, positions=pos, cell=cell, pbc=True)
        a.set_velocities(vel / units.fs)
        a.wrap()
        return a

    def checkpoint(self) -> bytes:
        return self.ctx.createCheckpoint()

    def restore(self, data: bytes):
        self.ctx.loadCheckpoint(data)


def _advance(self, n: int, t_start: float, t_end: float | None = None, npt: bool = False, chunk: int = 100):
    """Run n steps at a temperature ramped linearly from t_start to t_end (K); zero pressure if npt."""
    t_end = t_start if t_end is None else t_end
    self.set_pressure_control(npt)
    done = 0
    while done < n:
        k = min(chunk, n - done)
        self.set_temperature(t_start + (t_end - t_start) * (done + 0.5 * k) / max(n, 1))
        self.step(k)
        done += k


OpenMMSimulation.advance = _advance
