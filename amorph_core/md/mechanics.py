"""Mechanical properties of a glass by MD: elastic moduli at 0 K (relaxed stiffness tensor) and at temperature
(NVT stress averages), the uniaxial tensile test; and nve_drift, the energy-conservation check of an engine."""
from __future__ import annotations

import math
import time

import numpy as np

from amorph_core import validation as V
from amorph_core.errors import AmorphError
from amorph_core.md.engines import make_engine
from amorph_core.md.potentials import check_atoms, potential_for
from amorph_core.md.relax import MD_MIN_DISTANCE_A, check_no_collapse
from amorph_core.md.stages import MAX_MD_STEPS, Cancelled, append_log, cancel_check, fresh_output_dir

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
    cancel = cancel_check(cancel)
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
    cancel = cancel_check(cancel)
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
#: strain range (from zero) of the tensile test's Young's-modulus fit
YOUNG_FIT_STRAIN = 0.02


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
    cancel = cancel_check(cancel)
    eng = make_engine(pot, engine)
    out = fresh_output_dir(out_dir, "stress_strain.jsonl")
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
                append_log(out / "stress_strain.jsonl", rec)
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
