"""Sampler and generation on the CPU with the shipped model (small systems, short schedules)."""
import subprocess
import sys
import threading

import numpy as np
import pytest
from ase.io import read

from amorph_core.diffusion import get_schedule
from amorph_core.errors import AmorphError
from amorph_core.generate import GenerationRequest, Generator, RunOptions, generate_structures, parse_seeds


@pytest.fixture(scope="module")
def gen():
    return Generator("sio2", None, "cpu")


def small(**kw):
    base = dict(system="sio2", cooling_rate_k_ps=1.0, n_atoms=192, seeds=(0,), schedule=20, device="cpu")
    base.update(kw)
    return GenerationRequest(**base)


def test_schedule_presets():
    s = get_schedule("paper")
    sig = s.sigmas()
    assert len(sig) == 3000 and sig[0] == 1.0 and np.all(sig[2899:] == 0) and np.all(np.diff(sig[:2900]) < 0)
    assert get_schedule(300).n_steps == 300
    with pytest.raises(AmorphError):
        get_schedule("nonsense")


def test_schedule_power():
    lin, p2 = get_schedule("paper").sigmas(), get_schedule("paper:p2")
    sig = p2.sigmas()
    assert p2.name == "paper-p2" and p2.n_steps == 3000 and sig[0] == 1.0 and np.all(sig[2899:] == 0)
    assert np.all(np.diff(sig[:2900]) < 0)
    assert np.allclose(sig[:2900], lin[:2900] ** 2)  # (1 - u)^2 with the linear fall 1 -> 0 being (1 - u)
    assert np.mean(sig[:2900] < 0.25) > 1.9 * np.mean(lin[:2900] < 0.25)  # twice the noisy steps below 0.25 Å
    assert np.array_equal(get_schedule("paper:p1").sigmas(), lin)
    assert get_schedule("600:p0.5").n_steps == 600
    w = get_schedule("paper:w0.1-0.45x4")
    sig = w.sigmas()[:2900]
    assert w.name == "paper-w0.1-0.45x4" and w.n_steps == 3000 and sig[0] == 1.0 and sig[-1] == 0.0
    assert np.all(np.diff(sig) < 0)
    inside = (sig >= 0.1) & (sig <= 0.45)
    dens_in, dens_out = inside.sum() / 0.35, (~inside).sum() / 0.65  # steps per Å
    assert abs(dens_in / dens_out - 4) < 0.05
    assert np.allclose(get_schedule("paper:w0.1-0.45x1").sigmas(), lin)
    for bad in ("paper:2", "paper:px", "paper:p9", "no-noise:p2", "nonsense:p2", "paper:w0.5-0.1x4",
                "paper:w0.1-0.45", "paper:w0.1-2x4", "paper:w0.1-0.45x0.05", "no-noise:w0.1-0.4x2"):
        with pytest.raises(AmorphError):
            get_schedule(bad)


def test_system_schedules():
    """'window' and 'matched' resolve per system and cooling rate; slower cooling = more freezing-window steps."""
    from amorph_core.generate import SCHEDULES, resolve_schedule, schedules_for

    assert {"paper", "window", "matched", "draft-window"} <= set(SCHEDULES) == set(schedules_for("sio2"))
    assert "paper" in schedules_for("cuzr") and not {"window", "matched", "draft-window"} & set(schedules_for("cuzr"))
    def window_steps(s):
        sig = s.sigmas()[:s.n_noisy]
        return int(((sig >= 0.1) & (sig <= 0.45)).sum())
    w = resolve_schedule("window", "sio2", 1.0)
    assert w.name == "window-w0.1-0.45x4" and w.n_steps == 3000
    assert window_steps(w) > 1.9 * window_steps(get_schedule("paper"))
    rates = (1000.0, 100.0, 10.0, 1.0, 0.1, 0.01)
    steps = [window_steps(resolve_schedule("matched", "sio2", r)) for r in rates]
    assert all(a < b for a, b in zip(steps, steps[1:])), steps
    m1 = resolve_schedule("matched", "sio2", 1.0)
    assert m1.name == "matched-w0.1-0.45x1.7" and m1.n_steps == 3000
    assert resolve_schedule("paper", "sio2", 1.0) == get_schedule("paper")
    # the CPU preset is exactly the measured '200:w0.1-0.45x4' (BENCHMARKS.md), under its own name
    dw = resolve_schedule("draft-window", "sio2", 1.0)
    assert dw.name == "draft-window-w0.1-0.45x4" and dw.n_steps == 200
    assert np.array_equal(dw.sigmas(), get_schedule("200:w0.1-0.45x4").sigmas())
    assert window_steps(dw) > 1.9 * window_steps(get_schedule(200))
    for bad in (("matched", "cuzr", None), ("window", "cuzr", None), ("draft-window", "cuzr", None)):
        with pytest.raises(AmorphError, match="a-SiO2 only"):
            resolve_schedule(*bad)


def test_parse_seeds():
    assert parse_seeds("0-3") == (0, 1, 2, 3) and parse_seeds("1,4,9") == (1, 4, 9)
    with pytest.raises(AmorphError):
        parse_seeds("a-b")


def test_generation_writes_parameters_and_is_reproducible(tmp_path, gen):
    p1 = generate_structures(small(seeds=(3,)), tmp_path / "a", generator=gen)
    p2 = generate_structures(small(seeds=(3,)), tmp_path / "b", generator=gen)
    a, b = read(p1[0]), read(p2[0])
    assert np.array_equal(a.positions, b.positions)
    for key in ("seed", "cooling_rate_k_ps", "density_g_cm3", "model", "schedule", "n_steps"):
        assert key in a.info, key
    assert a.info["seed"] == 3 and a.info["n_steps"] == 20
    assert np.all(a.get_scaled_positions(wrap=False) >= -1e-9) and np.all(a.get_scaled_positions(wrap=False) < 1 + 1e-9)
    c = read(generate_structures(small(seeds=(4,)), tmp_path / "c", generator=gen)[0])
    assert not np.allclose(a.positions, c.positions)


def test_batched_equals_one_by_one(tmp_path, gen):
    # float32 sums differ in the last bits between batch shapes and the sampler amplifies them over
    # many steps, so compare after a few steps at a tolerance far below an interatomic distance
    both = generate_structures(small(seeds=(0, 1), schedule=5, max_atoms_per_batch=10_000), tmp_path / "ab",
                               generator=gen)
    one = generate_structures(small(seeds=(1,), schedule=5), tmp_path / "b", generator=gen)
    diff = np.abs(read(both[1]).positions - read(one[0]).positions)
    assert diff.max() < 1e-3, diff.max()


def test_model_moves_atoms_towards_silica(tmp_path, gen):
    """A real model, not a stub: 100 denoising steps turn a random box into mostly 4-fold Si."""
    from vesin import NeighborList
    p = generate_structures(small(seeds=(0,), schedule="draft"), tmp_path, generator=gen)
    a = read(p[0])
    i, j = NeighborList(cutoff=2.0, full_list=True).compute(points=a.positions, box=a.cell.array, periodic=True,
                                                            quantities="ij")
    sym = np.array(a.get_chemical_symbols())
    m = sym[i] != sym[j]
    cn = np.bincount(i[m], minlength=len(a))[sym == "Si"]
    assert np.mean(cn == 4) > 0.6   # a uniform random start has ~4% 4-fold Si (Poisson, mean 1.4 O)


def test_cancel_keeps_finished(tmp_path, gen):
    ev = threading.Event()
    seen = []

    def progress(e):
        seen.append(e)
        if e["kind"] == "done":
            ev.set()  # cancel during the second structure

    paths = generate_structures(small(seeds=(0, 1), schedule=60), tmp_path, progress=progress, cancel=ev,
                                generator=gen)
    assert len(paths) == 1 and paths[0].exists()
    assert seen[-1]["kind"] == "cancelled"
    assert sorted(p.name for p in tmp_path.iterdir()) == [paths[0].name]


def _cancel_at(step_to_cancel):
    """(progress, cancel event): sets the event once a progress report reaches step_to_cancel."""
    ev, seen = threading.Event(), []

    def progress(e):
        seen.append(e)
        if e["kind"] == "progress" and e["step"] >= step_to_cancel:
            ev.set()
    return progress, ev, seen


@pytest.mark.parametrize("whole_step", [False, True])
def test_cancelled_run_resumes_to_the_same_glass(tmp_path, whole_step):
    """A run cancelled mid-trajectory (state saved at the cancel, checkpoints every 10 steps) and started again
    continues the same trajectory: the glass equals the uninterrupted one exactly (CPU)."""
    g = Generator("sio2", None, "cpu", mode="graph" if whole_step else "eager", whole_step=whole_step)
    req = small(seeds=(0, 1), schedule=40, max_atoms_per_batch=10_000)
    ref = [read(p) for p in generate_structures(req, tmp_path / "ref", generator=g)]
    progress, ev, seen = _cancel_at(25)
    out = tmp_path / "run"
    assert generate_structures(req, out, progress=progress, cancel=ev, generator=g,
                               run=RunOptions(progress_every=5, checkpoint_every=10)) == []
    assert seen[-1] == {"kind": "cancelled", "step": 25}
    partial = sorted(p.name for p in (out / ".partial").iterdir())
    assert [n.rsplit(".", 1)[1] for n in partial] == ["json", "pt"], partial
    # a different request (other cooling rate) does not pick the trajectory up; it starts from step 0
    other = generate_structures(small(seeds=(0, 1), schedule=40, max_atoms_per_batch=10_000, cooling_rate_k_ps=10.0),
                                out, generator=g, run=RunOptions(checkpoint_every=10))
    assert "resumed_from_step" not in read(other[0]).info
    for p_ in other:
        p_.unlink()
    seen.clear()
    paths = generate_structures(req, out, progress=seen.append, generator=g, run=RunOptions(checkpoint_every=10))
    assert seen[0] == {"kind": "resumed", "seeds": [0, 1], "step": 25, "n_steps": 40}
    got = [read(p) for p in paths]
    for a, b in zip(ref, got):
        assert np.array_equal(a.positions, b.positions)
        assert b.info["resumed_from_step"] == 25 and b.info["seed"] == a.info["seed"]
    assert not (out / ".partial").exists()  # finished: its trajectory files (and the empty folder) are gone
    # resume=False ignores a saved trajectory
    progress, ev, _ = _cancel_at(10)
    generate_structures(req, out, progress=progress, cancel=ev, generator=g,
                        run=RunOptions(progress_every=5, checkpoint_every=10))
    fresh = generate_structures(req, out, generator=g, run=RunOptions(checkpoint_every=10, resume=False))
    assert np.array_equal(read(fresh[0]).positions, ref[0].positions) and "resumed_from_step" not in read(fresh[0]).info


def test_resume_keeps_only_finished_structures_of_the_same_request(tmp_path, gen):
    out = tmp_path / "o"
    first = generate_structures(small(schedule=6), out, generator=gen, run=RunOptions(checkpoint_every=5))
    seen = []
    again = generate_structures(small(schedule=6), out, progress=seen.append, generator=gen,
                                run=RunOptions(checkpoint_every=5))
    assert again == first and [e.get("existing") for e in seen if e["kind"] == "done"] == [True]
    seen.clear()  # another density (same file name): made again, not taken for finished
    generate_structures(small(schedule=6, density_g_cm3=2.0), out, progress=seen.append, generator=gen,
                        run=RunOptions(checkpoint_every=5))
    assert [e.get("existing") for e in seen if e["kind"] == "done"] == [None]
    assert abs(read(first[0]).get_volume() - read(generate_structures(small(schedule=6), tmp_path / "p",
                                                                      generator=gen)[0]).get_volume()) > 1.0


def test_unreadable_partial_trajectory_is_a_clear_error(tmp_path, gen):
    out = tmp_path / "o"
    progress, ev, _ = _cancel_at(5)
    generate_structures(small(schedule=20), out, progress=progress, cancel=ev, generator=gen,
                        run=RunOptions(progress_every=5, checkpoint_every=5))
    pt = next((out / ".partial").glob("*.pt"))
    pt.write_text("not a tensor file")
    with pytest.raises(AmorphError, match="cannot be read.*delete"):
        generate_structures(small(schedule=20), out, generator=gen, run=RunOptions(checkpoint_every=5))
    assert pt.exists()  # nothing the user has is removed


@pytest.mark.parametrize("kw, msg", [
    (dict(cooling_rate_k_ps=1e5), "outside the supported range"),
    (dict(cooling_rate_k_ps=-1.0), "positive"),
    (dict(n_atoms=0), "positive"),
    (dict(n_atoms=30), "too small"),
    (dict(pore_radius_a=50.0), "does not fit"),
    (dict(density_g_cm3=50.0), "impossible"),
    (dict(seeds=()), "seed"),
])
def test_bad_requests(tmp_path, gen, kw, msg):
    with pytest.raises(AmorphError, match=msg):
        generate_structures(small(**kw), tmp_path, generator=gen)
    assert not any(tmp_path.iterdir())


def test_extrapolated_rate_warns(tmp_path, gen):
    from amorph_core.errors import AmorphWarning
    with pytest.warns(AmorphWarning):
        generate_structures(small(cooling_rate_k_ps=0.02, schedule=2), tmp_path, generator=gen)


def test_porous_generation(tmp_path, gen):
    p = generate_structures(small(n_atoms=1500, pore_radius_a=5.0, wall_density_g_cm3=2.2, schedule=3),
                            tmp_path, generator=gen)
    a = read(p[0])
    assert a.info["start"] == "porous" and a.info["pore_radius_a"] == 5.0


def test_models_for_system_default_first():
    from amorph_core.model.checkpoint import DEFAULT_MODELS, list_models, models_for_system, read_config
    for system in ("sio2", "cuzr"):
        names = models_for_system(system)
        assert all(read_config(n)["config"]["system"] == system for n in names)
        if DEFAULT_MODELS[system] in list_models():
            assert names[0] == DEFAULT_MODELS[system]
    assert set(models_for_system("sio2")).isdisjoint(models_for_system("cuzr"))


def test_wrong_system_checkpoint_refused():
    with pytest.raises(AmorphError, match="trained for system"):
        Generator("cuzr", "sio2-cond", "cpu")


def test_cli_generate_and_errors(tmp_path):
    out = subprocess.run([sys.executable, "-m", "amorph_core", "generate", "--cooling-rate", "1", "--atoms", "192",
                          "--seeds", "0-1", "--steps", "5", "--device", "cpu", "--out", str(tmp_path),
                          "--rate-guidance", "0.5", "--tf32"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    files = sorted(tmp_path.glob("*.extxyz"))
    assert len(files) == 2
    info = read(files[0]).info
    assert info["rate_guidance"] == 0.5 and "tf32" not in info  # TF32 applies on CUDA only
    bad = subprocess.run([sys.executable, "-m", "amorph_core", "generate", "--cooling-rate", "1e9", "--atoms", "192",
                          "--out", str(tmp_path / "x")], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "error:" in bad.stderr and "Traceback" not in bad.stderr


def test_cli_ctrl_c_saves_and_the_same_command_continues(tmp_path):
    import signal

    cmd = [sys.executable, "-m", "amorph_core", "generate", "--cooling-rate", "1", "--atoms", "192", "--seed", "2",
           "--steps", "200", "--device", "cpu", "--out", str(tmp_path), "--checkpoint-every", "20"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:  # progress lines come every 50 steps
        if "step 50/200" in line:
            proc.send_signal(signal.SIGINT)
            break
    err = proc.stderr.read()
    assert proc.wait(timeout=300) == 130, err
    assert "cancelled at step" in err and "run the same command again" in err
    assert not list(tmp_path.glob("*.extxyz")) and len(list((tmp_path / ".partial").glob("*.pt"))) == 1
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "continuing the saved trajectory at step" in again.stderr
    (f,) = tmp_path.glob("*.extxyz")
    assert read(f).info["resumed_from_step"] >= 50
    bad = subprocess.run(cmd[:-1] + ["-5"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "--checkpoint-every must be a whole number (>= 0 steps)" in bad.stderr


def test_parse_refine_presets_and_numbers():
    from amorph_core.md.refinement import REFINE_PRESETS, parse_refine
    assert parse_refine("min") == (0.0, 0.0) and parse_refine(" Paper ") == REFINE_PRESETS["paper"] == (25.0, 25.0)
    assert parse_refine("short") == (1.0, 0.0)
    assert parse_refine("5") == (5.0, 0.0) and parse_refine("2.5, 10") == (2.5, 10.0)
    for bad in ["", "1,", "x", "1e9", "inf", "-0.5,1"]:
        with pytest.raises(AmorphError):
            parse_refine(bad)


def test_cli_generate_refine(tmp_path):
    """--refine writes NAME_refined.extxyz beside the kept generated file, with the generation record."""
    base = [sys.executable, "-m", "amorph_core", "generate", "--cooling-rate", "1", "--atoms", "648", "--seed", "3",
            "--device", "cpu", "--md-engine", "lammps"]
    out = subprocess.run(base + ["--steps", "30", "--refine", "0.02", "--out", str(tmp_path / "ok")],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    a = read(tmp_path / "ok" / "sio2_1Kps_648at_seed3.extxyz")
    g = read(tmp_path / "ok" / "sio2_1Kps_648at_seed3_refined.extxyz")
    assert g.info["refined"].startswith("0.02 ps NVT") and g.info["engine"] == "lammps-CPU"
    for k in ("seed", "model", "schedule", "cooling_rate_k_ps", "n_steps"):
        assert g.info[k] == a.info[k], k
    assert int(g.info["seed"]) == 3 and g.get_chemical_formula() == a.get_chemical_formula()
    assert int(g.info["refine_seed"]) == 3  # the MD seed defaults to the generation seed
    # into another folder under the generated file's name, with a chosen MD seed (benchmarks/refine_generated.py)
    from amorph_core.md.refinement import refine_files
    row = refine_files([tmp_path / "ok" / "sio2_1Kps_648at_seed3.extxyz"], "min", "lammps",
                       out_dir=tmp_path / "min", seed=0)[0]
    assert row["error"] is None and row["refined"] == str(tmp_path / "min" / "sio2_1Kps_648at_seed3.extxyz")
    assert int(read(row["refined"]).info["refine_seed"]) == 0
    d = g.get_positions() - a.get_positions()
    d -= np.diag(a.cell) * np.round(d / np.diag(a.cell))  # minimum image (orthorhombic box, NVT only)
    assert 0.01 < np.abs(d).max() < 5.0  # moved by minimisation + MD, not scrambled
    # two denoising steps leave overlapping atoms: refinement refuses them, the generated file stays
    bad = subprocess.run(base + ["--steps", "2", "--refine", "min", "--out", str(tmp_path / "bad")],
                         capture_output=True, text=True, timeout=600)
    assert bad.returncode == 2 and "generated structure is kept" in bad.stderr and "Traceback" not in bad.stderr
    assert [f.name for f in (tmp_path / "bad").iterdir()] == ["sio2_1Kps_648at_seed3.extxyz"]
    rows = refine_files(list((tmp_path / "bad").iterdir()), "min", "lammps")
    assert rows[0]["refined"] is None and "apart" in rows[0]["error"]
    assert refine_files(list((tmp_path / "bad").iterdir()), "min", "lammps", cancel=lambda: True) == []


def test_cli_train_tiny(tmp_path):
    out = subprocess.run([sys.executable, "-m", "amorph_core", "train", "--tiny", "--steps", "4", "--batch-size", "1",
                          "--max-structures", "1", "--device", "cpu", "--out", str(tmp_path / "m")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    import json
    doc = json.loads((tmp_path / "m" / "config.json").read_text())
    assert doc["meta"]["step"] == 4 and "val_loss_A2" in doc["meta"] and doc["meta"]["train_data_sha256"]
    # resume continues from the saved step
    out = subprocess.run([sys.executable, "-m", "amorph_core", "train", "--tiny", "--steps", "6", "--batch-size", "1",
                          "--max-structures", "1", "--device", "cpu", "--out", str(tmp_path / "m")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and "resumed at step 4" in out.stdout + out.stderr
    assert json.loads((tmp_path / "m" / "config.json").read_text())["meta"]["step"] == 6


def test_train_a_grown_species_linear_checkpoint(tmp_path):
    """A checkpoint grown with species-dependent linears (scripts/grow_species_linears.py) trains on from its
    weights and step; training makes the elements' linears differ."""
    import torch

    from amorph_core.model import load_model, save_checkpoint
    from amorph_core.model.denoiser import with_species_linears
    from amorph_core.train import TrainConfig, train
    tiny = dict(num_blocks=1, hidden_scalars=8, hidden_vectors=4, radial_hidden=8, num_bessel=4)
    base = TrainConfig(steps=2, batch_size=1, max_structures=1, device="cpu", model=tiny, warmup=0, val_every=10,
                       ckpt_every=10)
    train(base, tmp_path / "m", log=lambda *a: None)
    m, doc = load_model(tmp_path / "m")
    save_checkpoint(tmp_path / "g", with_species_linears(m), doc["meta"])
    lines = []
    train(TrainConfig(steps=5, batch_size=1, max_structures=1, device="cpu", warmup=0, lr=1e-2, ema_decay=0.0,
                      val_every=10, ckpt_every=10, schedule_start=2), tmp_path / "g", log=lines.append)
    assert any("continuing from the checkpoint's weights at step 2" in ln for ln in lines), lines
    g, gdoc = load_model(tmp_path / "g")
    assert gdoc["meta"]["step"] == 5 and g.cfg.species_linears_kind == "masked"
    lins = g.blocks[0].linear_pre.lins
    assert not torch.allclose(lins[0].weight, lins[1].weight)


def test_train_from_a_weights_only_checkpoint_and_no_overwrite(tmp_path):
    """A checkpoint without optimizer state (a shipped or copied model) is continued from its weights at its step,
    never silently replaced by a fresh model (that once ran with a negative learning rate and diverged); training
    from scratch into a directory holding a checkpoint is refused; bad learning rates are refused up front."""
    import torch

    from amorph_core.model import load_model
    from amorph_core.train import TrainConfig, _lr, train
    tiny = dict(num_blocks=1, hidden_scalars=8, hidden_vectors=4, radial_hidden=8, num_bessel=4)
    cfg = TrainConfig(steps=3, batch_size=1, max_structures=1, device="cpu", model=tiny, warmup=1, val_every=10,
                      ckpt_every=10)
    out = tmp_path / "m"
    train(cfg, out, log=lambda *a: None)
    (out / "train_state.pt").unlink()
    before, _ = load_model(out)
    model_pt = (out / "model.pt").read_bytes()
    with pytest.raises(AmorphError, match="already holds a checkpoint"):
        train(cfg, out, resume=False, log=lambda *a: None)
    assert (out / "model.pt").read_bytes() == model_pt  # untouched
    lines = []
    more = TrainConfig(steps=5, batch_size=1, max_structures=1, device="cpu", model=tiny, warmup=0, lr=1e-9,
                       lr_min=0.0, ema_decay=0.0, val_every=10, ckpt_every=10, schedule_start=3)
    train(more, out, log=lines.append)
    assert any("continuing from the checkpoint's weights at step 3" in ln for ln in lines), lines
    after, doc = load_model(out)
    assert doc["meta"]["step"] == 5
    # the requested architecture had no effect on a continued checkpoint: said, and not recorded as if it had
    assert any("TrainConfig.model" in ln and "ignored" in ln for ln in lines), lines
    assert doc["meta"]["train_config"]["model"] == {}
    for (k, a), b in zip(before.state_dict().items(), after.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6), k  # a near-zero learning rate keeps the loaded weights
    assert _lr(TrainConfig(schedule_start=17430, warmup=10), 0) > 0
    # a run that blows up stops as diverged before any save: the checkpoint on disk stays as it was
    model_pt = (out / "model.pt").read_bytes()
    wild = TrainConfig(steps=30, batch_size=1, max_structures=1, device="cpu", model=tiny, warmup=0, lr=1e3,
                       lr_min=1e3, val_every=100, ckpt_every=100, schedule_start=5)
    with pytest.raises(AmorphError, match="diverged"):
        train(wild, out, log=lambda *a: None)
    assert (out / "model.pt").read_bytes() == model_pt
    for bad in (dict(lr=-0.1), dict(lr_min=1.0, lr=1e-3), dict(sigma_min=0.0), dict(ema_decay=1.0), dict(steps=0),
                dict(sigma_lognormal=(-0.6, 0.0)), dict(sigma_lognormal=(float("nan"), 1.0))):
        with pytest.raises(AmorphError):
            TrainConfig(**bad)


def test_lognormal_noise_levels_follow_their_parameters():
    """--sigma-lognormal MU SD: ln(sigma) ~ N(MU, SD^2) clipped to the range, recorded as given."""
    import numpy as np

    from amorph_core.cli import build_parser
    from amorph_core.train import TrainConfig, sample_sigmas

    cfg = TrainConfig(sigma_dist="lognormal", sigma_lognormal=[-0.6, 0.9], sigma_min=0.002, sigma_max=2.5)
    assert cfg.sigma_lognormal == (-0.6, 0.9)
    s = sample_sigmas(np.random.default_rng(0), cfg, 20000)
    assert s.min() >= 0.002 and s.max() <= 2.5
    assert np.median(s) == pytest.approx(np.exp(-0.6), rel=0.03)  # the default (-1.4, 1.2) has median 0.25 Å
    args = build_parser().parse_args(["train", "--out", "x", "--sigma-dist", "lognormal", "--sigma-lognormal",
                                      "-0.6", "0.9"])
    assert tuple(args.sigma_lognormal) == (-0.6, 0.9)


def test_loss_weights():
    """Eq. 5 unweighted by default; 'balanced' is 1 at sigma_max and grows to (0.75^2 + 0.05^2) / 0.05^2 at zero
    noise; the weighted loss is the per-structure weighted mean of the same squared errors."""
    import numpy as np
    import torch

    from amorph_core.errors import AmorphError
    from amorph_core.model import Denoiser, DenoiserConfig
    from amorph_core.train import Dataset, TrainConfig, loss_on, loss_weights, make_batch
    s = np.array([0.0, 0.01, 0.1, 0.75])
    assert np.all(loss_weights(TrainConfig(), s) == 1.0)
    w = loss_weights(TrainConfig(loss_weight="balanced"), s)
    assert w[-1] == pytest.approx(1.0) and w[0] == pytest.approx((0.75 ** 2 + 0.05 ** 2) / 0.05 ** 2)
    assert np.all(np.diff(w) < 0)
    with pytest.raises(AmorphError):
        loss_weights(TrainConfig(loss_weight="snr"), s)
    from amorph_core.train import train
    with pytest.raises(AmorphError, match="loss_weight"):  # refused up front: nothing written
        train(TrainConfig(loss_weight="snr", device="cpu"), "/nonexistent/never-created")
    ds = Dataset("sio2", "train", ("Si", "O"), "cpu", 2)
    model = Denoiser(DenoiserConfig(elements=("Si", "O"), num_blocks=1, hidden_scalars=8, hidden_vectors=4,
                                    radial_hidden=8, num_bessel=4, conditional=True))
    gen = torch.Generator().manual_seed(0)
    batch = make_batch(ds.items[:2], [0.05, 0.3], gen, "cpu")
    with torch.no_grad():
        plain, plain2 = loss_on(model, batch, 5.0)
        weighted, plain3 = loss_on(model, batch, 5.0, [3.0, 0.5])
    assert plain2 is plain and plain3.item() == pytest.approx(plain.item(), rel=1e-6)  # float sums: not bit-equal
    n0 = batch[4][1] - batch[4][0]
    n1 = batch[4][2] - batch[4][1]
    assert n0 == n1  # equal sizes: the weighted mean is (3 e0 + 0.5 e1) / 2 with e_i each structure's mean error
    with torch.no_grad():
        e0 = loss_on(model, make_batch(ds.items[:1], [0.05], torch.Generator().manual_seed(0), "cpu"), 5.0)[0]
    assert weighted.item() != pytest.approx(plain.item())
    e1 = 2 * plain - e0
    assert weighted.item() == pytest.approx((3 * e0 + 0.5 * e1).item() / 2, rel=1e-4)


@pytest.mark.parametrize("args, msg", [
    (["--density", "0"], "positive"),
    (["--density", "50"], "impossible"),
    (["--pore-radius", "40", "--box", "30,30,30"], "does not fit"),
    (["--atoms", "0"], "positive"),
    (["--box", "30,abc,30"], "--box"),
    (["--refine", "abc"], "refinement must be"),
    (["--refine", "1,2,3"], "refinement must be"),
    (["--refine", "-1"], "between 0"),
    (["--refine", "nan,0"], "between 0"),
    (["--refine", "min"], "box too small for potential"),  # 192 atoms: under twice BJP's 8 Å cutoff
    (["--refine", "min", "--atoms", "648", "--md-engine", "foo"], "unknown MD engine"),
    (["--rate-guidance", "9"], "rate guidance must be a finite number (>= 0 and <= 4)"),
    (["--rate-guidance", "1", "--system", "cuzr", "--atoms", "256"], "needs a cooling-rate-conditional model"),
])
def test_cli_generate_bad_input(tmp_path, args, msg):
    base = ["--cooling-rate", "1", "--steps", "2", "--device", "cpu", "--out", str(tmp_path / "o")]
    if "--atoms" not in args and "--box" not in args:
        base += ["--atoms", "192"]
    out = subprocess.run([sys.executable, "-m", "amorph_core", "generate", *base, *args],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 2, out.stderr
    assert msg in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


@pytest.mark.isolated
def test_distributed_training_two_processes(tmp_path):
    """The torchrun / DistributedDataParallel path (gloo on the CPU): two ranks train one tiny model.
    Marked isolated: run in its own pytest process (scripts/test.sh) because after the rest of the suite in
    the same process the two ranks were seen to hang (not understood yet)."""
    import json
    import shutil
    torchrun = shutil.which("torchrun", path=str(__import__("pathlib").Path(sys.executable).parent))
    if torchrun is None:
        pytest.skip("torchrun not found next to the Python executable")
    import os
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    out = subprocess.run([torchrun, "--standalone", "--nproc_per_node", "2", "-m", "amorph_core", "train",
                          "--tiny", "--steps", "4", "--batch-size", "1", "--max-structures", "2", "--device", "cpu",
                          "--out", str(tmp_path / "m")], capture_output=True, text=True, timeout=180, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    meta = json.loads((tmp_path / "m" / "config.json").read_text())["meta"]
    assert meta["world_size"] == 2 and meta["step"] == 4
    # A time limit must stop both ranks after the same step (rank 0 decides); a rank stopping alone hangs.
    out = subprocess.run([torchrun, "--standalone", "--nproc_per_node", "2", "-m", "amorph_core", "train",
                          "--tiny", "--steps", "100000", "--batch-size", "1", "--max-structures", "2",
                          "--device", "cpu", "--max-minutes", "0.05", "--out", str(tmp_path / "m2")],
                         capture_output=True, text=True, timeout=180, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    meta = json.loads((tmp_path / "m2" / "config.json").read_text())["meta"]
    assert 0 < meta["step"] < 100000 and meta["step"] % 10 == 0


def test_nan_from_model_is_a_clear_error(tmp_path):
    """A checkpoint that produces NaN: a clear AmorphError, no half-written structure."""
    import torch

    from amorph_core.model import Denoiser, DenoiserConfig, save_checkpoint
    m = Denoiser(DenoiserConfig(num_blocks=1, hidden_scalars=8, hidden_vectors=4, radial_hidden=8, num_bessel=4))
    with torch.no_grad():
        m.out.weight.fill_(float("nan"))
    save_checkpoint(tmp_path / "nanmodel", m)
    g = Generator("sio2", str(tmp_path / "nanmodel"), "cpu")
    with pytest.raises(AmorphError, match="non-finite"):
        generate_structures(small(schedule=3), tmp_path / "out", generator=g)
    assert not any((tmp_path / "out").iterdir())


def test_sigma_distributions():
    """Paper: sigma ~ U(0.001, 0.75) Å; the log-uniform option covers the same range with a median near 0.03 Å."""
    import numpy as np

    from amorph_core.errors import AmorphError
    from amorph_core.train import TrainConfig, sample_sigmas
    rng = np.random.default_rng(0)
    u = sample_sigmas(rng, TrainConfig(), 20000)
    lg = sample_sigmas(rng, TrainConfig(sigma_dist="loguniform"), 20000)
    mx = sample_sigmas(rng, TrainConfig(sigma_dist="mixture"), 20000)
    for x in (u, lg, mx):
        assert x.min() >= 0.001 and x.max() <= 0.75
    assert abs(np.median(u) - 0.3755) < 0.02
    assert abs(np.median(lg) - np.sqrt(0.001 * 0.75)) < 0.005
    # mixture: P(sigma < 0.03 Å) = (0.029 / 0.749 + ln(30) / ln(750)) / 2 = 0.277
    assert abs((mx < 0.03).mean() - 0.277) < 0.015
    # window: P(0.1 <= sigma <= 0.45 Å) = (0.35 / 0.749 + 1) / 2 = 0.734
    w = sample_sigmas(rng, TrainConfig(sigma_dist="window"), 20000)
    assert w.min() >= 0.001 and w.max() <= 0.75
    assert abs(((w >= 0.1) & (w <= 0.45)).mean() - 0.734) < 0.015
    assert TrainConfig(sigma_window=[0.2, 0.3]).sigma_window == (0.2, 0.3)  # as read back from JSON
    assert TrainConfig(sigma_dist="window").sigma_window == (0.1, 0.45)  # a-SiO2's freezing window, recorded
    with pytest.raises(AmorphError, match="no freezing window"):
        TrainConfig(system="cuzr", sigma_dist="window")
    with pytest.raises(AmorphError):
        sample_sigmas(rng, TrainConfig(sigma_dist="gamma"), 3)
    with pytest.raises(AmorphError, match="sigma_window"):
        TrainConfig(sigma_window=(0.5, 0.2))


def test_schedule_probe_trace_leaves_trajectory_alone(tmp_path):
    """The freeze-window calibration (amorph_core.calibration.freeze_window) on the CPU: the traced run's quench
    branches draw no noise, so its glass equals the untraced run of the same schedule ('12:p1' has the same noise
    levels as '12')."""
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    # one thread: the two runs must be equal to the last bit, which a fixed thread count guarantees on a CPU
    env = {**__import__("os").environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "AMORPH_PROBE_DEVICE": "cpu", "AMORPH_PROBE_ATOMS": "192",
           "AMORPH_TRACE_EVERY": "6", "AMORPH_TRACE_QUENCH": "2"}
    r = subprocess.run([sys.executable, "-m", "amorph_core.calibration.freeze_window", "assets/models/sio2-cond-hq4",
                        str(tmp_path),
                        "1.0", "3", "12", "12:p1"], capture_output=True, text=True, timeout=600, env=env, cwd=root)
    assert r.returncode == 0, r.stderr[-2000:]
    trace = json.loads((tmp_path / "trace.json").read_text())
    assert [row["step"] for row in trace["rows"]] == [6, 12] and trace["rows"][-1]["sigma_a"] == 0.0
    assert all(len(row["quenched_2"]) == 1 and 0 <= row["quenched_2"][0][0] <= 100 for row in trace["rows"])
    a, b = read(tmp_path / "steps12" / "seed3.extxyz"), read(tmp_path / "steps12-p1" / "seed3.extxyz")
    assert np.array_equal(a.positions, b.positions) and a.info["schedule"] == "steps12"
    assert json.loads((tmp_path / "steps12.json").read_text())["n_generated"] == 1
