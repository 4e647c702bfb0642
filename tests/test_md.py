"""MD engines: cross-engine energies/forces/stress, bad input, small protocol runs (CPU, small systems)."""
import json
import math

import numpy as np
import pytest
from ase import Atoms

from amorph_core.errors import AmorphError
from amorph_core.md.potentials import check_atoms, get_potential
from amorph_core.md.engines import make_engine
from amorph_core.md.mechanics import elastic_moduli, moduli_from_stiffness, tensile_test
from amorph_core.md.quench import MeltQuench, melt_quench, random_start
from amorph_core.md.refinement import refine
from amorph_core.md.stages import Cancelled
from amorph_core.structures.references import reference_glasses

EV_A3_TO_GPA = 160.21766208


def _cuzr_box(n=7, a=3.25, seed=0):
    rng = np.random.default_rng(seed)
    g = np.stack(np.meshgrid(*[np.arange(n)] * 3, indexing="ij"), -1).reshape(-1, 3) * a
    pos = np.concatenate([g, g + a / 2]) + rng.normal(0, 0.15, (2 * n**3, 3))
    return Atoms(["Cu"] * n**3 + ["Zr"] * n**3, positions=pos, cell=[n * a] * 3, pbc=True)


@pytest.fixture(scope="module")
def glass():
    return reference_glasses("sio2", 1.0)[0]


def test_bjp_engines_agree(glass):
    """OpenMM (CPU) and LAMMPS give the same energy (incl. the DSF self energy), forces and static stress."""
    pot = get_potential("sio2")
    om, lm = make_engine(pot, "openmm-cpu"), make_engine(pot, "lammps")
    e1, f1 = om.energy_forces(glass)
    e2, f2 = lm.energy_forces(glass)
    assert abs(e1 - e2) < 5e-3, (e1, e2)  # measured ~1e-3 eV of -5.5e4 eV
    assert np.abs(f1 - f2).max() < 2e-3  # measured ~2e-4 eV/Å
    s1, s2 = om.stress(glass) * EV_A3_TO_GPA, lm.stress(glass) * EV_A3_TO_GPA
    assert np.abs(s1 - s2).max() < 0.02, (s1, s2)


def test_self_energy_is_explicit(glass):
    pot = get_potential("sio2")
    e_self = pot.dsf_self_energy(glass.get_chemical_symbols())
    assert e_self < -1e4  # about -1.8e4 eV for 3000 atoms: would break any energy comparison if dropped
    one = Atoms("SiO", positions=[[0, 0, 0], [9, 0, 0]], cell=[20] * 3, pbc=True)  # no pair inside 8 Å
    e, _ = make_engine(pot, "lammps").energy_forces(one)
    assert e == pytest.approx(pot.dsf_self_energy(["Si", "O"]), abs=1e-6)


def test_eam_engines_agree():
    b = _cuzr_box()
    pot = get_potential("cuzr")
    e1, f1 = make_engine(pot, "openmm-cpu").energy_forces(b)
    e2, f2 = make_engine(pot, "lammps").energy_forces(b)
    assert abs(e1 - e2) / len(b) < 1e-5, (e1, e2)
    assert np.abs(f1 - f2).max() < 1e-3


def test_bad_input(glass, tmp_path):
    pot = get_potential("sio2")
    bad = glass.copy()
    bad.symbols[0] = "Al"
    with pytest.raises(AmorphError, match="Al"):
        check_atoms(bad, pot)
    with pytest.raises(AmorphError, match="Al"):
        make_engine(pot, "lammps").energy(bad)
    nan = glass.copy()
    nan.positions[3, 1] = np.nan
    with pytest.raises(AmorphError, match="NaN"):
        elastic_moduli(nan, engine="lammps")
    small = Atoms("SiO2", positions=[[0, 0, 0], [1.6, 0, 0], [0, 1.6, 0]], cell=[5, 5, 5], pbc=True)
    with pytest.raises(AmorphError, match="twice the cutoff"):
        refine(small, engine="lammps")
    out = tmp_path / "mq"
    with pytest.raises(AmorphError, match="positive"):
        melt_quench("sio2", 3000, -1.0, out_dir=out)
    assert not out.exists()  # nothing half-written
    with pytest.raises(AmorphError):
        make_engine(pot, "gromacs")
    with pytest.raises(AmorphError, match="element"):
        elastic_moduli(Atoms("Fe2", positions=[[0, 0, 0], [1, 1, 1]], cell=[20] * 3, pbc=True))


def test_isotropic_moduli_formula():
    K, G = 60.0, 37.0
    lam = K - 2 * G / 3
    C = np.zeros((6, 6))
    C[:3, :3] = lam
    C[np.arange(3), np.arange(3)] = lam + 2 * G
    C[np.arange(3, 6), np.arange(3, 6)] = G
    m = moduli_from_stiffness(C)
    assert m["K_GPa"] == pytest.approx(K) and m["G_GPa"] == pytest.approx(G)
    assert m["E_GPa"] == pytest.approx(9 * K * G / (3 * K + G))
    assert m["poisson"] == pytest.approx((3 * K - 2 * G) / (2 * (3 * K + G)))


def test_melt_quench_cancel_and_resume(tmp_path):
    """Tiny SiO2 melt-quench on LAMMPS: log written as it goes, cancel stops it, resume finishes it."""
    p = MeltQuench(rate_k_ps=2e5, nvt_low_ps=0.02, npt_low_ps=0.02, melt_ps=0.02, final_ps=0.02)
    calls = []

    def cancel():
        return len(calls) >= 3

    with pytest.raises(Cancelled):
        melt_quench("sio2", 648, 2e5, seed=3, engine="lammps", protocol=p, out_dir=tmp_path,
                     progress=lambda f, r: calls.append(f), cancel=cancel, report_every=10)
    n_logged = len((tmp_path / "log.jsonl").read_text().splitlines())
    assert n_logged == 3
    g = melt_quench("sio2", 648, 2e5, seed=3, engine="lammps", protocol=p, out_dir=tmp_path, report_every=10)
    lines = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert lines[-1]["step"] == p.total_steps()
    assert (tmp_path / "final.extxyz").exists()
    assert g.info["seed"] == 3 and g.info["cooling_rate_k_ps"] == 2e5 and "protocol" in g.info
    assert 1.0 < g.info["density_g_cm3"] < 4.0


def test_random_start_min_distance():
    a = random_start("sio2", 648, 2.2, seed=5, min_dist_a=1.7)
    d = a.get_all_distances(mic=True)
    d[np.arange(len(a)), np.arange(len(a))] = 9
    assert d.min() >= 1.7 and a.info["seed"] == 5


def test_tensile_openmm_stress_matches_lammps(glass):
    """The OpenMM finite-difference stress in a running simulation equals LAMMPS's pressure tensor (same state)."""
    om = make_engine(get_potential("sio2"), "openmm-cpu")
    sim = om.simulation(glass, seed=1, temperature_k=300.0, barostat="xy")
    th = sim.thermo(stress=True)
    a = sim.atoms()
    s_l = make_engine(get_potential("sio2"), "lammps").stress(a) * EV_A3_TO_GPA
    ke = sim.ctx.getState(getVelocities=True)
    # compare the static part: total minus kinetic
    masses = a.get_masses()
    v = np.asarray(ke.getVelocities(asNumpy=True)._value)  # nm/ps
    kin = np.einsum("i,ij,ik->jk", masses, v, v) / 96.48533212 / a.get_volume() * EV_A3_TO_GPA
    s_o = np.array(th["stress_gpa"]) + np.array([kin[0, 0], kin[1, 1], kin[2, 2], kin[1, 2], kin[0, 2], kin[0, 1]])
    assert np.abs(s_o - s_l).max() < 0.05, (s_o, s_l)


@pytest.mark.slow
def test_tensile_small_lammps(tmp_path):
    a = random_start("sio2", 648, 2.2, seed=2)
    r = tensile_test(a, engine="lammps", strain_rate_per_s=1e11, max_strain=0.02, equil_ps=0.1,
                     deform_every=20, sample_every=40, out_dir=tmp_path)
    assert len(r["strain"]) == 5 and (tmp_path / "stress_strain.jsonl").exists()
    assert all(math.isfinite(s) for s in r["stress_gpa"])


def test_lammps_running_stress_is_virial_plus_kinetic(glass):
    """LAMMPS's running stress (tensile test) = static virial stress - kinetic pressure n kT / V (diagonal)."""
    eng = make_engine(get_potential("sio2"), "lammps")
    sim = eng.simulation(glass, seed=1, temperature_k=300.0, barostat="xy")
    th = sim.thermo(stress=True)
    s_static = eng.stress(glass) * EV_A3_TO_GPA
    p_kin = len(glass) * 8.617333e-5 * th["T_K"] / glass.get_volume() * EV_A3_TO_GPA
    assert np.allclose(np.array(th["stress_gpa"][:3]), s_static[:3] - p_kin, atol=0.05)
    assert abs(th["stress_gpa"][0]) > 1e-3  # not silently zero


def test_cost_table_shipped():
    """assets/md/cost_table.json (from benchmarks/bench_md.py): cost grows as the cooling rate falls."""
    from amorph_core.md import cost_table
    df = cost_table()
    assert {"device", "n_atoms", "cooling_rate_k_ps", "hours", "s_per_step"} <= set(df.columns)
    cpu3k = df[(df.device == "cpu") & (df.n_atoms == 3000)].sort_values("cooling_rate_k_ps")
    assert len(cpu3k) == 6 and cpu3k.hours.is_monotonic_decreasing
    assert (df.s_per_step > 0).all()


@pytest.mark.slow
def test_finite_temperature_moduli_approach_static_at_low_T():
    """elastic_moduli_md (NVT, time-averaged stress of +-strained cells) at 1 K must reproduce the static
    stress-derivative stiffness of the same minimised structure: checks its strain sign, units, kinetic term."""
    from amorph_core.md.mechanics import _deform, elastic_moduli_md
    eng = make_engine(get_potential("sio2"), "lammps")
    a = random_start("sio2", 648, 2.2, seed=4)
    base, info = eng.minimize(a, fmax=1e-4, max_iter=20000)
    e = 0.005
    static = np.zeros((6, 2))
    for col, k in enumerate((0, 5)):
        s = [eng.stress(eng.minimize(_deform(base, k, sg * e), fmax=1e-4)[0]) for sg in (1, -1)]
        static[:, col] = (s[0] - s[1]) / (2 * e) * EV_A3_TO_GPA
    md = elastic_moduli_md(base, engine="lammps", temperature_k=1.0, strain=e, equil_ps=1.0, average_ps=0.5,
                           components=(0, 5))
    C = np.array(md["C_GPa"])
    for col, k in enumerate((0, 5)):
        assert C[k, k] == pytest.approx(static[k, col], rel=0.1), (k, C[:, k], static[:, col])
    assert C[1, 0] == pytest.approx(static[1, 0], abs=0.1 * static[0, 0])
    assert static[0, 0] > 20 and static[5, 1] > 5  # a stiff solid, not a sign error


@pytest.fixture(scope="module")
def openmm_cpu_relaxed():
    """OpenMM CPU engine (double) and a 648-atom random SiO2 start relaxed by it, with minimize's info. The start
    is first relaxed by LAMMPS (step-capped FIRE to 0.05 eV/Å, as protocols do with random starts, then its
    minimiser to 0.02 eV/Å; the same BJP potential, so a few seconds instead of minutes of OpenMM's CPU
    platform): L-BFGS straight from a random start collapses on some runs, which is what the guard is for, not a
    healthy input."""
    from amorph_core.md.relax import fire_relax

    lmp = make_engine(get_potential("sio2"), "lammps")
    pre, _ = fire_relax(lmp, random_start("sio2", 648, 2.2, seed=3), fmax=0.05)
    pre, _ = lmp.minimize(pre, fmax=0.02, max_iter=2000)
    om = make_engine(get_potential("sio2"), "openmm-cpu", precision="double")
    pre_energy = om.energy(pre)
    ok, info = om.minimize(pre, fmax=0.02, max_iter=2000)
    info["pre_energy_ev"] = pre_energy
    return om, ok, info


def test_openmm_minimize_collapse_is_a_clear_error(openmm_cpu_relaxed):
    """An Si-O pair pushed inside the BJP barrier (0.3 Å): L-BFGS dives into the r^-6 hole; the engine must notice
    (energy, forces, distances), retry with step-capped FIRE, and then raise a clear AmorphError, not return a
    structure with an energy of -1e12 eV. A healthy, relaxed structure is untouched by the guard."""
    om, ok, info = openmm_cpu_relaxed
    # OpenMM's minimiser on the relaxed start: a sane result, not above the start's energy (OpenMM's own), with
    # small forces (the residual is reported, as documented).
    assert info["energy_ev"] <= info["pre_energy_ev"] + 1e-6 and info["energy_ev"] > -100 * len(ok)
    assert info["fmax_ev_a"] <= 0.3
    # Healthy input, tolerance at or above its residual: returned as it is (no FIRE restart, nothing moves).
    again, info2 = om.minimize(ok, fmax=max(0.05, 1.01 * info["fmax_ev_a"]), max_iter=2000)
    assert not info2.get("fire_restart") and not info2.get("fire_only")
    assert info2["energy_ev"] <= info["energy_ev"] + 1e-3
    assert np.abs(again.get_positions() - ok.get_positions()).max() < 0.1
    bad = ok.copy()
    si = [i for i, s in enumerate(bad.get_chemical_symbols()) if s == "Si"][0]
    o = [i for i, s in enumerate(bad.get_chemical_symbols()) if s == "O"][0]
    pos = bad.get_positions()
    pos[o] = pos[si] + [0.3, 0.0, 0.0]
    bad.set_positions(pos)
    with pytest.raises(AmorphError, match="collapsed"):
        om.minimize(bad, fmax=1e-3, max_iter=2000)


def test_openmm_minimize_finishes_with_fire_when_lbfgs_keeps_collapsing(openmm_cpu_relaxed, monkeypatch):
    """On CUDA, L-BFGS collapsed a strained glass even after the FIRE pre-relaxation: the engine must then finish
    with FIRE alone and return a relaxed, uncollapsed structure at the requested force tolerance."""
    om, ok, _ = openmm_cpu_relaxed
    strained = ok.copy()
    strained.set_cell(np.asarray(ok.get_cell()) * [1.002, 1.0, 1.0], scale_atoms=True)

    def lbfgs_collapses(*args, **kwargs):
        raise om._mm.OpenMMException("Particle coordinate is NaN")

    monkeypatch.setattr(om, "_lbfgs", lbfgs_collapses)
    out, info = om.minimize(strained, fmax=0.05, max_iter=2000)
    assert info["fire_only"] and info["fmax_ev_a"] <= 0.05
    assert info["energy_ev"] > -100 * len(out)
    assert np.allclose(out.get_cell(), strained.get_cell())
