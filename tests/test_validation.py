"""amorph_core.validation: the checks the CLI, the app and the core API share; the CPU thread count recorded."""
import json
import math
import os

import numpy as np
import pytest

from amorph_core import validation as V
from amorph_core.errors import AmorphError
from amorph_core.fileio import atomic_write


def test_numbers_carry_name_unit_and_range():
    assert V.number("2.5", "--fmax", "eV/Å", lo=0, hi=3) == 2.5
    assert V.number(7.0, "--atoms", lo=1, integer=True) == 7
    for bad in ["nan", "inf", "-inf", "x", "", None, True, "1e400"]:
        with pytest.raises(AmorphError, match="--fmax must be"):
            V.number(bad, "--fmax", "eV/Å", lo=1e-6, hi=1.0)
    with pytest.raises(AmorphError, match=r"--fmax must be a finite number \(>= 1e-06 eV/Å and <= 1 eV/Å\), got 5"):
        V.number(5, "--fmax", "eV/Å", lo=1e-6, hi=1.0)
    with pytest.raises(AmorphError, match="positive whole number"):
        V.number("1.5", "--atoms", lo=1, integer=True)
    with pytest.raises(AmorphError, match="positive finite number of K/ps"):
        V.number(0, "cooling rate", "K/ps", lo=0, lo_open=True)


def test_seeds():
    assert V.seeds([0, 5, V.MAX_SEED]) == (0, 5, V.MAX_SEED)
    for bad in ([-1], [V.MAX_SEED + 1], [2 ** 64 - 1], [1, 1], [], ["x"], list(range(V.MAX_SEEDS + 1))):
        with pytest.raises(AmorphError):
            V.seeds(bad)
    from amorph_core.generate import parse_seeds

    assert parse_seeds("0-2,7") == (0, 1, 2, 7)
    for bad in ("-3-5", "5-1", "0-99999999", "-1", "0,0"):
        with pytest.raises(AmorphError):
            parse_seeds(bad)


def test_output_paths_refuse_what_is_not_ours(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    f = tmp_path / "f.txt"
    f.write_text("mine")
    for bad, why in [(tmp_path, "folder"), (fifo, "not a regular file"), ("/dev/null", "not a regular file"),
                     (tmp_path / "no" / "x.json", "does not exist"), (f / "x.json", "cannot use this path"), ("", "empty")]:
        with pytest.raises(AmorphError, match=why):
            V.output_file(bad, "--json")
    assert V.output_file(tmp_path / "new.json") == tmp_path / "new.json" and V.output_file(f) == f
    for bad in (f, fifo, "/dev/null", f / "sub"):
        with pytest.raises(AmorphError):
            V.output_dir(bad)
    assert V.output_dir(tmp_path / "a" / "b") == tmp_path / "a" / "b" and not (tmp_path / "a").exists()
    for target in (fifo, tmp_path):  # the low-level writer refuses them too
        with pytest.raises(AmorphError, match="not a regular file"):
            atomic_write(target, "x")
    assert os.path.exists(fifo) and not os.path.isfile(fifo)
    assert not list(tmp_path.glob(".*.tmp"))


def test_non_finite_results_are_errors_and_a_failed_write_keeps_them(tmp_path, capsys):
    res = {"summary": {"E_GPa": 70.1, "young_fit_gpa": float("nan")}, "curve": [1.0, 2.0]}
    assert V.first_non_finite(res) == "summary.young_fit_gpa"
    assert V.first_non_finite({"a": [1, np.array([1.0, np.inf])]}) == "a.1"
    with pytest.raises(AmorphError, match="summary.young_fit_gpa is not a finite number"):
        V.finite_result(res, "md tensile")
    with pytest.raises(AmorphError, match="young_fit_gpa"):
        V.results_json(res)
    ok = {"summary": {"E_GPa": 70.1, "note": None}}
    p = V.save_results(tmp_path / "r.json", ok)
    assert json.loads(p.read_text()) == ok
    ro = tmp_path / "ro"
    ro.mkdir()
    target = ro / "r.json"
    target.write_text("old")
    os.chmod(target, 0o444)
    if os.access(target, os.W_OK):  # root writes anyway: a path under a file cannot be written by anyone
        target = tmp_path / "r.json" / "x.json"
    with pytest.raises(AmorphError, match="printed on stdout"):
        V.save_results(target, ok)
    assert json.loads(capsys.readouterr().out) == ok


def test_structure_check(tmp_path):
    from ase import Atoms

    from tests.fuzz_corpus import cristobalite

    good = cristobalite(2)
    assert V.check_structure(good.copy(), "c") is not None
    bad = good.copy()
    bad.positions[1] = bad.positions[0] + [0.005, 0, 0]
    with pytest.raises(AmorphError, match="0.005 Å apart"):
        V.check_structure(bad, "c")
    with pytest.raises(AmorphError, match="density"):
        V.check_structure(Atoms("Si", cell=[40] * 3, pbc=True), "one")
    with pytest.raises(AmorphError, match="Fe"):
        V.check_structure(Atoms("FeO", positions=[[0, 0, 0], [2, 0, 0]], cell=[4] * 3, pbc=True), "iron")
    cell_nan = good.copy()
    cell_nan.cell[0, 0] = math.nan
    with pytest.raises(AmorphError, match="cell contains NaN"):
        V.check_structure(cell_nan, "c")


def test_generation_requests_refused_before_anything_is_built():
    from amorph_core.generate import GenerationRequest, build_starts

    base = dict(cooling_rate_k_ps=1.0, n_atoms=192, device="cpu")
    for kw, msg in [(dict(n_atoms=None, box=(1e6, 1e6, 1e6)), "atoms per structure"),
                    (dict(n_atoms=None, box=(1e300,) * 3), "atoms per structure"),
                    (dict(n_atoms=3_000_000), "GiB"),  # ~0.28 MB per atom: more than this machine has
                    (dict(wall_density_g_cm3=2.2), "porous starts only"),
                    (dict(pore_radius_a=3.0, wall_density_g_cm3=0.0), "wall density"),
                    (dict(seeds=(-1,)), "seed"), (dict(seeds=(2 ** 64 - 1,)), "seed"),
                    (dict(rate_guidance=float("nan")), "rate guidance"),
                    (dict(aspect=(1, float("inf"), 1)), "aspect")]:
        with pytest.raises(AmorphError, match=msg):
            build_starts(GenerationRequest(**{**base, **kw}))


@pytest.mark.parametrize("threads", [1, 2])
def test_cpu_structures_record_the_thread_count(tmp_path, threads):
    import torch
    from ase.io import read

    from amorph_core.generate import GenerationRequest, generate_structures

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        (p,) = generate_structures(GenerationRequest(cooling_rate_k_ps=1.0, n_atoms=192, schedule=3, device="cpu"),
                                   tmp_path)
    finally:
        torch.set_num_threads(before)
    assert read(p).info["torch_threads"] == threads
