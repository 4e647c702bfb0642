"""Scaling out: sweep specs, the global batch plan, ranks from a launcher, the same files from 1 or 3
processes (the shipped model on the CPU, tiny systems, 2-step schedules), and DDP training resumed on another
number of processes."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from ase.io import read

from amorph_core.errors import AmorphError
from amorph_core.generate import GenerationRequest, RunOptions, generate_structures
from amorph_core.sweep import Rank, WorkUnit, assign, expand_spec, load_spec, plan_units, rank_from_env

ROOT = Path(__file__).resolve().parents[1]
#: per-file fields that differ between runs of the same structure
TIMING = ("generation_time_s", "created_utc")
SPEC = {"base": {"system": "sio2", "seeds": "0-1", "schedule": 2, "device": "cpu"},
        "grid": {"cooling_rate_k_ps": [0.1, 10.0], "n_atoms": [96]}}


def one_thread_env():
    return dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
                PYTHONPATH=str(ROOT))


def same_structure(a_path, b_path):
    a, b = read(a_path), read(b_path)
    assert np.array_equal(a.positions, b.positions), a_path
    assert np.array_equal(a.cell.array, b.cell.array) and a.get_chemical_symbols() == b.get_chemical_symbols()
    ia = {k: v for k, v in a.info.items() if k not in TIMING}
    ib = {k: v for k, v in b.info.items() if k not in TIMING}
    assert ia == ib and "seed" in ia, (ia, ib)


def test_expand_spec_grid_and_requests(tmp_path):
    reqs = expand_spec({"base": {"system": "sio2", "seeds": "0-2", "n_atoms": 96},
                        "grid": {"cooling_rate_k_ps": [0.1, 1.0], "n_atoms": [96, 192]},
                        "requests": [{"cooling_rate_k_ps": 100.0, "box": [12, 12, 14], "n_atoms": None}]})
    assert [(q.cooling_rate_k_ps, q.n_atoms) for q in reqs[:4]] == [(0.1, 96), (0.1, 192), (1.0, 96), (1.0, 192)]
    assert reqs[4].box == (12.0, 12.0, 14.0) and reqs[4].cooling_rate_k_ps == 100.0
    assert all(q.seeds == (0, 1, 2) and isinstance(q, GenerationRequest) for q in reqs)
    (tmp_path / "s.toml").write_text('[base]\nseeds = [3, 5]\nsystem = "sio2"\nn_atoms = 96\n'
                                     '[grid]\ncooling_rate_k_ps = [1, 10]\n')
    (tmp_path / "s.json").write_text(json.dumps({"base": {"seeds": [3, 5], "system": "sio2", "n_atoms": 96},
                                                 "grid": {"cooling_rate_k_ps": [1, 10]}}))
    assert load_spec(tmp_path / "s.toml") == load_spec(tmp_path / "s.json")
    assert expand_spec({"base": {"n_atoms": 96, "seeds": 4}}) == [GenerationRequest(n_atoms=96, seeds=(4,))]
    for bad, msg in (({"grid": {"cooling_rate": [1]}}, "unknown field"), ({"grid": {"n_atoms": []}}, "non-empty"),
                     ({"base": {}}, "asks for nothing"), ({"sweep": {}}, "unknown section"),
                     ({"requests": [{"box": [1, 2]}]}, "list of 3")):
        with pytest.raises(AmorphError, match=msg):
            expand_spec(bad)
    (tmp_path / "bad.toml").write_text("[grid\n")
    with pytest.raises(AmorphError, match="cannot be read"):
        load_spec(tmp_path / "bad.toml")


def test_rank_from_env():
    assert rank_from_env({}) == Rank(0, 1, 0)
    assert rank_from_env({"RANK": "5", "WORLD_SIZE": "8", "LOCAL_RANK": "1"}) == Rank(5, 8, 1, True)
    for bad in ({"RANK": "8", "WORLD_SIZE": "8"}, {"RANK": "x", "WORLD_SIZE": "2"}):
        with pytest.raises(AmorphError):
            rank_from_env(bad)


def test_assign_deals_whole_batches_evenly():
    units = [WorkUnit(0, (k,), 100 * (1 + k % 3), 10) for k in range(10)]
    for world in (1, 2, 3, 4, 16):
        shares = assign(units, world)
        assert sorted(i for s in shares for i in s) == list(range(10)) and len(shares) == world
        loads = [sum(units[i].cost for i in s) for s in shares]
        assert max(loads) - min(loads) <= max(u.cost for u in units)
        assert shares == assign(units, world)  # deterministic


def test_plan_is_that_of_one_process_and_refuses_colliding_files(tmp_path):
    """The plan's batches are those generate_structures makes in one process (CUDA: many structures a batch)."""
    req = GenerationRequest(system="sio2", cooling_rate_k_ps=1.0, n_atoms=96, seeds=tuple(range(7)), schedule=2,
                            device="cpu", max_atoms_per_batch=300)
    units = plan_units([req])
    assert [u.seeds for u in units] == [(0, 1, 2), (3, 4, 5), (6,)] and units[0].n_atoms == 288
    twice = [req, GenerationRequest(**{**req.__dict__, "density_g_cm3": 2.5})]
    with pytest.raises(AmorphError, match="both write"):
        plan_units(twice, tmp_path)
    with pytest.raises(AmorphError, match="too small"):
        plan_units([GenerationRequest(system="sio2", cooling_rate_k_ps=1.0, n_atoms=12, device="cpu")])


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The sweep made by plain generate_structures calls in this process (one thread, as each rank below)."""
    import torch

    out = tmp_path_factory.mktemp("one")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for q in expand_spec(SPEC):
            generate_structures(q, out)
    finally:
        torch.set_num_threads(threads)
    files = sorted(p.name for p in out.glob("*.extxyz"))
    assert len(files) == 4
    return out, files


class CancelAfter:
    """A cancel event that turns set at its (polls + 1)-th look, as a Ctrl-C at a chosen moment would."""

    def __init__(self, polls):
        self.polls = polls

    def is_set(self):
        self.polls -= 1
        return self.polls < 0


def test_interrupted_sweep_continues_on_two_ranks(tmp_path, reference):
    """A sweep stopped after its first step in one process (trajectory saved) is finished by ranks 0 and 1 of 2
    (run here one after the other: ranks never talk): rank 0 continues the saved trajectory, and every file
    equals the uninterrupted run's."""
    import torch

    from amorph_core.sweep import run_share

    ref, files = reference
    reqs = expand_spec(SPEC)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        events = []
        # looks: run_share before the first batch, the sampler before step 0 and before step 1 (cancelled there)
        assert run_share(reqs, tmp_path, Rank(), cancel=CancelAfter(2),
                         progress=events.append, run=RunOptions(checkpoint_every=1)) == []
        assert events[-1] == {"kind": "cancelled", "step": 1} and len(list((tmp_path / ".partial").glob("*.pt"))) == 1
        events = []
        for r in (0, 1):
            run_share(reqs, tmp_path, Rank(r, 2, r, True), progress=events.append, run=RunOptions(checkpoint_every=1))
    finally:
        torch.set_num_threads(threads)
    assert [(e["seeds"], e["step"]) for e in events if e["kind"] == "resumed"] == [([0], 1)]
    assert sorted(p.name for p in tmp_path.glob("*.extxyz")) == files and not (tmp_path / ".partial").exists()
    for name in files:
        a, b = read(ref / name), read(tmp_path / name)
        assert np.array_equal(a.positions, b.positions) and np.array_equal(a.cell.array, b.cell.array)
        assert b.info.pop("resumed_from_step", 1) == 1 and {k: v for k, v in a.info.items() if k not in TIMING} \
            == {k: v for k, v in b.info.items() if k not in TIMING}


@pytest.mark.isolated
def test_sweep_over_three_processes_gives_the_same_files(tmp_path, reference):
    """amorph sweep --procs 3 (three processes from torch's elastic launcher) writes the files one process
    writes: positions, cell, seeds and parameters equal bit for bit."""
    ref, files = reference
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPEC))
    out = subprocess.run([sys.executable, "-m", "amorph_core", "sweep", str(spec), "--out", str(tmp_path / "o"),
                          "--procs", "3", "--threads", "1"], capture_output=True, text=True, timeout=240,
                         env=one_thread_env())
    assert out.returncode == 0, out.stderr[-3000:]
    assert "4 structure(s)" in out.stdout and {f"[rank {r}/3]" for r in range(3)} <= set(
        line[:10] for line in out.stdout.splitlines())
    assert sorted(p.name for p in (tmp_path / "o").glob("*.extxyz")) == files
    for name in files:
        same_structure(ref / name, tmp_path / "o" / name)
    plan = json.loads((tmp_path / "o" / "sweep.json").read_text())
    assert len(plan["requests"]) == 2 and [b["seeds"] for b in plan["batches"]] == [[0], [1], [0], [1]]


@pytest.mark.isolated
def test_resumed_generate_under_torchrun_skips_what_is_done(tmp_path, reference):
    """amorph generate in two torchrun ranks (RANK / WORLD_SIZE), into a folder already holding one of its two
    structures: that file is kept untouched, the other equals one process's."""
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    if torchrun is None:
        pytest.skip("torchrun not found next to the Python executable")
    ref, _ = reference
    out_dir = tmp_path / "o"
    out_dir.mkdir()
    kept, made = "sio2_10Kps_96at_seed0.extxyz", "sio2_10Kps_96at_seed1.extxyz"
    shutil.copy2(ref / kept, out_dir / kept)
    stamp = (out_dir / kept).stat().st_mtime_ns
    out = subprocess.run([torchrun, "--standalone", "--nproc_per_node", "2", "-m", "amorph_core", "generate",
                          "--cooling-rate", "10", "--atoms", "96", "--seeds", "0-1", "--steps", "2", "--device",
                          "cpu", "--out", str(out_dir)], capture_output=True, text=True, timeout=240,
                         env=one_thread_env())
    assert out.returncode == 0, out.stderr[-3000:]
    assert sorted(p.name for p in out_dir.glob("*.extxyz")) == [kept, made]
    assert (out_dir / kept).stat().st_mtime_ns == stamp
    assert "1 structure(s)" in out.stdout  # each rank: its one structure, one of them the kept file
    for name in (kept, made):
        same_structure(ref / name, out_dir / name)


def test_slurm_script_gives_each_task_its_share(tmp_path):
    """scripts/slurm_generate.sh under an srun that starts SLURM_NTASKS tasks (this test's stand-in for the
    cluster): every batch is in exactly one task's share."""
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({**SPEC, "base": {**SPEC["base"], "seeds": "0-4"}}))
    srun = tmp_path / "bin" / "srun"
    srun.parent.mkdir()
    srun.write_text('#!/usr/bin/env bash\n[ "$1" = --kill-on-bad-exit=1 ] && shift\n'
                    'for i in $(seq 0 $((SLURM_NTASKS - 1))); do SLURM_PROCID=$i SLURM_LOCALID=$((i % 2)) "$@" & done\n'
                    'wait\n')
    srun.chmod(0o755)
    env = dict(one_thread_env(), PATH=f"{srun.parent}:{os.environ['PATH']}", SLURM_NTASKS="3",
               AMORPH=f"{sys.executable} -m amorph_core")
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        env.pop(key, None)
    out = subprocess.run(["bash", str(ROOT / "scripts" / "slurm_generate.sh"), str(spec), str(tmp_path / "o"),
                          "--plan"], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = sorted(line for line in out.stdout.splitlines() if line.startswith("rank "))
    assert [line.split(" (")[0] for line in lines] == [f"rank {r} of 3" for r in range(3)], out.stdout
    shares = [line.rsplit("batches ", 1)[1].split(",") for line in lines]
    assert sorted(int(b) for s in shares for b in s) == list(range(10))
    assert "(local 1)" in lines[1]


@pytest.mark.isolated
def test_training_resumes_on_another_number_of_processes(tmp_path):
    """DDP training (gloo on the CPU) on 2 processes, then resumed in 1: the steps continue from the saved one,
    the weights move on, the loss stays finite."""
    import torch

    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    if torchrun is None:
        pytest.skip("torchrun not found next to the Python executable")
    out_dir = tmp_path / "m"

    def train(procs, steps):
        launcher = [torchrun, "--standalone", "--nproc_per_node", str(procs)] if procs > 1 else [sys.executable]
        out = subprocess.run([*launcher, "-m", "amorph_core", "train", "--tiny", "--steps", str(steps), "--batch-size",
                              "1", "--max-structures", "2", "--device", "cpu", "--out", str(out_dir)],
                             capture_output=True, text=True, timeout=240, env=one_thread_env())
        assert out.returncode == 0, out.stderr[-3000:]
        return out.stdout + out.stderr, json.loads((out_dir / "config.json").read_text())["meta"]

    _, meta = train(2, 4)
    assert meta["world_size"] == 2 and meta["step"] == 4
    before = torch.load(out_dir / "train_state.pt", weights_only=True)["model"]
    log, meta = train(1, 6)
    assert "resumed at step 4" in log and meta["world_size"] == 1 and meta["step"] == 6 and meta["final"]
    after = torch.load(out_dir / "train_state.pt", weights_only=True)
    assert int(after["step"]) == 6 and any(not torch.equal(before[k], after["model"][k]) for k in before)
    rows = [json.loads(line) for line in (out_dir / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [4, 6] and all(np.isfinite(r["loss_A2"]) for r in rows)
    assert np.isfinite(meta["val_loss_A2"])


@pytest.mark.parametrize("spec, extra, msg", [
    ({"grid": {"cooling_rate": [1, 10]}}, [], "unknown field(s) cooling_rate"),
    (None, [], "not found"),
    (SPEC, ["--procs", "0"], "--procs must be"),
    ({"base": {**SPEC["base"], "n_atoms": 12, "cooling_rate_k_ps": 1}}, [], "too small"),
])
def test_cli_sweep_bad_input(tmp_path, spec, extra, msg):
    path = tmp_path / "spec.json"
    if spec is not None:
        path.write_text(json.dumps(spec))
    out = subprocess.run([sys.executable, "-m", "amorph_core", "sweep", str(path), "--out", str(tmp_path / "o"),
                          *extra], capture_output=True, text=True, timeout=120, env=one_thread_env())
    assert out.returncode == 2 and msg in out.stderr and "Traceback" not in out.stderr, out.stderr
    assert not (tmp_path / "o").exists()
