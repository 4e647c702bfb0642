"""Analysis suite against structures with known answers (crystals, random boxes, reference glasses)."""
import json
import math

import numpy as np
import pytest
from ase.build import bulk
from ase.spacegroup import crystal

from amorph_core.analysis import (analyze_structure, compare_sets, delta_entropy, information_entropy,
                                  nbo_at_pores, network_analysis, overlap, overlap_matrix, partial_pdfs,
                                  pdf_r_factors, r_factor, ring_statistics, shortest_distance, voronoi_analysis)
from amorph_core.analysis.entropy import descriptors, warm_up
from amorph_core.analysis.rings import ring_memory_estimate_bytes
from amorph_core.errors import AmorphError
from amorph_core.structures import porous_start, reference_glasses, uniform_start

A_CRIST = 7.16  # Å, ideal beta-cristobalite (Fd-3m), Si-O = a sqrt(3)/8


@pytest.fixture(scope="session")
def quests_ready():
    """Pay QUESTS' numba compilation once per test session."""
    return warm_up()


@pytest.fixture(scope="module")
def cristobalite():
    return crystal(["Si", "O"], basis=[(0, 0, 0), (0.125, 0.125, 0.125)], spacegroup=227,
                   cellpar=[A_CRIST] * 3 + [90] * 3).repeat(2)


@pytest.fixture(scope="module")
def glass_1():
    return reference_glasses("sio2", 1.0)[0]


# ---------------------------------------------------------------- crystal: exact answers
def test_cristobalite_network(cristobalite):
    n = network_analysis(cristobalite)
    assert n["coord_Si"]["distribution"] == {"4": 1.0}
    assert n["coord_O"]["distribution"] == {"2": 1.0}
    assert n["Si_not_4fold_fraction"] == 0.0 and n["O_not_2fold_fraction"] == 0.0
    assert n["qn_distribution"] == {"4": 1.0}
    assert n["angle_OSiO_deg"]["mean"] == pytest.approx(math.degrees(math.acos(-1 / 3)), abs=1e-6)
    assert n["angle_OSiO_deg"]["n"] == 6 * 64  # 6 angles per tetrahedron, 64 Si
    assert n["angle_SiOSi_deg"]["mean"] == pytest.approx(180.0, abs=1e-4)
    assert shortest_distance(cristobalite) == pytest.approx(A_CRIST * math.sqrt(3) / 8, abs=1e-9)


def test_cristobalite_rings_only_six(cristobalite):
    r = ring_statistics(cristobalite)
    counts = dict(zip(r["sizes_si"], r["counts"]))
    assert counts[6] == 2 * 64  # diamond net: 12 six-rings per Si, 6 Si per ring
    assert sum(c for n, c in counts.items() if n != 6) == 0
    assert "shortest-path" in r["definition"] and "number of Si" in r["definition"]


def test_pdf_integrates_to_coordination(cristobalite):
    """rho_O * integral of g_SiO(r) 4 pi r^2 dr over the first shell = 4 O around every Si."""
    p = partial_pdfs(cristobalite)
    r = np.asarray(p["r_a"])
    dr = r[1] - r[0]
    edges = np.append(r - dr / 2, r[-1] + dr / 2)
    shell = 4 / 3 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    rho_o = 128 / cristobalite.get_volume()
    g = np.asarray(p["partials"]["Si-O"])
    assert rho_o * np.sum(g[r < 2.0] * shell[r < 2.0]) == pytest.approx(4.0, abs=1e-9)
    i = int(np.argmax(g))
    assert edges[i] <= A_CRIST * math.sqrt(3) / 8 < edges[i + 1]
    assert len(r) == 100 and r[-1] < 8.0


def test_pdf_random_box_tends_to_one_and_total_is_weighted_sum():
    box = uniform_start("sio2", n_atoms=3000, density_g_cm3=2.2, seed=3)
    p = partial_pdfs(box)
    r = np.asarray(p["r_a"])
    for k, g in p["partials"].items():
        assert np.mean(np.asarray(g)[r > 3]) == pytest.approx(1.0, abs=0.03), k
    c = {"Si": 1 / 3, "O": 2 / 3}
    weighted = (c["Si"] ** 2 * np.asarray(p["partials"]["Si-Si"]) + c["O"] ** 2 * np.asarray(p["partials"]["O-O"])
                + 2 * c["Si"] * c["O"] * np.asarray(p["partials"]["Si-O"]))
    assert np.allclose(weighted, p["total"])


def test_r_factor_definition():
    g = np.linspace(0.5, 2.0, 100)
    assert r_factor(g, g) == 0.0
    assert r_factor(1.1 * g, g) == pytest.approx(0.1)
    with pytest.raises(AmorphError):
        r_factor(g[:50], g)


# ---------------------------------------------------------------- reference glasses
def test_reference_glass_network(glass_1):
    n = network_analysis(glass_1)
    assert n["coord_Si"]["mean"] == pytest.approx(4.00, abs=0.01)
    assert n["coord_O"]["mean"] == pytest.approx(2.00, abs=0.01)
    assert n["angle_OSiO_deg"]["mean"] == pytest.approx(109.4, abs=0.2)
    assert 140 < n["angle_SiOSi_deg"]["mean"] < 160
    assert n["Si_not_4fold_fraction"] < 0.01
    assert sum(n["qn_distribution"].values()) == pytest.approx(1.0)


def test_reference_glass_pdf_r_factors_small_and_rings_broad(glass_1):
    other = reference_glasses("sio2", 1.0)[1]
    rf = pdf_r_factors(partial_pdfs(glass_1), partial_pdfs(other))
    assert rf["Si-O"] < 0.05 and rf["total"] < 0.05
    box = uniform_start("sio2", n_atoms=3000, density_g_cm3=2.2, seed=1)
    assert pdf_r_factors(partial_pdfs(box), partial_pdfs(other))["Si-O"] > 0.5
    r = ring_statistics(glass_1)
    frac = dict(zip(r["sizes_si"], r["fraction"]))
    assert max(frac, key=frac.get) in (6, 7)  # broad distribution peaking at 6-7 (paper Fig. 2c)
    assert frac[5] > 0.1 and frac[8] > 0.05


def test_ring_limit_matches_wider_search(glass_1):
    """Our 12-Si limit against matscipy's own call with a 20-Si limit (the glass has no ring above 11 Si)."""
    from matscipy.rings import ring_statistics as ms_rings

    wide = ms_rings(glass_1, {(14, 8): 2.0, (8, 14): 2.0}, maxlength=40)
    assert wide[1::2].sum() == 0 and wide[24:].sum() == 0
    mine = ring_statistics(glass_1, max_size_si=12)
    for n, c in zip(mine["sizes_si"], mine["counts"]):
        assert c == (wide[2 * n] if 2 * n < len(wide) else 0)
    assert mine["total_rings"] == wide.sum()


def test_ring_memory_guard(glass_1):
    assert ring_memory_estimate_bytes(81000) > 25 * 1024 ** 3
    with pytest.raises(AmorphError, match="GiB"):
        ring_statistics(glass_1, max_memory_bytes=10 * 1024 ** 2)
    res = analyze_structure(glass_1, entropy=False, max_ring_memory_bytes=10 * 1024 ** 2)
    assert "GiB" in res["rings"]["error"] and res["summary"]["coord_Si_mean"] > 3.9


# ---------------------------------------------------------------- QUESTS
def test_entropy_uniform_random_box_is_ln_n(quests_ready):
    box = uniform_start("sio2", n_atoms=3000, density_g_cm3=2.2, seed=7)
    assert information_entropy(box) == pytest.approx(math.log(3000), abs=0.01)


def test_entropy_reference_glasses(quests_ready, glass_1):
    assert information_entropy(glass_1) == pytest.approx(6.57, abs=0.02)
    fast = reference_glasses("sio2", 100.0)[0]
    assert information_entropy(fast) == pytest.approx(6.96, abs=0.04)


def test_overlap_and_delta_entropy(quests_ready, glass_1):
    x = descriptors(glass_1)
    assert overlap(x, x) == 1.0
    assert np.all(delta_entropy(x, x) <= 0)
    box = uniform_start("sio2", n_atoms=3000, density_g_cm3=2.2, seed=2)
    assert overlap(box, glass_1) < 0.01
    res = analyze_structure(box, reference="sio2:1", rings=False)
    json.dumps(res, allow_nan=False)
    assert res["summary"]["novel_environment_fraction"] > 0.99  # random environments lie outside the glass's support
    other = descriptors(reference_glasses("sio2", 1.0)[2])
    m = overlap_matrix([x, other], [x, other])
    assert m[0][0] == 1.0 and m[1][1] == 1.0
    assert 0.6 < m[0][1] < 0.9 and 0.6 < m[1][0] < 0.9  # paper: Sim|Sim ~ 75%


# ---------------------------------------------------------------- Voronoi
@pytest.mark.parametrize("lattice,a,index,vol_factor", [("fcc", 3.61, "<0,12,0,0>", 0.25),
                                                          ("bcc", 3.57, "<0,6,0,8>", 0.5)])
def test_voronoi_crystals(lattice, a, index, vol_factor):
    el = "Cu" if lattice == "fcc" else "Zr"
    atoms = bulk(el, lattice, a=a, cubic=True).repeat(3)
    v = voronoi_analysis(atoms)
    assert v["top_indices"] == [{"index": index, "fraction": 1.0}]
    assert np.allclose(v["volumes_a3"], vol_factor * a ** 3)
    assert v["volume_sum_a3"] == pytest.approx(atoms.get_volume())


def test_voronoi_radii_split_volume_b2_cuzr():
    atoms = crystal(["Cu", "Zr"], basis=[(0, 0, 0), (0.5, 0.5, 0.5)], spacegroup=221,
                    cellpar=[3.26] * 3 + [90] * 3).repeat(3)
    atoms.rattle(0.02, seed=0)
    v = voronoi_analysis(atoms)
    assert v["volume_sum_a3"] == pytest.approx(atoms.get_volume(), rel=1e-9)
    assert v["volume_mean_a3"]["Zr"] > v["volume_mean_a3"]["Cu"]  # larger radius -> larger cell
    with pytest.raises(AmorphError, match="orthorhombic"):
        voronoi_analysis(bulk("Cu", "fcc", a=3.61))


# ---------------------------------------------------------------- pores / NBO
def test_nbo_carved_cristobalite_pore():
    """Carve a cylinder out of a crystal: NBOs are, by construction, the O that lost one of their two Si."""
    from ase.neighborlist import neighbor_list

    a = crystal(["Si", "O"], basis=[(0, 0, 0), (0.125, 0.125, 0.125)], spacegroup=227,
                cellpar=[A_CRIST] * 3 + [90] * 3).repeat(4)
    c = a.cell.lengths()[:2] / 2 + (0.3, 0.2)
    sym, pos = np.array(a.get_chemical_symbols()), a.positions
    i, j = neighbor_list("ij", a, 1.8)  # perfect crystal: bonds unambiguous (1.55 Å, next O at 3.0 Å)
    cut_si = (sym == "Si") & (np.hypot(*(pos[:, :2] - c).T) < 7.0)
    lost = np.zeros(len(a), int)
    m = sym[i] == "O"
    np.add.at(lost, i[m], cut_si[j[m]].astype(int))
    remove = cut_si | ((sym == "O") & (lost == 2))
    expected = int(np.sum((sym == "O") & (lost == 1)))
    pore = a[~remove]
    pore.info["pore_centers"] = json.dumps([c.tolist()])
    r = nbo_at_pores(pore)
    assert expected > 20 and r["n_nbo"] == expected
    assert 6.0 <= r["r_eff_a"] <= 8.5
    assert r["nbo_per_nm2"] == pytest.approx(expected / (2 * np.pi * r["r_eff_a"] * pore.cell[2, 2] / 100))


def test_pore_radius_of_porous_start():
    p = porous_start("sio2", pore_radius_a=10.0, n_atoms=6000, seed=1)
    r = nbo_at_pores(p)
    assert r["r_eff_a"] == pytest.approx(10.0, abs=0.5)
    with pytest.raises(AmorphError, match="pore"):
        nbo_at_pores(uniform_start("sio2", n_atoms=300, seed=0))


# ---------------------------------------------------------------- entry points
def test_analyze_structure_json_and_reference(quests_ready, glass_1):
    res = analyze_structure(glass_1, reference=("sio2", 1.0))
    json.dumps(res, allow_nan=False)
    s = res["summary"]
    for k in ("density_g_cm3", "coord_Si_mean", "angle_OSiO_mean_deg", "angle_SiOSi_mean_deg", "entropy_nats",
              "pdf_rfactor_Si-O", "overlap_on_reference_mean", "reference_self_overlap_mean"):
        assert isinstance(s[k], float), k
    assert res["reference"]["identical_to_reference_samples"] == [glass_1.info["sample"]]
    assert len(res["reference"]["overlap_on_reference"]) == 5  # itself left out
    assert s["pdf_rfactor_Si-O"] < 0.05
    assert s["density_g_cm3"] == pytest.approx(glass_1.info["density_g_cm3"], abs=1e-3)


def test_analyze_structure_bad_input():
    from ase import Atoms

    with pytest.raises(AmorphError, match="cell"):
        analyze_structure(Atoms("SiO2", positions=np.eye(3)))
    with pytest.raises(AmorphError, match="Fe"):
        analyze_structure(Atoms("FeO2", positions=np.eye(3) * 2, cell=[5, 5, 5], pbc=True))
    with pytest.raises(AmorphError):
        analyze_structure(uniform_start("sio2", n_atoms=300, seed=0), reference="sio2:zero")


def test_compare_sets_reference_halves(quests_ready):
    refs = reference_glasses("sio2", 1.0)
    box = uniform_start("sio2", n_atoms=3000, density_g_cm3=2.2, seed=5)
    out = compare_sets([refs[0], box], refs[3:5], rings=False)
    json.dumps(out, allow_nan=False)
    s = out["summary"]
    gg, gs = np.asarray(out["overlap_gen_gen"]), np.asarray(out["overlap_gen_sim"])
    assert gg.shape == (2, 2) and gs.shape == (2, 2) and np.allclose(np.diag(gg), 1.0)
    assert 0.6 < gs[0].mean() < 0.9 and gs[1].max() < 0.01  # glass overlaps, random box does not
    assert 0.6 < s["overlap_sim_sim_mean"] < 0.9
    rf = out["pdf_r_factor_generated_vs_mean_reference"]["Si-O"]
    assert rf[0] < 0.05 < 0.5 < rf[1]
    assert s["ref_Si_not_4fold_pct"] < 1 < s["gen_Si_not_4fold_pct"]
    for k in ("gen_O_not_2fold_pct", "gen_shortest_SiO_min_a", "gen_pdf_rfactor_Si-O_mean", "ref_pdf_rfactor_Si-O_mean",
              "gen_entropy_nats_mean", "overlap_gen_sim_mean", "overlap_gen_gen_mean"):
        assert k in s


def test_analyze_structure_metallic_uses_voronoi():
    atoms = crystal(["Cu", "Zr"], basis=[(0, 0, 0), (0.5, 0.5, 0.5)], spacegroup=221,
                    cellpar=[3.26] * 3 + [90] * 3).repeat(4)
    res = analyze_structure(atoms, entropy=False)
    s = res["summary"]
    assert res["system"] == "cuzr" and "network" not in res and "rings" not in res
    assert s["voronoi_top_index"] == "<0,6,0,8>" and s["voronoi_top_fraction"] == 1.0  # B2 = bcc cells
    assert s["volume_Zr_mean_a3"] > s["volume_Cu_mean_a3"]
    assert set(res["pdf"]["partials"]) == {"Cu-Cu", "Cu-Zr", "Zr-Zr"}


def test_analysis_config_is_used_and_recorded(cristobalite):
    from amorph_core.analysis import AnalysisConfig

    cfg = AnalysisConfig(pdf_bins=50, pdf_r_max_a=6.0, bond_cutoff_a=1.4)
    res = analyze_structure(cristobalite, entropy=False, config=cfg)
    assert len(res["pdf"]["r_a"]) == 50 and res["pdf"]["r_max_a"] == 6.0
    assert res["summary"]["coord_Si_mean"] == 0.0  # Si-O is 1.55 Å: no bond below 1.4 Å
    assert res["config"]["bond_cutoff_a"] == 1.4 and res["config"]["voronoi_radii_a"] == {"Cu": 1.35, "Zr": 1.55}
    assert analyze_structure(cristobalite, entropy=False)["summary"]["coord_Si_mean"] == 4.0


def test_compare_sets_cancel(cristobalite):
    import threading

    from amorph_core.analysis import AnalysisCancelled

    ev = threading.Event()
    ev.set()
    with pytest.raises(AnalysisCancelled):
        compare_sets([cristobalite], [cristobalite], cancel=ev)
