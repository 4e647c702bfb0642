"""SIGINT and SIGKILL in the middle of each MD protocol (LAMMPS, 648 atoms): no result file, half-written or
whole, and no temp file is left behind, and the same command run again completes."""
import json
import signal
import subprocess
import sys

import ase.io
import numpy as np
import pytest

from amorph_core.validation import first_non_finite
from tests.fuzz_corpus import cristobalite

# melt-quench through the core API with a tiny schedule (the CLI runs the paper's 250 ps schedule)
MELT_QUENCH = """
import sys
from amorph_core.md.quench import MeltQuench, melt_quench
p = MeltQuench(rate_k_ps=2e4, nvt_low_ps=0.2, npt_low_ps=0.2, melt_ps=0.2, final_ps={final})
melt_quench("sio2", 648, 2e4, seed=3, engine="lammps", protocol=p, out_dir=sys.argv[1], report_every=50,
            progress=lambda f, r: print(f"{{100 * f:.1f}}%", file=sys.stderr, flush=True))
"""


@pytest.fixture(scope="module")
def glass(tmp_path_factory):
    """beta-cristobalite, 648 atoms, rattled: quick to minimise, so the quick reruns stay quick."""
    a = cristobalite(3)
    a.positions += np.random.default_rng(0).normal(0, 0.05, a.positions.shape)
    p = tmp_path_factory.mktemp("glass") / "start.extxyz"
    ase.io.write(p, a)
    return p


def commands(protocol, glass, d):
    """(long command, quick command, result files) of one protocol writing into folder d."""
    cli = [sys.executable, "-m", "amorph_core", "md"]
    js = d / "r.json"
    if protocol == "melt-quench":
        script = [sys.executable, "-c"]
        return ([*script, MELT_QUENCH.format(final=20.0), d / "mq"], [*script, MELT_QUENCH.format(final=0.05), d / "mq"],
                [d / "mq" / "final.extxyz"])
    if protocol == "refine":
        return ([*cli, "refine", glass, "--engine", "lammps", "--nvt-ps", "30", "--npt-ps", "0", "--out-dir",
                 d / "ref", "--json", js],
                [*cli, "refine", glass, "--engine", "lammps", "--nvt-ps", "0.01", "--npt-ps", "0.01", "--out-dir",
                 d / "ref", "--json", js], [js, d / "ref" / "refined.extxyz"])
    if protocol == "moduli":
        return ([*cli, "moduli", glass, "--engine", "lammps", "--fmax", "1e-6", "--json", js],
                [*cli, "moduli", glass, "--engine", "lammps", "--fmax", "0.1", "--json", js], [js])
    return ([*cli, "tensile", glass, "--engine", "lammps", "--rate", "1e9", "--max-strain", "0.5", "--out-dir",
             d / "t", "--json", js],
            [*cli, "tensile", glass, "--engine", "lammps", "--rate", "1e11", "--max-strain", "0.002", "--out-dir",
             d / "t", "--json", js], [js])


def interrupt(long, sig):
    """Run long, send sig at its first progress line (the MD is running); (exit status, stderr)."""
    # SIGINT's default action in the child, whatever this process inherited (a shell's background job starts with
    # SIGINT ignored, and an ignored signal stays ignored across exec)
    proc = subprocess.Popen(list(map(str, long)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if "%" in line:
            proc.send_signal(sig)
            break
    err = "".join(seen) + proc.stderr.read()
    return proc.wait(timeout=300), err


@pytest.mark.parametrize("protocol", ["melt-quench", "refine", "moduli", "tensile"])
def test_interrupt_leaves_no_result_and_a_rerun_completes(tmp_path, glass, protocol):
    long, quick, results = commands(protocol, glass, tmp_path)
    for sig in (signal.SIGINT, signal.SIGKILL):
        rc, err = interrupt(long, sig)
        if sig == signal.SIGKILL:
            assert rc == -signal.SIGKILL, err
        elif protocol == "melt-quench":  # the core API in a plain script: Python's own KeyboardInterrupt exit
            assert rc in (1, -signal.SIGINT) and "KeyboardInterrupt" in err, err
        else:  # the CLI: one line, status 130
            assert rc == 130 and err.strip().splitlines()[-1] == "cancelled" and "Traceback" not in err, err
        for p in results:
            assert not p.exists(), f"{p.name} written by an interrupted {protocol} ({sig.name})"
        assert not list(tmp_path.rglob("*.tmp")), f"temp files left behind ({sig.name})"
    again = subprocess.run(list(map(str, quick)), capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    for p in results:
        assert p.exists()
        if p.suffix == ".json":
            assert first_non_finite(json.loads(p.read_text())) is None
        else:
            a = ase.io.read(p)
            assert len(a) == 648 and np.all(np.isfinite(a.positions))
