import math

import numpy as np
import pytest

from amorph_core.errors import AmorphError, AmorphWarning
from amorph_core.structures import (density_from_rate, density_g_cm3, porous_start, read_structure,
                                    reference_glasses, reference_rates, uniform_start, structure_to_bytes)
from amorph_core.structures.density import fit_density_regression

SHARED = "/work/shared/data/dm2-sio2"


def test_registry_has_24_glasses_and_split():
    assert reference_rates("sio2") == [0.1, 1.0, 10.0, 100.0]
    allg = reference_glasses("sio2")
    assert len(allg) == 24
    val = reference_glasses("sio2", split="validation")
    assert len(val) == 4 and all(a.info["sample"] == 5 for a in val)
    at1 = reference_glasses("sio2", 1.0)
    assert len(at1) == 6
    for a in at1:
        assert a.get_chemical_formula() == "O2000Si1000"
        assert abs(density_g_cm3(a) - a.info["density_g_cm3"]) < 1e-4
    assert len(reference_glasses("sio2", 0.8, nearest=True)) == 6
    with pytest.raises(AmorphError):
        reference_glasses("sio2", 3.0)


@pytest.mark.parametrize("system", ["sio2", "cuzr"])
def test_reference_manifest_matches_its_files(system):
    """Every shipped glass is listed, of the size its entry says, in the split its rule says; a Cu-Zr glass is the
    file its entry hashed."""
    import hashlib
    import json
    import re
    from amorph_core.structures.references import REFERENCE_DIR, reference_manifest

    man = reference_manifest(system)
    val = {int(x) for x in re.findall(r"\d+", man["split_rule"].split("->")[0])}
    files = {p.name for p in (REFERENCE_DIR / system).iterdir() if p.name != "manifest.json"}
    assert files - {"LICENSE", "README.md"} == {e["file"] for e in man["structures"]}
    for e, atoms in zip(man["structures"], reference_glasses(system)):
        if system == "cuzr":  # made here: the file's own hash (sio2's entries hash the DM2 source files)
            assert hashlib.sha256((REFERENCE_DIR / system / e["file"]).read_bytes()).hexdigest() == e["sha256"]
        assert len(atoms) == e["n_atoms"] and e["split"] == ("validation" if e["sample"] in val else "train")
    assert json.loads(json.dumps(man)) == man


def test_add_references_is_idempotent_and_sets_the_split(tmp_path):
    """scripts/add_references.py on a copy of the Cu-Zr set: re-adding its own files changes nothing; a new
    validation list moves those samples out of training."""
    import json
    import shutil
    import subprocess
    import sys
    from pathlib import Path
    from amorph_core.structures.references import REFERENCE_DIR

    root = tmp_path / "ref"
    shutil.copytree(REFERENCE_DIR / "cuzr", root / "cuzr")
    before = (root / "cuzr" / "manifest.json").read_text()
    script = Path(__file__).resolve().parents[1] / "scripts" / "add_references.py"
    files = sorted(str(p) for p in (root / "cuzr").glob("*.extxyz.gz"))
    subprocess.run([sys.executable, str(script), "cuzr", *files, "--root", str(root)], check=True)
    assert (root / "cuzr" / "manifest.json").read_text() == before
    subprocess.run([sys.executable, str(script), "cuzr", files[0], "--root", str(root), "--validation", "0", "1"],
                   check=True)
    man = json.loads((root / "cuzr" / "manifest.json").read_text())
    assert {e["sample"] for e in man["structures"] if e["split"] == "validation"} == {0, 1}
    assert man["split_rule"].startswith("sample in [0, 1] -> validation")


def test_add_references_takes_a_melt_quench_run(tmp_path):
    """A glass from `amorph md melt-quench` (final.extxyz with no sample, log.jsonl beside it) joins the set as
    sample = its seed, under the set's file name, with the device glasses' header and the run's wall time; adding
    it again gives the same bytes."""
    import json
    import shutil
    import subprocess
    import sys
    from pathlib import Path
    from ase.io import read, write
    from amorph_core.structures.references import REFERENCE_DIR

    root = tmp_path / "ref"
    shutil.copytree(REFERENCE_DIR / "cuzr", root / "cuzr")
    run = tmp_path / "run"
    run.mkdir()
    a = reference_glasses("cuzr")[0]
    a.info = {"cooling_rate_k_ps": 10.0, "seed": 37, "engine": "lammps-cpu", "potential": "eam/fs",
              "density_g_cm3": 7.1, "protocol": "{}", "system": "cuzr"}
    write(run / "final.extxyz", a, format="extxyz")
    (run / "log.jsonl").write_text("".join(json.dumps({"step": s, "wall_s": w}) + "\n" for s, w in ((1, 2.0), (2, 75.5))))
    script = Path(__file__).resolve().parents[1] / "scripts" / "add_references.py"
    cmd = [sys.executable, str(script), "cuzr", str(run / "final.extxyz"), "--root", str(root)]
    subprocess.run(cmd, check=True)
    dest = root / "cuzr" / "cuzr_10Kps_s37.extxyz.gz"
    first = dest.read_bytes()
    man = json.loads((root / "cuzr" / "manifest.json").read_text())
    entry = next(e for e in man["structures"] if e["file"] == dest.name)
    assert entry["sample"] == 37 and entry["split"] == "train" and entry["wall_s"] == 75.5
    assert entry["engine"] == "lammps-cpu" and "melt-quench" in entry["source"]
    b = read(dest)
    assert b.info["sample"] == 37 and "protocol" not in b.info and np.allclose(b.positions, a.positions)
    subprocess.run(cmd, check=True)
    assert dest.read_bytes() == first
    assert json.loads((root / "cuzr" / "manifest.json").read_text()) == man


def test_reads_original_lammps_data(tmp_path):
    import pathlib
    src = pathlib.Path(SHARED) / "sio2_3000_glass_100k_sample0.dat"
    if not src.exists():
        pytest.skip("shared data not present")
    a = read_structure(src)
    assert a.get_chemical_formula() == "O2000Si1000"
    ref = reference_glasses("sio2", 100.0)[0]
    assert np.allclose(a.cell.lengths(), ref.cell.lengths())


def test_density_regression():
    reg = fit_density_regression("sio2")
    assert reg.slope > 0  # faster quench -> denser silica (paper Fig. 14)
    assert abs(density_from_rate(1.0) - 2.129) < 0.02
    assert abs(density_from_rate(100.0) - 2.169) < 0.02
    with pytest.warns(AmorphWarning):
        density_from_rate(0.01)
    for bad in (0, -1, 1e5, float("nan")):
        with pytest.raises(AmorphError):
            density_from_rate(bad)


def test_uniform_start():
    a = uniform_start("sio2", n_atoms=300, density_g_cm3=2.2, aspect=(1, 1, 1.4), seed=3)
    assert len(a) == 300 and a.get_chemical_formula() == "O200Si100"
    assert math.isclose(density_g_cm3(a), 2.2, rel_tol=1e-9)
    lx, ly, lz = a.cell.lengths()
    assert math.isclose(lz / lx, 1.4) and math.isclose(ly, lx)
    b = uniform_start("sio2", n_atoms=300, density_g_cm3=2.2, aspect=(1, 1, 1.4), seed=3)
    assert np.array_equal(a.positions, b.positions)
    c = uniform_start("sio2", box=(20, 20, 20), density_g_cm3=2.2, seed=0)
    assert abs(density_g_cm3(c) - 2.2) < 0.05
    for bad in (0, 50, -2):
        with pytest.raises(AmorphError):
            uniform_start("sio2", n_atoms=300, density_g_cm3=bad)
    with pytest.raises(AmorphError):
        uniform_start("sio2", n_atoms=301)
    with pytest.raises(AmorphError):
        uniform_start("sio2", n_atoms=0)
    with pytest.raises(AmorphError):
        uniform_start("unobtainium", n_atoms=300)


@pytest.mark.parametrize("lattice", ["single", "hexagonal"])
def test_porous_start(lattice):
    import json
    a = porous_start("sio2", pore_radius_a=8.0, wall_density_g_cm3=2.2, n_atoms=3000, lattice=lattice, seed=1)
    centers = np.array(json.loads(a.info["pore_centers"]))
    box = a.cell.lengths()
    for cx, cy in centers:
        d = a.positions[:, :2] - (cx, cy)
        d -= box[:2] * np.round(d / box[:2])
        assert np.sqrt((d ** 2).sum(1)).min() > 8.0
    wall_volume = box.prod() - len(centers) * math.pi * 64 * box[2]
    wall_density = a.get_masses().sum() / wall_volume * 1.66053906660
    assert abs(wall_density - 2.2) < 1e-6
    with pytest.raises(AmorphError, match="does not fit"):
        porous_start("sio2", pore_radius_a=30.0, box=(40, 40, 40), wall_density_g_cm3=2.2)


BAD_FILES = {
    "empty.xyz": "",
    "notes.txt": "this is not a structure\njust text\n",
    "nocell.xyz": "2\n\nSi 0 0 0\nO 1.6 0 0\n",
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_bad_files_give_clear_errors(tmp_path, name):
    p = tmp_path / name
    p.write_text(BAD_FILES[name])
    with pytest.raises(AmorphError):
        read_structure(p)


@pytest.mark.parametrize("fmt", ["extxyz", "lammps-data", "cif", "poscar"])
def test_export_roundtrip(tmp_path, fmt):
    a = uniform_start("sio2", n_atoms=30, density_g_cm3=2.2, seed=5)
    a.info["cooling_rate_k_ps"] = 1.0
    data = structure_to_bytes(a, fmt)
    p = tmp_path / f"x.{ {'extxyz': 'extxyz', 'lammps-data': 'data', 'cif': 'cif', 'poscar': 'vasp'}[fmt]}"
    p.write_bytes(data)
    b = read_structure(p)
    assert sorted(b.get_chemical_symbols()) == sorted(a.get_chemical_symbols())
    assert np.allclose(b.cell.lengths(), a.cell.lengths(), atol=1e-4)
    assert b"seed" in data


def test_export_keeps_numpy_typed_parameters():
    a = uniform_start("sio2", n_atoms=30, density_g_cm3=2.2, seed=5)
    a.info["seed"] = np.int64(7)
    a.info["n_steps"] = np.int64(3000)
    for fmt in ("lammps-data", "poscar", "cif"):
        data = structure_to_bytes(a, fmt)
        assert b'"seed": 7' in data and b'"n_steps": 3000' in data, fmt
