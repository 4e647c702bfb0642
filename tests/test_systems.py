"""A glass system is one plug-in point: a toy third system registered from data alone (two elements, a
Lennard-Jones pair potential run by LAMMPS, a reference glass made by a tiny melt-quench) runs starts, MD,
structure I/O, analysis and the Compare summary without any other module knowing about it."""
import json

import pytest

from amorph_core.errors import AmorphError
from amorph_core.systems import GlassSystem, get_system, register_system, unregister_system

# A Kob-Andersen-like 80:20 binary Lennard-Jones glass in metal units, argon-like A and neon-like B
# (epsilon eV, sigma Å per pair; cutoff 2.5 sigma_AA). Its recipe: 5 ps NVT at 100 K, quench at the given rate
# to 10 K and 2 ps at 10 K, both at zero pressure, 5 fs steps.
TOY = {
    "name": "toylj", "label": "A80B20 LJ", "formula": {"Ar": 4, "Ne": 1}, "conditional": False,
    "default_density_g_cm3": 1.8, "rate_range_k_ps": (50.0, 50.0), "trained_rate_range_k_ps": (50.0, 50.0),
    "potential": {"kind": "lj", "name": "lj-ka", "cutoff": 8.5, "pairs": {
        ("Ar", "Ar"): (0.0104, 3.4), ("Ar", "Ne"): (0.0156, 2.72), ("Ne", "Ne"): (0.0052, 2.992)}},
    "lammps_type_map": {1: "Ar", 2: "Ne"},
    "melt_quench": {"t_low": 10.0, "t_melt": 100.0, "nvt_low_ps": 0.0, "npt_low_ps": 0.0, "melt_nvt_ps": 5.0,
                    "melt_ps": 0.0, "final_ps": 2.0, "dt_fs": 5.0},
    "melt_start_density_g_cm3": 1.6, "colours": {"Ar": "#80d1e3", "Ne": "#b3e3f5"},
    "analysis": "metallic", "voronoi_radii_a": {"Ar": 1.9, "Ne": 1.5},
}


@pytest.fixture
def toy():
    sys_ = register_system(GlassSystem(**TOY), aliases=("ka-lj",))
    yield sys_
    unregister_system(sys_.name)


def test_register_refuses_clashes_and_unknown_flavours(toy):
    assert get_system("KA_LJ") is toy
    with pytest.raises(AmorphError, match="already registered"):
        register_system(GlassSystem(**TOY))
    with pytest.raises(AmorphError, match=r"another system: Ar \(toylj\), Si \(sio2\)"):
        register_system(GlassSystem(**{**TOY, "name": "other", "formula": {"Si": 1, "Ar": 1}}))
    with pytest.raises(AmorphError, match="analysis flavour"):
        register_system(GlassSystem(**{**TOY, "name": "other2", "formula": {"Kr": 1}, "analysis": "magic"}))


def test_toy_system_from_data_alone(toy, tmp_path):
    from amorph_core.analysis import analyze_structure, compare_sets
    from amorph_core.md.potentials import potential_for
    from amorph_core.md.engines import make_engine
    from amorph_core.md.quench import MeltQuench, melt_quench, random_start
    from amorph_core.md.refinement import refine
    from amorph_core.structures.io import read_structure, write_structure
    from amorph_core.structures.starts import uniform_start

    # the reference glass: the system's own recipe and potential, LAMMPS on the CPU
    ref = melt_quench("toylj", 250, 50.0, seed=0, engine="lammps")
    assert ref.info["potential"] == "lj-ka" and ref.info["system"] == "toylj" and "cavitated" not in ref.info
    assert json.loads(ref.info["protocol"]) == {**TOY["melt_quench"], "rate_k_ps": 50.0}
    assert MeltQuench.for_system(toy, 50.0).total_steps() == (5000 + 1800 + 2000) // 5
    assert 1.5 < ref.info["density_g_cm3"] < 2.2
    # a glass, not a gas: every atom has neighbours, and minimising it lowers the energy per atom only a little
    pot = potential_for(ref)
    assert pot.kind == "lj" and pot.elements == ("Ar", "Ne")
    eng = make_engine(pot, "lammps")
    e_glass = eng.energy_forces(ref)[0] / len(ref)
    assert e_glass < -0.03  # below -3 epsilon_AA per atom: a condensed phase

    # starts: uniform random boxes at the system's density, whole formula units
    starts = [uniform_start("toylj", n_atoms=250, seed=s) for s in (1, 2)]
    assert starts[0].get_chemical_symbols().count("Ne") == 50 and starts[0].info["system"] == "toylj"
    with pytest.raises(AmorphError, match="whole formula units"):
        uniform_start("toylj", n_atoms=251)

    # structure I/O: LAMMPS data in the system's type order, read back with its type map
    write_structure(ref, tmp_path / "ref.data", "lammps-data")
    back = read_structure(tmp_path / "ref.data", type_map=toy.lammps_type_map)
    assert back.get_chemical_symbols() == ref.get_chemical_symbols()

    # analysis: the metallic flavour (Voronoi with the system's radii), PDFs in the system's element order
    res = analyze_structure(ref, system="toylj", rings=False)
    assert list(res["pdf"]["partials"]) == ["Ar-Ar", "Ar-Ne", "Ne-Ne"] and "network" not in res
    assert res["voronoi"]["volume_mean_a3"]["Ar"] > res["voronoi"]["volume_mean_a3"]["Ne"] > 0
    assert res["summary"]["entropy_nats"] > 0

    # Compare: minimised random starts with a minimum separation (the melt-quench's start, relaxed as
    # `--refine min` relaxes a generated glass) against the reference glass
    relaxed = [refine(random_start("toylj", 250, toy.default_density_g_cm3, seed=s), engine="lammps", nvt_ps=0.0,
                      npt_ps=0.0) for s in (1, 2)]
    cmp = compare_sets(relaxed, [ref], system=toy, rings=False)
    s = cmp["summary"]
    assert s["n_generated"] == 2 and s["n_reference"] == 1
    assert s["gen_entropy_nats_mean"] > s["ref_entropy_nats_mean"]
    assert s["gen_pdf_rfactor_Ar-Ar_mean"] > 0.1 and not any("fold" in k for k in s)
