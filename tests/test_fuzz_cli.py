"""Fuzz the `amorph` CLI in-process (amorph_core.cli.main(argv)): >= 1,000 table-driven cases over the parameters
of `analyze`, `generate` and `md ...` and a corpus of broken structure files (tests/fuzz_corpus.py), plus a
handful of end-to-end subprocess cases.

Every case ends either in a clean refusal (exit status 2, the last stderr line `error: ...`, no traceback, no
library internals) or, for the few all-valid cases, in exit status 0 with finite results; none may run past its
time limit. Cases are drawn with a fixed seed: each takes a valid base command and replaces one to three of its
values with bad ones from the tables below, so it must be refused; a few all-valid cases on tiny systems check
that the refusals are not everything.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import random
import re
import signal
import subprocess
import sys

import ase.io
import numpy as np
import pytest

from amorph_core.cli import main
from tests.fuzz_corpus import broken_files, cristobalite, write_corpus

#: the number of generated cases per command (plus the corpus files and the valid cases)
N_CASES = {"analyze": 600, "generate": 600, "md": 600}
#: seconds a refused case may take (everything is checked before work) and a valid tiny case
LIMIT_REFUSED_S = 20
LIMIT_VALID_S = 120
#: words that show a library's internals rather than the user's mistake
INTERNALS = re.compile(r"Traceback|\b[A-Z]\w*(Error|Exception)\b|local variable|np\.\w|numpy\.|object has no|"
                       r"NoneType|index out of range|std::|bad_alloc|Segmentation")
SEED = 2024


class CaseTimeout(BaseException):
    """A case ran past its limit (a hang, or work that should have been refused)."""


def _alarm(signum, frame):
    raise CaseTimeout()


def run_cli(argv, limit_s):
    """(exit status, stdout, stderr) of amorph_core.cli.main(argv) in this process, within limit_s seconds."""
    out, err = io.StringIO(), io.StringIO()
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, limit_s)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = main([str(a) for a in argv])
            except SystemExit as exc:  # argparse
                rc = exc.code if isinstance(exc.code, int) else 1
    except CaseTimeout:
        rc = "timeout"
    except Exception as exc:  # noqa: BLE001 - a traceback is a failure of the case, reported below
        import traceback

        rc = "traceback"
        err.write("".join(traceback.format_exception(exc)))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    return rc, out.getvalue(), err.getvalue()


def refusal_problem(rc, out, err):
    """None if this is a clean refusal, else what is wrong."""
    if rc != 2:
        return f"exit status {rc}, expected 2"
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    if not lines or not lines[-1].startswith("error: "):
        return "the last stderr line is not 'error: ...'"
    if sum(ln.startswith("error: ") for ln in lines) != 1:
        return "more than one error line"
    if INTERNALS.search(err):
        return "library internals in the message"
    return None


def _strict_json(text):
    def bad(c):
        raise ValueError(f"non-finite {c} in JSON")
    return json.loads(text, parse_constant=bad)


def finite_problem(rc, out, err, json_path=None):
    """None if a run succeeded with finite results, else what is wrong."""
    if rc != 0:
        return f"exit status {rc}, expected 0: {err.strip().splitlines()[-1:] if err.strip() else ''}"
    if "Traceback" in err or re.search(r"\bnan\b|\binf\b", out, re.I):
        return "a traceback or a non-finite number in the output"
    if json_path is not None:
        try:
            from amorph_core.validation import first_non_finite

            with open(json_path) as fh:
                bad = first_non_finite(_strict_json(fh.read()))
        except (OSError, ValueError) as exc:
            return f"results file: {exc}"
        if bad:
            return f"results file: {bad} not finite"
    return None


# ------------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzz")
    small = d / "crist192.extxyz"
    ase.io.write(small, cristobalite(2))
    big_atoms = cristobalite(3)
    big = d / "crist648.extxyz"
    ase.io.write(big, big_atoms)
    data = d / "crist192.data"
    from amorph_core.structures import structure_to_bytes

    data.write_bytes(structure_to_bytes(cristobalite(2), "lammps-data"))
    close = {}
    for gap in (0.3, 0.6):  # readable (> 0.01 Å) but too close for MD
        a = big_atoms.copy()
        a.positions[1] = a.positions[0] + [gap, 0, 0]
        close[gap] = d / f"close{gap}.extxyz"
        ase.io.write(close[gap], a)
    fifo = d / "fifo"
    os.mkfifo(fifo)
    a_file = d / "a_file.txt"
    a_file.write_text("keep me\n")
    (d / "a_dir").mkdir()
    corpus = write_corpus(d / "corpus")
    return {"dir": d, "small": small, "big": big, "data": data, "close": close, "fifo": fifo, "file": a_file,
            "folder": d / "a_dir", "corpus": corpus}


def _cuda():
    try:
        from amorph_core.md.engines import cuda_present

        return cuda_present()
    except Exception:  # noqa: BLE001
        return False


# ------------------------------------------------------------------------------------------------ tables
NUM_BAD = ["nan", "inf", "-inf", "NaN", "1e400", "-1e400", "abc", "", "1,2", "0x10", "--", "1e", "½"]
SEED_BAD = ["-1", "2147483648", "18446744073709551615", "99999999999999999999999", "1.5", "x", ""]


def analyze_table(f):
    """option -> bad values (each must be refused) for `amorph analyze`."""
    return {
        "--system": ["glass", "", "cuzr", "SiO3"],
        "--reference": ["sio2", "sio2:", "sio2:0", "sio2:-1", "sio2:nan", "sio2:inf", "glass:1", "sio2:x", ":1",
                        "sio2:1:2", "cuzr:10"],
        "--json": [f["folder"], f["fifo"], "/dev/null", "/nonexistent/x.json", "", f["file"] / "x.json"],
        "--format": ["bogus", "cif", "lammps-data", "png"],
        "--pore-centers": ["1,2,3", "x", "nan,1", "inf,inf", "", ";", "1,2;3"],
        "--max-ring-memory-gb": NUM_BAD + ["-1", "0", "1e300"],
    }


def generate_table(f):
    return {
        "--cooling-rate": NUM_BAD + ["-1", "0", "1e9", "1e-9", "-1e-3"],
        "--atoms": ["0", "-1", "-192", "191", "30", "99999999999", "999999999", "1e3", "abc", "", "3.5"],
        "--box": ["1e6,1e6,1e6", "-1,2,3", "0,0,0", "nan,20,20", "inf,20,20", "20,20", "1,2,3,4", "a,b,c", "",
                  "5,5,5", "1e300,1e300,1e300", "20,20,-20"],
        "--aspect": ["0,1,1", "-1,1,1", "nan,1,1", "1,1", "x", "inf,1,1", "1,1,1,1"],
        "--density": NUM_BAD + ["0", "-2", "50", "1e-9", "2200"],
        "--pore-radius": NUM_BAD + ["0", "-5", "1e6", "40"],
        "--wall-density": ["0", "-1", "nan", "50", "inf"],
        "--seed": SEED_BAD,
        "--seeds": ["-1", "0-99999999", "5-1", "a-b", "", ",", "18446744073709551615", "0,0", "-3-5", "1--2",
                    "0-1e9"],
        "--steps": ["0", "1", "-5", "1000000", "bogus", "nan", "paper:px", "2.5", ""],
        "--device": ["gpu", "tpu", "", "cuda:x"] + ([] if _cuda() else ["cuda"]),
        "--model": ["nonexistent", "/nonexistent/dir", f["folder"]],
        "--mode": ["fast", "", "GRAPH"],
        "--rate-guidance": NUM_BAD + ["-1", "9", "4.5"],
        "--checkpoint-every": ["-5", "x", "1.5", "nan"],
        "--entropy-every": ["-1", "x", "1e3"],
        "--out": [f["file"], f["fifo"], "/dev/null", "", f["file"] / "sub"],
        "--refine": ["abc", "1,2,3", "-1", "nan,0", "1e9", "inf", "min"],  # min: 192 atoms are too few for BJP
        "--system": ["glass", "", "sio3"],
        "--pore-lattice": ["square", ""],
    }


def md_tables(f):
    """protocol -> (valid base argv, {option: bad values})."""
    common = {"--json": [f["folder"], f["fifo"], "/dev/null", "/nonexistent/x.json", "", f["file"] / "x.json"],
              "--engine": ["foo", "", "gromacs"] + ([] if _cuda() else ["openmm"])}
    structures = [f["small"], f["close"][0.3], "/nonexistent.extxyz", f["folder"], f["fifo"]]
    no_minimisation = structures + [f["close"][0.6]]  # refine minimises first: 0.6 Å is refused by moduli, tensile
    return {
        "melt-quench": (["md", "melt-quench", "--atoms", "648", "--rate", "1e4", "--out-dir", f["dir"] / "mq",
                         "--engine", "lammps", "--quiet"],
                        {"--atoms": ["0", "-3", "999999999", "99", "649", "x", "1e3", ""],
                         "--rate": NUM_BAD + ["-5", "0", "1e-30"],
                         "--seed": SEED_BAD, "--out-dir": [f["file"], f["fifo"], "/dev/null", "", f["file"] / "s"],
                         "--system": ["glass", ""], **common}),
        "refine": (["md", "refine", f["big"], "--engine", "lammps", "--nvt-ps", "0.01", "--npt-ps", "0.01",
                    "--quiet"],
                   {"--nvt-ps": NUM_BAD + ["-1", "1e9", "10001"], "--npt-ps": NUM_BAD + ["-1", "1e9"],
                    "--seed": SEED_BAD, "--out-dir": [f["file"], f["fifo"], "/dev/null", f["file"] / "s"],
                    "STRUCTURE": structures, **common}),
        "moduli": (["md", "moduli", f["big"], "--engine", "lammps", "--fmax", "0.1", "--quiet"],
                   {"--strain": NUM_BAD + ["0", "-1e-3", "0.05", "1"],
                    "--fmax": NUM_BAD + ["0", "-1", "10", "1e-9"],
                    "STRUCTURE": no_minimisation, **common}),
        "tensile": (["md", "tensile", f["big"], "--engine", "lammps", "--rate", "1e11", "--max-strain", "0.001",
                     "--quiet"],
                    {"--rate": NUM_BAD + ["1e20", "1e14", "0", "-1", "1e3"],
                     "--max-strain": NUM_BAD + ["0", "-1", "5", "1e-12"], "--seed": SEED_BAD,
                     "--out-dir": [f["file"], f["fifo"], f["file"] / "s"], "STRUCTURE": no_minimisation, **common}),
    }


def _set(argv, opt, value):
    """argv with option opt set to value (the positional structure for 'STRUCTURE')."""
    argv = list(argv)
    if opt == "STRUCTURE":
        argv[2] = value
        return argv
    if opt in argv:
        i = argv.index(opt)
        return argv[:i + 1] + [value] + argv[i + 2:]
    return argv + [opt, value] if not str(value).startswith("-") else argv + [f"{opt}={value}"]


def generated_cases(f):
    """[(label, argv)] of bad-input cases: a valid base with 1-3 values replaced by bad ones."""
    rng = random.Random(SEED)
    cases = []
    analyze_base = ["analyze", f["small"], "--no-rings", "--no-entropy", "--quiet"]
    gen_base = ["generate", "--cooling-rate", "1", "--atoms", "192", "--steps", "2", "--device", "cpu",
                "--out", f["dir"] / "gen"]
    tables = [("analyze", analyze_base, analyze_table(f)), ("generate", gen_base, generate_table(f))]
    for name, base, table in tables:
        for _ in range(N_CASES[name]):
            argv = base
            keys = rng.sample(sorted(table), rng.choice([1, 1, 2, 3]))
            for k in keys:
                if name == "generate" and k == "--box":
                    argv = [a for a in argv if a not in ("--atoms", "192")]
                if name == "generate" and k == "--wall-density" and "--pore-radius" not in keys and rng.random() < .5:
                    argv = _set(argv, "--pore-radius", "2")
                argv = _set(argv, k, rng.choice(table[k]))
            cases.append((f"{name} {' '.join(keys)}", argv))
    md = md_tables(f)
    protocols = sorted(md)
    for i in range(N_CASES["md"]):
        proto = protocols[i % len(protocols)]
        base, table = md[proto]
        argv = base
        keys = rng.sample(sorted(table), rng.choice([1, 1, 2, 3]))
        for k in keys:
            argv = _set(argv, k, rng.choice(table[k]))
        cases.append((f"md {proto} {' '.join(keys)}", argv))
    for p in f["corpus"]:  # every broken file, through analyze and each md protocol that reads one
        cases.append((f"analyze {p.name}", ["analyze", p, "--quiet"]))
        for proto in ("refine", "moduli", "tensile"):
            cases.append((f"md {proto} {p.name}", _set(md[proto][0], "STRUCTURE", p)))
    return cases


# ------------------------------------------------------------------------------------------------ the tests
def test_fuzz_bad_input_is_refused_cleanly(files):
    cases = generated_cases(files)
    assert len(cases) >= 1000
    failures = []
    for label, argv in cases:
        rc, out, err = run_cli(argv, LIMIT_REFUSED_S)
        problem = refusal_problem(rc, out, err)
        if problem:
            failures.append(f"{label}: {problem}\n    argv: {' '.join(map(str, argv))}\n    "
                            f"stderr: {err.strip()[-600:]}")
    assert files["file"].read_text() == "keep me\n" and not os.path.isfile(files["fifo"])  # nothing replaced
    assert not failures, f"{len(failures)} of {len(cases)} cases not refused cleanly:\n" + "\n".join(failures[:40])


def test_fuzz_special_files_are_never_replaced(files):
    """Writing results to a FIFO, a folder or a device is refused before work; the targets stay what they were."""
    import stat

    for argv in (["analyze", files["small"], "--no-rings", "--no-entropy", "--quiet", "--json", files["fifo"]],
                 ["analyze", files["small"], "--no-rings", "--no-entropy", "--quiet", "--json", "/dev/null"],
                 ["md", "refine", files["big"], "--engine", "lammps", "--json", files["fifo"]]):
        rc, out, err = run_cli(argv, LIMIT_REFUSED_S)
        assert refusal_problem(rc, out, err) is None, err
    assert stat.S_ISFIFO(os.stat(files["fifo"]).st_mode) and stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.parametrize("label", ["analyze extxyz", "analyze lammps", "analyze json", "generate", "md refine",
                                   "md moduli", "md tensile"])
def test_fuzz_valid_cases_give_finite_results(files, tmp_path, label):
    js = tmp_path / "out.json"
    argv = {
        "analyze extxyz": ["analyze", files["small"], "--no-rings", "--no-entropy", "--quiet"],
        "analyze lammps": ["analyze", files["data"], "--no-entropy", "--quiet", "--reference", "sio2:1"],
        "analyze json": ["analyze", files["small"], files["big"], "--no-rings", "--quiet", "--json", js],
        "generate": ["generate", "--cooling-rate", "1", "--atoms", "192", "--steps", "3", "--device", "cpu",
                     "--seeds", "0-1", "--out", tmp_path / "gen"],
        "md refine": ["md", "refine", files["big"], "--engine", "lammps", "--nvt-ps", "0.01", "--npt-ps", "0.01",
                      "--quiet", "--json", js],
        "md moduli": ["md", "moduli", files["big"], "--engine", "lammps", "--fmax", "0.1", "--quiet", "--json", js],
        "md tensile": ["md", "tensile", files["big"], "--engine", "lammps", "--rate", "1e11", "--max-strain",
                       "0.001", "--quiet", "--json", js],
    }[label]
    rc, out, err = run_cli(argv, LIMIT_VALID_S)
    problem = finite_problem(rc, out, err, js if "--json" in argv else None)
    assert problem is None, f"{problem}\n{err[-2000:]}"
    if label == "md tensile":  # one stress sample: no slope, so null with the reason (never NaN)
        r = json.loads(js.read_text())
        assert r["young_fit_gpa"] is None and "a fit needs 2" in r["young_fit_note"]
    if label == "generate":
        from ase.io import read

        for p in sorted((tmp_path / "gen").glob("*.extxyz")):
            a = read(p)
            assert np.all(np.isfinite(a.positions)) and a.info["torch_threads"] >= 1


E2E = [
    ("analyze", "nan_cell.extxyz", []),
    ("analyze", "near_zero_volume.extxyz", []),
    ("analyze", "lammps_zero_box.data", []),
    ("generate", None, ["--cooling-rate", "1", "--box", "1e6,1e6,1e6", "--device", "cpu"]),
    ("md", None, ["melt-quench", "--atoms", "999999999", "--out-dir", "OUT"]),
    ("md", "close0.3", ["refine", "STRUCT", "--nvt-ps", "nan"]),
]


@pytest.mark.parametrize("cmd, target, extra", E2E)
def test_fuzz_end_to_end_subprocess(files, tmp_path, cmd, target, extra):
    """A few of the issue's crash cases as a user runs them: a separate process, one error line, status 2."""
    args = [cmd]
    if cmd == "analyze":
        args += [next(p for p in files["corpus"] if p.name == target)]
    elif cmd == "generate":
        args += [*extra, "--out", tmp_path / "g"]
    else:
        struct = files["close"][0.3]
        args += [str(struct) if a == "STRUCT" else (tmp_path / "mq" if a == "OUT" else a) for a in extra]
    p = subprocess.run([sys.executable, "-m", "amorph_core", *map(str, args)], capture_output=True, text=True,
                       timeout=120, env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert refusal_problem(p.returncode, p.stdout, p.stderr) is None, p.stderr
    assert not (tmp_path / "g").exists() and not (tmp_path / "mq").exists()


def test_corpus_is_refused_at_reading():
    """Every broken file is refused by read_structure itself (the one check the CLI and the app share)."""
    import tempfile

    from amorph_core.errors import AmorphError
    from amorph_core.structures.io import read_structure

    with tempfile.TemporaryDirectory() as d:
        for p in write_corpus(d):
            with pytest.raises(AmorphError) as exc:
                read_structure(p)
            assert not INTERNALS.search(str(exc.value)), (p.name, str(exc.value))
    assert len(broken_files()) >= 30
