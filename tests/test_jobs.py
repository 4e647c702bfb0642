"""The background job manager, driven by a real small runner that writes structures to disk."""
import json
import threading
import time
from pathlib import Path

import pytest

from amorph_core.errors import AmorphError
from amorph_core.jobs import (CANCELLED, DONE, FAILED, INTERRUPTED, QUEUED, RUNNING, STATUS_FILE, JobManager,
                              atomic_write_json)
from amorph_core.structures import read_structure, uniform_start, write_structure


def random_glass_runner(params, out_dir, progress, cancel):
    """Writes params['n'] random SiO2 boxes, reporting steps; waits on params-named gates if given."""
    gate = GATES.get(params.get("gate"))
    out = []
    for i, seed in enumerate(params["seeds"]):
        for step in range(params.get("n_steps", 3)):
            if cancel.is_set():
                return out
            if gate is not None:
                gate.wait(5)
            progress({"kind": "progress", "index": i, "seed": seed, "step": step + 1,
                      "n_steps": params.get("n_steps", 3), "entropy_nats": 5.0 - 0.1 * step, "elapsed_s": 0.0})
        atoms = uniform_start("sio2", n_atoms=params.get("n_atoms", 24), seed=seed)
        atoms.info["cooling_rate_k_ps"] = params.get("rate", 1.0)
        path = write_structure(atoms, Path(out_dir) / f"sample_{i}_seed{seed}.extxyz")
        progress({"kind": "done", "index": i, "seed": seed, "path": str(path)})
        out.append(str(path))
        if gate is not None and params.get("block_after_first"):
            BLOCK.wait(5)
    return out


GATES = {}
BLOCK = threading.Event()


def failing_runner(params, out_dir, progress, cancel):
    if params.get("user"):
        raise AmorphError("cooling rate must be positive")
    return [1 / 0]


@pytest.fixture
def mgr(tmp_path):
    m = JobManager(tmp_path / "jobs", kinds={})
    m.register("glass", random_glass_runner)
    m.register("fail", failing_runner)
    yield m
    BLOCK.set()
    for g in GATES.values():
        g.set()
    m.shutdown()
    BLOCK.clear()
    GATES.clear()


def test_job_runs_writes_results_and_status(mgr):
    jid = mgr.submit("glass", {"seeds": [3, 4], "rate": 10.0}, label="two glasses")
    snap = mgr.wait(jid, timeout=30)
    assert snap["state"] == DONE and snap["fraction"] == 1.0
    assert [r["seed"] for r in snap["results"]] == [3, 4]
    for r in snap["results"]:
        atoms = read_structure(r["path"])
        assert len(atoms) == 24 and atoms.info["seed"] == r["seed"]
    on_disk = json.loads((mgr.jobs_dir / jid / STATUS_FILE).read_text())
    assert on_disk["state"] == DONE and on_disk["params"]["rate"] == 10.0
    assert on_disk["samples"]["0"]["entropy"][0] == [1, 5.0]
    rows = mgr.list_results(kind="glass")
    assert {r["seed"] for r in rows} == {3, 4} and rows[0]["params"]["rate"] == 10.0


def test_one_job_at_a_time_with_visible_queue(mgr):
    GATES["a"] = threading.Event()
    first = mgr.submit("glass", {"seeds": [0], "gate": "a"})
    second = mgr.submit("glass", {"seeds": [1]})
    t0 = time.monotonic()
    while mgr.get(first)["state"] != RUNNING and time.monotonic() - t0 < 10:
        time.sleep(0.01)
    assert mgr.get(first)["state"] == RUNNING
    assert mgr.get(second)["state"] == QUEUED and mgr.get(second)["queue_position"] == 2
    assert [j["id"] for j in mgr.queue("gpu")] == [first, second]
    GATES["a"].set()
    assert mgr.wait(second, timeout=30)["state"] == DONE
    s1, s2 = mgr.get(first), mgr.get(second)
    assert s1["finished"] <= s2["started"]


def test_one_job_per_gpu_lane(tmp_path):
    """With two GPU lanes two jobs run at once, each on its own lane, and the third waits first in line."""
    m = JobManager(tmp_path / "jobs", kinds={}, gpu_lanes=2)
    m.register("glass", random_glass_runner)
    GATES["g"] = threading.Event()
    try:
        ids = [m.submit("glass", {"seeds": [k], "gate": "g"}) for k in range(3)]
        t0 = time.monotonic()
        while [m.get(j)["state"] for j in ids[:2]] != [RUNNING, RUNNING] and time.monotonic() - t0 < 20:
            time.sleep(0.01)
        snaps = [m.get(j) for j in ids]
        assert [s["state"] for s in snaps] == [RUNNING, RUNNING, QUEUED]
        assert {snaps[0]["gpu"], snaps[1]["gpu"]} == {0, 1} and snaps[2]["queue_position"] == 2
        GATES["g"].set()
        assert all(m.wait(j, timeout=30)["state"] == DONE for j in ids)
    finally:
        GATES["g"].set()
        m.shutdown()
        GATES.clear()
    assert JobManager(tmp_path / "jobs2", kinds={}).gpu_lanes == 1  # this CPU-only host: one lane as before


def visible_gpu_runner(params, out_dir, progress, cancel):
    """Reports the GPUs its process sees."""
    import os

    return {"summary": {"visible": os.environ.get("CUDA_VISIBLE_DEVICES")}}


def test_isolated_job_sees_only_its_lanes_gpu(tmp_path, monkeypatch):
    """An isolated job of the second GPU lane runs in a process that sees the second of the host's GPUs."""
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5,7")
    m = JobManager(tmp_path / "jobs", kinds={}, gpu_lanes=2)
    m.register("visible", visible_gpu_runner, lane="gpu", isolate=True)
    GATES["v"] = threading.Event()
    m.register("glass", random_glass_runner)
    try:
        first = m.submit("glass", {"seeds": [0], "gate": "v"})  # holds one lane
        t0 = time.monotonic()
        while m.get(first)["state"] != RUNNING and time.monotonic() - t0 < 20:
            time.sleep(0.01)
        snap = m.wait(m.submit("visible", {}), timeout=120)
        assert snap["state"] == DONE and snap["gpu"] == 1 - m.get(first)["gpu"]
        assert snap["summary"]["visible"] == "5,7".split(",")[snap["gpu"]]
    finally:
        GATES["v"].set()
        m.shutdown()
        GATES.clear()


def test_cancel_keeps_finished_results_and_cancels_queued(mgr):
    GATES["b"] = threading.Event()
    GATES["b"].set()
    running = mgr.submit("glass", {"seeds": [0, 1, 2], "gate": "b", "block_after_first": True})
    queued = mgr.submit("glass", {"seeds": [9]})
    t0 = time.monotonic()
    while not mgr.get(running)["results"] and time.monotonic() - t0 < 20:
        time.sleep(0.01)
    assert mgr.cancel(queued) and mgr.get(queued)["state"] == CANCELLED
    assert mgr.cancel(running)
    BLOCK.set()
    snap = mgr.wait(running, timeout=20)
    assert snap["state"] == CANCELLED
    assert len(snap["results"]) == 1 and Path(snap["results"][0]["path"]).exists()
    assert mgr.wait(queued, timeout=5)["results"] == []
    assert not mgr.cancel(running)  # already final


def test_failures_are_recorded_and_worker_survives(mgr):
    user = mgr.wait(mgr.submit("fail", {"user": True}), timeout=10)
    assert user["state"] == FAILED and user["error"] == "cooling rate must be positive"
    bug = mgr.wait(mgr.submit("fail", {}), timeout=10)
    assert bug["state"] == FAILED and "ZeroDivisionError" in bug["error"] and "traceback" in bug
    ok = mgr.wait(mgr.submit("glass", {"seeds": [0]}), timeout=30)
    assert ok["state"] == DONE


def test_bad_submissions(mgr):
    with pytest.raises(AmorphError, match="unknown job kind"):
        mgr.submit("nope", {})
    with pytest.raises(AmorphError, match="JSON"):
        mgr.submit("glass", {"seeds": [0], "x": object()})
    with pytest.raises(AmorphError, match="no job"):
        mgr.get("missing")


def test_restart_reloads_results_and_marks_interrupted(tmp_path):
    jobs = tmp_path / "jobs"
    m1 = JobManager(jobs, kinds={})
    m1.register("glass", random_glass_runner)
    done = m1.wait(m1.submit("glass", {"seeds": [5]}), timeout=30)
    GATES["c"] = threading.Event()
    hung = m1.submit("glass", {"seeds": [6, 7], "gate": "c"})
    t0 = time.monotonic()
    while m1.get(hung)["state"] != RUNNING and time.monotonic() - t0 < 10:
        time.sleep(0.01)
    # a second process starting on the same folder sees the first one's files (as after a crash)
    m2 = JobManager(jobs, kinds={})
    assert m2.get(done["id"])["state"] == DONE
    assert m2.get(hung)["state"] == INTERRUPTED
    assert [r["seed"] for r in m2.list_results(kind="glass")] == [5]
    # unreadable or foreign folders are skipped, not fatal
    (jobs / "junk").mkdir()
    (jobs / "junk" / STATUS_FILE).write_text("{not json")
    m3 = JobManager(jobs, kinds={})
    assert {j["id"] for j in m3.list_jobs()} == {done["id"], hung}
    GATES["c"].set()
    m1.shutdown()
    GATES.clear()


def test_atomic_status_never_half_written(tmp_path):
    path = tmp_path / "s.json"
    atomic_write_json(path, {"n": 0})
    stop = threading.Event()
    bad = []

    def reader():
        while not stop.is_set():
            try:
                json.loads(path.read_text())
            except ValueError as exc:
                bad.append(exc)

    t = threading.Thread(target=reader)
    t.start()
    for i in range(300):
        atomic_write_json(path, {"n": i, "pad": "x" * 20000})
    stop.set()
    t.join()
    assert not bad and json.loads(path.read_text())["n"] == 299
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]


def test_delete_only_finished(mgr):
    GATES["d"] = threading.Event()
    jid = mgr.submit("glass", {"seeds": [0], "gate": "d"})
    with pytest.raises(AmorphError, match="cancel"):
        mgr.delete(jid)
    GATES["d"].set()
    mgr.wait(jid, timeout=30)
    mgr.delete(jid)
    assert not (mgr.jobs_dir / jid).exists() and mgr.list_jobs() == []


def _write_randoms(tmp_path, n=2, n_atoms=72):
    paths = []
    for s in range(n):
        a = uniform_start("sio2", n_atoms=n_atoms, seed=s)
        a.info["cooling_rate_k_ps"] = 1.0
        paths.append(str(write_structure(a, tmp_path / f"r{s}.extxyz")))
    return paths


def test_analyze_and_compare_jobs_write_json(tmp_path):
    m = JobManager(tmp_path / "jobs")
    paths = _write_randoms(tmp_path)
    a = m.wait(m.submit("analyze", {"paths": paths, "system": "sio2", "rings": False, "entropy": False}), 120)
    assert a["state"] == "done", a.get("error")
    res = json.loads(Path(a["results"][0]["path"]).read_text())
    assert [r["n_atoms"] for r in res["generated"]] == [72, 72]
    assert res["generated"][0]["info"]["seed"] == 0
    assert res["aggregate_generated"]["density_g_cm3"]["n"] == 2
    # compare two random boxes against two other random boxes given as reference files
    refs = _write_randoms(tmp_path / "ref", n=2)
    c = m.wait(m.submit("compare", {"paths": paths, "reference_paths": refs, "system": "sio2", "rings": False,
                                    "entropy": False}), 120)
    assert c["state"] == "done", c.get("error")
    cmp = json.loads(Path(c["results"][0]["path"]).read_text())
    assert cmp["n_generated"] == 2 and cmp["n_reference"] == 2 and "Si-O" in cmp["mean_pdf_generated"]["partials"]
    assert c["summary"]["n_generated"] == 2
    m.shutdown()


def test_md_job_reports_unusable_structure(tmp_path):
    m = JobManager(tmp_path / "jobs")
    paths = _write_randoms(tmp_path, n=1)
    j = m.wait(m.submit("moduli", {"paths": paths, "engine": "auto"}), 120)
    assert j["state"] == "failed" and "box too small" in j["error"] and "traceback" not in j
    m.shutdown()


def test_cancel_a_running_comparison(tmp_path):
    m = JobManager(tmp_path / "jobs")
    paths = _write_randoms(tmp_path, n=2)
    jid = m.submit("compare", {"paths": paths, "system": "sio2", "reference_rate_k_ps": 1.0, "rings": True,
                               "entropy": False})
    t0 = time.monotonic()
    while m.get(jid)["state"] == QUEUED and time.monotonic() - t0 < 30:
        time.sleep(0.01)
    m.cancel(jid)
    snap = m.wait(jid, timeout=120)
    assert snap["state"] == CANCELLED and snap["results"] == []
    m.shutdown()


def test_refine_job_writes_refined_structure(tmp_path):
    from amorph_core.structures import reference_glasses

    glass = reference_glasses("sio2", 1.0)[0]
    src = write_structure(glass, tmp_path / "glass.extxyz")
    m = JobManager(tmp_path / "jobs")
    j = m.wait(m.submit("refine", {"path": str(src), "nvt_ps": 0.05, "npt_ps": 0.05, "engine": "lammps",
                                   "report_every": 25}), 300)
    assert j["state"] == "done", j.get("error")
    refined = read_structure(j["results"][0]["path"])
    assert len(refined) == 3000 and "refined" in refined.info
    assert abs(refined.get_volume() / glass.get_volume() - 1) < 0.05
    assert j["fraction"] == 1.0
    m.shutdown()


def crashing_runner(params, out_dir, progress, cancel):
    """Dies in native code, as a buggy extension would."""
    progress({"kind": "progress", "index": 0, "step": 1, "n_steps": 2, "entropy_nats": None})
    import ctypes

    ctypes.string_at(0)


def test_isolated_job_crash_fails_the_job_not_the_process(tmp_path):
    m = JobManager(tmp_path / "jobs")
    m.register("crash", crashing_runner, lane="cpu", isolate=True)
    j = m.wait(m.submit("crash", {}), 120)
    assert j["state"] == "failed" and "died (signal SIGSEGV)" in j["error"]
    ok = m.wait(m.submit("analyze", {"paths": _write_randoms(tmp_path, n=1), "system": "sio2", "rings": False,
                                      "entropy": False}), 120)
    assert ok["state"] == "done", ok.get("error")
    m.shutdown()


def test_voronoi_job_survives_lammps_in_the_server_process(tmp_path):
    """LAMMPS and pyvoro both carry voro++: in one process, pyvoro segfaults once a LAMMPS instance exists.
    Analysis jobs run in child processes, so a server that has run MD can still analyse CuZr."""
    from amorph_core.md.engine_lammps import _lammps, lammps_available
    from amorph_core.structures import reference_glasses

    if not lammps_available():
        pytest.skip("LAMMPS not installed")
    lmp = _lammps()(cmdargs=["-log", "none", "-screen", "none"])
    glass = reference_glasses("cuzr")[0]
    path = str(write_structure(glass, tmp_path / "cuzr.extxyz"))
    m = JobManager(tmp_path / "jobs")
    j = m.wait(m.submit("analyze", {"paths": [path], "system": "cuzr", "rings": False, "entropy": False,
                                    "voronoi": True}), 300)
    assert j["state"] == "done", j.get("error")
    res = json.loads(Path(j["results"][0]["path"]).read_text())
    assert res["generated"][0]["voronoi"]["top_indices"][0]["index"] == "<0,0,12,0>"
    lmp.close()
    m.shutdown()


def test_isolated_job_after_module_reload(tmp_path):
    """Streamlit can re-import amorph_core.jobs while the cached manager lives on: spawning must still work."""
    import importlib
    import sys

    m = JobManager(tmp_path / "jobs")
    # as Streamlit does when their files change: forget the modules and import them afresh
    old = {k: sys.modules.pop(k) for k in list(sys.modules)
           if k == "amorph_core.jobs" or k.startswith("amorph_core.jobs.")}
    assert set(old) >= {"amorph_core.jobs", "amorph_core.jobs.manager", "amorph_core.jobs.runners"}
    try:
        fresh = importlib.import_module("amorph_core.jobs.manager")
        assert fresh is not old["amorph_core.jobs.manager"]
        j = m.wait(m.submit("analyze", {"paths": _write_randoms(tmp_path, n=1), "system": "sio2", "rings": False,
                                    "entropy": False}), 120)
    finally:
        sys.modules.update(old)
        sys.modules["amorph_core"].jobs = old["amorph_core.jobs"]
    assert j["state"] == "done", j.get("error")
    m.shutdown()


def test_unphysical_structure_keeps_other_analyses(tmp_path):
    atoms = uniform_start("cuzr", n_atoms=200, seed=1)
    cu = atoms.get_chemical_symbols().index("Cu")
    zr = atoms.get_chemical_symbols().index("Zr")
    atoms.positions[cu] = atoms.positions[zr] + [0.2, 0.0, 0.0]  # a Cu inside a Zr: no radical Voronoi cell
    path = str(write_structure(atoms, tmp_path / "bad.extxyz"))
    m = JobManager(tmp_path / "jobs")
    j = m.wait(m.submit("analyze", {"paths": [path], "system": "cuzr", "rings": False, "entropy": False,
                                    "voronoi": True}), 120)
    assert j["state"] == "done", j.get("error")
    res = json.loads(Path(j["results"][0]["path"]).read_text())["generated"][0]
    assert "Voronoi tessellation failed" in res["voronoi_error"] and "Cu-Zr" in res["pdf"]["partials"]
    m.shutdown()


def test_cancelled_generate_job_resumes_to_the_uninterrupted_glasses(tmp_path):
    """A generate job cancelled while its second seed runs keeps the first glass and the second's trajectory;
    resumed, it makes only what was missing, and both glasses equal an uninterrupted run's (CPU)."""
    import numpy as np

    from amorph_core.generate import GenerationRequest, RunOptions, generate_structures
    from amorph_core.jobs import generate_job_params

    req = GenerationRequest(cooling_rate_k_ps=1.0, n_atoms=192, seeds=(0, 1), schedule=40, device="cpu")
    params = generate_job_params(req, RunOptions(entropy_every=5, checkpoint_every=10))
    m = JobManager(tmp_path / "jobs")
    try:
        jid = m.submit("generate", params)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 300:  # cancel once seed 1 is past step 15
            s = m.get(jid)["samples"].get("1")
            if s and s["step"] >= 15:
                break
            time.sleep(0.02)
        m.cancel(jid)
        snap = m.wait(jid, timeout=120)
        assert snap["state"] == CANCELLED and len(snap["results"]) == 1
        assert m.can_resume(jid)
        job_dir = tmp_path / "jobs" / jid
        assert len(list((job_dir / ".partial").glob("*.pt"))) == 1
        first = read_structure(snap["results"][0]["path"])
        m.resume(jid)
        snap = m.wait(jid, timeout=300)
        assert snap["state"] == DONE, snap.get("error")
        assert sorted(r["seed"] for r in snap["results"]) == [0, 1] and snap["resumed"] == 1
        got = {r["seed"]: read_structure(r["path"]) for r in snap["results"]}
        assert got[1].info["resumed_from_step"] >= 15 and "resumed_from_step" not in got[0].info
        assert np.array_equal(got[0].positions, first.positions)  # kept, not made again
        ref = generate_structures(req, tmp_path / "ref")
        for a, b in zip(ref, (got[0], got[1])):
            assert np.array_equal(read_structure(a).positions, b.positions)
        with pytest.raises(AmorphError, match="only a cancelled"):
            m.resume(jid)
    finally:
        m.shutdown()


def test_only_resumable_kinds_resume(mgr):
    jid = mgr.submit("fail", {"user": True})
    assert mgr.wait(jid, timeout=30)["state"] == FAILED
    assert not mgr.can_resume(jid)
    with pytest.raises(AmorphError, match="cannot be resumed"):
        mgr.resume(jid)


def test_kinds_resolve_by_module_and_name_and_folders_record_only_the_kind(tmp_path):
    """An isolated job's child imports its runner by module and function name: every default kind's name pair
    resolves to that runner. A job folder records the kind's name, not where its runner lives, so folders
    written before the runners moved (amorph_core.jobs -> amorph_core.jobs.runners) load and resume."""
    import importlib

    from amorph_core.jobs import DEFAULT_KINDS

    for kind in DEFAULT_KINDS.values():
        mod, name = kind.runner.__module__, kind.runner.__name__
        assert getattr(importlib.import_module(mod), name) is kind.runner, (kind.name, mod, name)
    old = {"id": "20240101-000000-abcdef", "kind": "generate", "lane": "gpu", "label": "old", "owner": None,
           "params": {"system": "sio2", "seeds": [0]}, "state": "running", "created": 1.0, "started": 2.0,
           "finished": None, "error": None, "results": [], "summary": None, "samples": {}, "fraction": 0.5,
           "eta_s": None}
    (tmp_path / "jobs" / old["id"]).mkdir(parents=True)
    (tmp_path / "jobs" / old["id"] / STATUS_FILE).write_text(json.dumps(old))
    m = JobManager(tmp_path / "jobs")
    try:
        assert m.get(old["id"])["state"] == INTERRUPTED and m.can_resume(old["id"])
        m.register("glass", random_glass_runner)
        jid = m.submit("glass", {"seeds": [0], "n_steps": 1})
        assert m.wait(jid, 60)["state"] == DONE
        saved = json.loads((tmp_path / "jobs" / jid / STATUS_FILE).read_text())
        assert saved["kind"] == "glass" and not any("runner" in k or "module" in k for k in saved), saved
    finally:
        m.shutdown()


def test_generate_job_stores_the_typed_request_and_run_options():
    """A generate job's params are the GenerationRequest's fields plus its RunOptions under "run": read back they
    are the same dataclasses; params stored with the run options beside the request's fields (older jobs) read
    back the same; an unknown field is refused with the known ones named."""
    from amorph_core.generate import GenerationRequest, RunOptions
    from amorph_core.jobs import generate_job_params, generate_job_request

    req = GenerationRequest(cooling_rate_k_ps=0.1, n_atoms=300, aspect=(1.0, 1.0, 2.0), seeds=(4, 5),
                            schedule="draft", pore_radius_a=3.0)
    run = RunOptions(entropy_every=10, checkpoint_every=20)
    params = json.loads(json.dumps(generate_job_params(req, run)))  # as stored on disk
    assert generate_job_request(params) == (req, run)
    flat = {**req.to_dict(), "entropy_every": 10, "checkpoint_every": 20}
    assert generate_job_request(flat) == (req, run)
    with pytest.raises(AmorphError, match="unknown field.*n_steps"):
        generate_job_request({**params, "n_steps": 5})
    with pytest.raises(AmorphError, match="entropy_every must be a whole number"):
        generate_job_request({**params, "run": {"entropy_every": -1}})
