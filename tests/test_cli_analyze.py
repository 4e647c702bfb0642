"""`amorph analyze` end to end (subprocess): reports, --json, LAMMPS data input, and clean errors."""
import json
import subprocess
import sys

import pytest
from ase import Atoms
from ase.io import write
from ase.spacegroup import crystal

from amorph_core.structures import reference_glasses, structure_to_bytes


def amorph(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "amorph_core", "analyze", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def cristobalite_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("crist")
    a = crystal(["Si", "O"], basis=[(0, 0, 0), (0.125, 0.125, 0.125)], spacegroup=227,
                cellpar=[7.16] * 3 + [90] * 3).repeat(2)
    ext = d / "crist.extxyz"
    write(ext, a)
    data = d / "crist.data"
    data.write_bytes(structure_to_bytes(a, "lammps-data"))
    return ext, data


def test_report_and_json(cristobalite_files, tmp_path):
    ext, data = cristobalite_files
    out = tmp_path / "res.json"
    p = amorph(ext, data, "--no-entropy", "--json", out)
    assert p.returncode == 0, p.stderr
    assert "coordination" in p.stdout and "O-Si-O" in p.stdout and "rings (by # Si)" in p.stdout
    res = json.loads(out.read_text())
    assert len(res["files"]) == 2
    for name, s in res["per_file_summary"].items():
        assert s["coord_Si_mean"] == 4.0 and s["O_not_2fold_pct"] == 0.0, name  # LAMMPS types mapped to O/Si
        assert abs(s["angle_OSiO_mean_deg"] - 109.47) < 0.01 and abs(s["angle_SiOSi_mean_deg"] - 180) < 0.01
        assert s["rings_6_per_Si"] == 2.0
    for k in ("density_g_cm3", "coord_Si_mean", "angle_OSiO_mean_deg", "angle_SiOSi_mean_deg"):
        assert k in res["summary"]


def test_reference_glass_with_reference(tmp_path):
    f = tmp_path / "glass.extxyz"
    write(f, reference_glasses("sio2", 100.0)[0])
    out = tmp_path / "g.json"
    p = amorph(f, "--reference", "sio2:100", "--no-rings", "--json", out)
    assert p.returncode == 0, p.stderr
    s = json.loads(out.read_text())["summary"]
    assert abs(s["entropy_nats"] - 6.96) < 0.04
    assert s["pdf_rfactor_Si-O"] < 0.05 and 0.5 < s["overlap_on_reference_mean"] < 0.95
    assert "PDF R-factor" in p.stdout


def _bad_files(d):
    (d / "empty.extxyz").write_text("")
    (d / "notes.txt").write_text("this is not a structure\njust words\n")
    write(d / "nocell.xyz", Atoms("SiO2", positions=[[0, 0, 0], [1.6, 0, 0], [-1.6, 0, 0]]))
    write(d / "iron.extxyz", Atoms("FeO2", positions=[[0, 0, 0], [1.6, 0, 0], [3, 3, 3]], cell=[6, 6, 6], pbc=True))
    (d / "nan.extxyz").write_text('3\nLattice="6 0 0 0 6 0 0 0 6" Properties=species:S:1:pos:R:3 pbc="T T T"\n'
                                   "Si 0 0 0\nO nan 0 0\nO 1 1 1\n")
    return d


@pytest.mark.parametrize("name,args,expect", [
    ("empty.extxyz", [], "empty"),
    ("notes.txt", [], "not a structure"),
    ("nocell.xyz", [], "cell"),
    ("iron.extxyz", [], "Fe"),
    ("nan.extxyz", [], "NaN"),
    ("missing.extxyz", [], "no such file"),
    ("iron.extxyz", ["--system", "cuzr"], "Fe"),
])
def test_bad_input_clean_error(tmp_path, name, args, expect):
    _bad_files(tmp_path)
    p = amorph(tmp_path / name, *args)
    assert p.returncode != 0
    assert "Traceback" not in p.stderr and "error:" in p.stderr
    assert expect.lower() in p.stderr.lower(), p.stderr


@pytest.mark.parametrize("args,expect", [
    (["--reference", "sio2:fast"], "SYSTEM:RATE"),
    (["--reference", "glassy:1"], "unknown system"),
    (["--reference", "sio2:0"], "positive"),
    (["--json", "/nonexistent/dir/out.json"], "writable"),
    (["--pore-centers", "1,2,3"], "pore-centers"),
])
def test_bad_options_clean_error(cristobalite_files, args, expect):
    p = amorph(cristobalite_files[0], "--no-entropy", "--no-rings", *args)
    assert p.returncode != 0
    assert "Traceback" not in p.stderr and expect.lower() in p.stderr.lower(), p.stderr


def test_ring_memory_guard_reported_not_crashed(cristobalite_files):
    p = amorph(cristobalite_files[0], "--no-entropy", "--max-ring-memory-gb", "0.001")
    assert p.returncode == 0, p.stderr
    assert "rings                skipped" in p.stdout and "GiB" in p.stdout
