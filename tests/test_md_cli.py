"""`amorph md ...`: clear errors, JSON outputs (CPU, small systems)."""
import json

import ase.io
import numpy as np
from ase import Atoms

from amorph_core.cli import main
from amorph_core.md.quench import random_start


def test_md_cli_errors(tmp_path, capsys):
    out = tmp_path / "mq"
    assert main(["md", "melt-quench", "--rate", "-5", "--out-dir", str(out)]) == 2
    assert "positive" in capsys.readouterr().err and not out.exists()
    small = tmp_path / "small.extxyz"
    ase.io.write(small, Atoms("SiO2", positions=[[0, 0, 0], [1.6, 0, 0], [0, 1.6, 0]], cell=[5] * 3, pbc=True))
    assert main(["md", "moduli", str(small), "--engine", "lammps", "--json", str(tmp_path / "m.json")]) == 2
    assert "twice the cutoff" in capsys.readouterr().err and not (tmp_path / "m.json").exists()
    al = tmp_path / "al.extxyz"
    ase.io.write(al, Atoms("Al2O3", positions=np.random.default_rng(0).random((5, 3)) * 20, cell=[20] * 3, pbc=True))
    assert main(["md", "refine", str(al), "--engine", "lammps"]) == 2
    assert "Al" in capsys.readouterr().err


def test_md_cli_refine_json(tmp_path, capsys):
    a = random_start("sio2", 648, 2.2, seed=4)
    p = tmp_path / "start.extxyz"
    ase.io.write(p, a)
    js = tmp_path / "r.json"
    rc = main(["md", "refine", str(p), "--engine", "lammps", "--nvt-ps", "0.02", "--npt-ps", "0.02",
               "--out-dir", str(tmp_path / "ref"), "--json", str(js), "--quiet"])
    assert rc == 0
    r = json.loads(js.read_text())
    assert 1.0 < r["density_g_cm3"] < 4.0 and r["engine"].startswith("lammps")
    assert (tmp_path / "ref" / "refined.extxyz").exists() and (tmp_path / "ref" / "log.jsonl").exists()
