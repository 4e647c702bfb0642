"""liblammps exports voro++ symbols that make pyvoro segfault in the same process: Voronoi must still work
(in a child process) after a LAMMPS instance exists. Run in a subprocess so a regression cannot kill pytest."""
import subprocess
import sys

import pytest

SCRIPT = """
from ase.lattice.cubic import FaceCenteredCubic
from amorph_core.md.engine_lammps import _lammps
lmp = _lammps()(cmdargs=["-log", "none", "-screen", "none"])
lmp.command("units metal"); lmp.command("region b block 0 10 0 10 0 10"); lmp.command("create_box 1 b")
from amorph_core.analysis.voronoi import voronoi_analysis
r = voronoi_analysis(FaceCenteredCubic("Cu", size=(3, 3, 3), latticeconstant=3.6))
assert r["top_indices"][0]["index"] == "<0,12,0,0>" and r["top_indices"][0]["fraction"] == 1.0
assert abs(r["volume_sum_a3"] - r["cell_volume_a3"]) < 1e-6
print("OK")
"""


def test_voronoi_after_lammps():
    from amorph_core.md.engine_lammps import lammps_available
    if not lammps_available():
        pytest.skip("LAMMPS not installed")
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and "OK" in out.stdout, out.stderr[-2000:]
