"""Every page of the Streamlit app runs headless (AppTest); Generate drives the real generator.

AppTest does not fire st.fragment(run_every=...) timers: the tests wait on the job manager and call
at.run() again, as a user's browser would poll.
"""
import os
import time
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["generate", "structure", "compare", "cooling_rates", "pores", "metallic_glass", "about"]


@pytest.fixture(scope="module")
def jobs_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("jobs")
    old = os.environ.get("AMORPH_JOBS_DIR")
    os.environ["AMORPH_JOBS_DIR"] = str(d)
    yield d
    if old is None:
        os.environ.pop("AMORPH_JOBS_DIR", None)
    else:
        os.environ["AMORPH_JOBS_DIR"] = old


def _tiny_model(directory, **cfg):
    import torch

    from amorph_core.model.checkpoint import save_checkpoint
    from amorph_core.model.denoiser import Denoiser, DenoiserConfig

    torch.manual_seed(0)
    save_checkpoint(directory, Denoiser(DenoiserConfig(num_blocks=1, hidden_scalars=16, hidden_vectors=8, **cfg)),
                    {"note": "untrained, for fast UI tests"})
    return str(directory)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A small freshly initialised (untrained) sio2 checkpoint: the real generator, fast weights."""
    return _tiny_model(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="module")
def cuzr_model_dir(tmp_path_factory):
    return _tiny_model(tmp_path_factory.mktemp("cuzr_model"), elements=("Cu", "Zr"), conditional=False,
                       system="cuzr")


#: the workspace the tests' sessions share (as one user's bookmarked address would)
WS = "test-workspace-0001"


def app(jobs_dir, page=None, ws=WS):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    if ws:
        at.query_params["ws"] = ws
    at.run()
    if page:
        at.switch_page(f"pages/{page}.py")
        at.run()
    return at


def no_errors(at):
    assert not at.exception, [e.value for e in at.exception]


@pytest.mark.parametrize("page", PAGES)
def test_page_renders(jobs_dir, page):
    at = app(jobs_dir, page)
    no_errors(at)
    assert at.title, f"{page} has no title"


def test_model_choice_lists_the_systems_shipped_models(jobs_dir):
    from amorph_core.jobs import get_manager
    from amorph_core.model.checkpoint import DEFAULT_MODELS, models_for_system

    at = app(jobs_dir)
    no_errors(at)
    sio2 = models_for_system("sio2")
    if not sio2:
        pytest.skip("no shipped sio2 model")
    box = at.selectbox(key="gen-shipped")
    assert list(box.options) == sio2 and box.value == sio2[0] == DEFAULT_MODELS["sio2"]
    box.set_value(sio2[-1])
    at.selectbox(key="gen-device").set_value("cpu").run()
    at.button(key="gen-run").click().run()
    m = get_manager(jobs_dir)
    jid = at.session_state["my_jobs"][-1]
    m.cancel(jid)
    job = m.wait(jid, timeout=120)
    assert job["params"]["model"] == sio2[-1]  # the choice reaches the job
    m.delete(job["id"])
    mg = app(jobs_dir, "metallic_glass")
    no_errors(mg)
    assert list(mg.selectbox(key="mg-shipped").options) == (models_for_system("cuzr") or ["(none yet)"])


def test_generate_form_defaults_and_extrapolation_flag(jobs_dir, model_dir):
    from amorph_core.jobs import get_manager

    at = app(jobs_dir)
    no_errors(at)
    assert at.number_input(key="gen-natoms").value <= 648
    import torch

    # the measured defaults: the paper's schedule on a GPU, the 200-step window preset on a CPU (a-SiO2)
    assert at.selectbox(key="gen-schedule").value == ("paper" if torch.cuda.is_available() else "draft-window")
    assert not at.warning
    at.select_slider(key="gen-rate").set_value(500.0).run()
    assert any("extrapolation" in w.value for w in at.warning)
    at.toggle(key="gen-dauto").set_value(False).run()
    assert at.number_input(key="gen-density").value == pytest.approx(2.2, abs=0.15)
    # an impossible request is refused by the form (the CLI's checks) before any job is queued
    at.select_slider(key="gen-rate").set_value(1.0)
    at.toggle(key="gen-dauto").set_value(True)
    at.number_input(key="gen-natoms").set_value(3)
    at.selectbox(key="gen-device").set_value("cpu")
    at.text_input(key="gen-model").set_value(model_dir).run()
    no_errors(at)
    assert any("too small" in e.value for e in at.error)
    assert at.button(key="gen-run").disabled
    assert not get_manager(jobs_dir).list_jobs()


def wait_job(mgr_dir, timeout=240):
    from amorph_core.jobs import FINAL, get_manager

    m = get_manager(mgr_dir)
    t0 = time.time()
    while time.time() - t0 < timeout:
        jobs = m.list_jobs()
        if jobs and all(j["state"] in FINAL for j in jobs):
            return jobs
        time.sleep(0.5)
    raise AssertionError("job did not finish")


def submit_generation(at, model_dir, schedule, n_samples=None):
    """Fill the Generate form (72 atoms, CPU, the tiny model) and press Generate."""
    at.number_input(key="gen-natoms").set_value(72)
    at.selectbox(key="gen-schedule").set_value(schedule)
    at.selectbox(key="gen-device").set_value("cpu")
    if n_samples is not None:
        at.number_input(key="gen-nsamples").set_value(n_samples)
    at.text_input(key="gen-model").set_value(model_dir)
    at.button(key="gen-run").click().run()


def test_generate_then_view_and_download(jobs_dir, model_dir):
    at = app(jobs_dir)
    submit_generation(at, model_dir, "draft")
    no_errors(at)
    jobs = wait_job(jobs_dir)
    assert jobs[0]["state"] == "done", jobs[0].get("error")
    at.run()
    no_errors(at)
    assert any(s.value.startswith("done in ") and s.value.endswith(": 1 structure(s)") for s in at.success)
    df = at.dataframe[0].value
    assert len(df) == 1 and df["atoms"].iloc[0] == 72 and df["schedule"].iloc[0] == "draft"
    # the Structure page shows it with its parameters and offers every download format
    at.switch_page("pages/structure.py").run()
    no_errors(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Atoms"] == "72" and metrics["Seed"] == "0" and metrics["Cooling rate"] == "1 K/ps"
    assert len(at.get("iframe")) == 1
    assert len(at.get("download_button")) == 4
    # the parameters travel with every format (LAMMPS data / POSCAR first line, CIF comment)
    from amorph_core.structures import read_structure, structure_to_bytes
    from amorph_core.structures.io import plain_info

    path = at.session_state["view_path"] if "view_path" in at.session_state else None
    atoms = read_structure(path or wait_job(jobs_dir)[0]["results"][0]["path"])
    atoms.info.update(plain_info(atoms))
    head = structure_to_bytes(atoms, "lammps-data").split(b"\n")[0]
    assert b'"seed": 0' in head and b'"cooling_rate_k_ps": 1.0' in head
    at.selectbox(key="view-color").set_value("coordination defect").run()
    no_errors(at)
    at.toggle(key="view-slab").set_value(True).run()
    no_errors(at)
    assert "atoms shown" in at.caption[-1].value


def test_cancel_from_the_page(jobs_dir, model_dir):
    from amorph_core.jobs import get_manager

    at = app(jobs_dir)
    submit_generation(at, model_dir, "quick", n_samples=3)
    m = get_manager(jobs_dir)
    jid = at.session_state["my_jobs"][-1]
    t0 = time.time()
    while m.get(jid)["state"] == "queued" and time.time() - t0 < 60:
        time.sleep(0.2)
    at.run()
    cancel = [b for b in at.button if b.key and b.key.startswith("cancel-")]
    assert cancel, "no cancel button while the job runs"
    done = m.list_jobs(states=("done",), kind="generate", owner=WS, dismissed=False)
    assert len(at.success) == len(done), "a running job shows an outcome"  # one state per card: progress
    cancel[0].click().run()
    snap = m.wait(jid, timeout=120)
    assert snap["state"] == "cancelled" and len(snap["results"]) < 3
    # the stopped job offers Resume, which queues it again and ends with all three structures
    at.run()
    no_errors(at)
    resume = [b for b in at.button if b.key and b.key.startswith("resume-")]
    assert resume, "no resume button on a cancelled generation"
    resume[0].click().run()
    no_errors(at)
    snap = m.wait(jid, timeout=300)
    assert snap["state"] == "done" and sorted(r["seed"] for r in snap["results"]) == [0, 1, 2]


def test_structure_upload_messages(jobs_dir):
    at = app(jobs_dir, "structure")
    at.radio(key="view-src").set_value("upload").run()
    at.file_uploader(key="view-upload").upload("notes.txt", b"hello world, not atoms").run()
    assert any("not a structure file" in e.value for e in at.error)
    at.file_uploader(key="view-upload").upload("evil.pkl", b"\x80\x04K\x01.").run()
    assert any("not accepted" in e.value for e in at.error)
    from amorph_core.structures import reference_glasses, structure_to_bytes

    data = structure_to_bytes(reference_glasses("sio2", 1.0)[0], "extxyz")
    at.file_uploader(key="view-upload").upload("glass.extxyz", data).run()
    no_errors(at)
    assert not at.error and {m.label: m.value for m in at.metric}["Atoms"] == "3000"
    assert len(at.get("iframe")) == 1


def run_generate(at, prefix, model, n_atoms=72, schedule="draft"):
    at.number_input(key=f"{prefix}-natoms").set_value(n_atoms)
    at.selectbox(key=f"{prefix}-schedule").set_value(schedule)
    at.selectbox(key=f"{prefix}-device").set_value("cpu")
    at.text_input(key=f"{prefix}-model").set_value(model)
    at.run()
    at.button(key=f"{prefix}-run").click().run()
    no_errors(at)


def test_compare_page_runs_a_comparison(jobs_dir, model_dir):
    at = app(jobs_dir)
    run_generate(at, "gen", model_dir)
    wait_job(jobs_dir)
    at.switch_page("pages/compare.py").run()
    no_errors(at)
    assert at.multiselect(key="cmp-paths").value, "latest generated structures preselected"
    assert at.selectbox(key="cmp-rate").value == 1.0
    at.checkbox(key="cmp-rings").uncheck()
    at.checkbox(key="cmp-entropy").uncheck().run()
    at.button(key="cmp-run").click().run()
    jobs = wait_job(jobs_dir)
    assert jobs[0]["kind"] == "compare" and jobs[0]["state"] == "done", jobs[0].get("error")
    at.run()
    no_errors(at)
    table = at.dataframe[0].value
    assert "density (g/cm³)" in set(table["quantity"]) and "(n=6)" in table["MD reference"].iloc[0]
    assert len(at.get("plotly_chart")) >= 3  # PDFs and the two angle distributions
    # MD on a 72-atom box: refused before it runs (the core's check_refinable), buttons disabled
    assert any("MD is not possible" in e.value and "box too small" in e.value for e in at.error)
    assert at.button(key="md-moduli").disabled and at.button(key="md-refine").disabled
    # the 72-atom glasses are compared with 3,000-atom MD glasses: said, not hidden
    assert any("Sizes differ" in w.value and "72 atoms" in w.value for w in at.warning)


def test_pores_page_generates_and_counts_nbo(jobs_dir, model_dir):
    at = app(jobs_dir, "pores")
    assert at.toggle(key="pore-pore").value
    at.number_input(key="pore-natoms").set_value(192)
    at.number_input(key="pore-porer").set_value(3.0)
    at.selectbox(key="pore-schedule").set_value("draft")
    at.selectbox(key="pore-device").set_value("cpu")
    at.text_input(key="pore-model").set_value(model_dir)
    at.run()
    at.button(key="pore-run").click().run()
    no_errors(at)
    jobs = wait_job(jobs_dir)
    assert jobs[0]["state"] == "done", jobs[0].get("error")
    at.run()
    no_errors(at)
    assert len(at.get("iframe")) == 1
    at.button(key="pore-analyse").click().run()
    jobs = wait_job(jobs_dir)
    assert jobs[0]["state"] == "done", jobs[0].get("error")
    at.run()
    no_errors(at)
    labels = {m.label: m.value for m in at.metric}
    r_eff = float(labels["effective pore radius"].split()[0])
    if r_eff < 1.5:  # the untrained model closes the 3 Å pore: a warning, no NBO density
        assert labels["NBO per nm² of pore surface"] == "– (pore closed)"
        assert any("pore closed" in w.value for w in at.warning)
    else:
        assert "(n=1)" in labels["NBO per nm² of pore surface"]
    assert len(at.get("plotly_chart")) >= 2


def test_metallic_glass_page(jobs_dir, cuzr_model_dir):
    at = app(jobs_dir, "metallic_glass")
    no_errors(at)
    at.number_input(key="mg-natoms").set_value(200)
    at.selectbox(key="mg-schedule").set_value("draft")
    at.selectbox(key="mg-device").set_value("cpu")
    at.text_input(key="mg-model").set_value(cuzr_model_dir)
    at.run()
    at.button(key="mg-run").click().run()
    jobs = wait_job(jobs_dir)
    assert jobs[0]["state"] == "done", jobs[0].get("error")
    at.run()
    no_errors(at)
    at.button(key="mg-analyse").click().run()
    jobs = wait_job(jobs_dir)
    assert jobs[0]["state"] == "done", jobs[0].get("error")
    at.run()
    no_errors(at)
    quantities = set(at.dataframe[0].value["quantity"])
    # the MD reference glasses always tessellate; the untrained model's structure may be too unphysical
    # for a radical Voronoi tessellation, which the page then says instead of failing
    assert "Cu Voronoi volume (Å³)" in quantities and "Zr Voronoi volume (Å³)" in quantities
    from amorph_core.structures import reference_glasses
    assert f"(n={len(reference_glasses('cuzr'))})" in at.dataframe[0].value["MD reference"].iloc[0]
    # an unrefined generated glass is compared with 300 K MD glasses: the page says what that means
    assert any("no thermal vibration" in i.value for i in at.info)
    failed = [w.value for w in at.warning if "Voronoi tessellation failed" in w.value]
    assert len(at.get("plotly_chart")) >= 3  # PDFs, volumes, Voronoi indices (MD side at least)
    assert len(failed) <= 1


def test_cooling_rates_series_side_by_side(jobs_dir, model_dir):
    at = app(jobs_dir, "cooling_rates")
    no_errors(at)
    at.multiselect(key="cr-rates").set_value([0.1, 10.0])
    at.number_input(key="cr-natoms").set_value(72)
    at.selectbox(key="cr-schedule").set_value("draft")
    at.text_input(key="cr-model").set_value(model_dir).run()
    at.button(key="cr-run").click().run()
    jobs = wait_job(jobs_dir)
    assert all(j["state"] == "done" for j in jobs[:2]), [j.get("error") for j in jobs[:2]]
    at.run()
    no_errors(at)
    titles = [m.value for m in at.markdown]
    assert any(t.startswith("**0.1 K/ps**") for t in titles) and any(t.startswith("**10 K/ps**") for t in titles)
    assert len(at.get("iframe")) >= 2
    assert any("cost table" in i.value for i in at.info) or at.dataframe


def test_cooling_rates_offers_the_shipped_examples(jobs_dir):
    """The page offers the shipped example series, made by the shipped default model (same weights hash): shown
    side by side (spread over the rates) when one has no glasses of one's own, and analysed with one's own on
    request; switched off, no example is shown."""
    from amorph_core.generate import file_sha16
    from amorph_core.jobs import get_manager
    from amorph_core.model.checkpoint import (
        DEFAULT_MODELS,
        list_models,
        resolve_model_dir,
    )
    from amorph_core.structures.examples import example_rows

    examples = example_rows("sio2")
    if not examples or DEFAULT_MODELS["sio2"] not in list_models():
        pytest.skip("no shipped examples or default model")
    assert {r["params"]["model_sha256_16"] for r in examples} == {file_sha16(resolve_model_dir(DEFAULT_MODELS["sio2"])
                                                                            / "model.pt")}
    assert sorted({r["params"]["cooling_rate_k_ps"] for r in examples}) == [0.01, 0.1, 1.0, 10.0, 100.0, 1000.0]
    assert example_rows("cuzr") == []
    at = app(jobs_dir, "cooling_rates")
    no_errors(at)
    at.toggle(key="cr-examples").set_value(True).run()
    import re

    titles = [m.value for m in at.markdown if re.match(r"\*\*[\d.]+ K/ps\*\*", m.value)]
    # the trained range first (0.1 and 100 included; 0.01 and 1000 would be flagged as extrapolation); one's own
    # glasses at their rates, the examples at the others (having glasses does not switch the examples off)
    assert [t.split(" K/ps")[0] for t in titles] == ["**0.1", "**1", "**10", "**100"], titles
    assert len(at.get("iframe")) == 4
    own = {float(r["params"]["cooling_rate_k_ps"]) for r in get_manager(jobs_dir).list_results(owner=WS)
           if r["params"].get("system") == "sio2" and not r["params"].get("pore_radius_a")}
    for t in titles:
        assert t.endswith("· example") == (float(t[2:].split(" K/ps")[0]) not in own), (t, own)
    at.button(key="cr-analyse").click().run()
    m = get_manager(jobs_dir)
    job = m.list_jobs(kind="analyze")[0]
    assert set(job["params"]["paths"]) >= {r["path"] for r in examples}
    m.cancel(job["id"])
    m.wait(job["id"], timeout=120)
    at.toggle(key="cr-examples").set_value(False).run()
    no_errors(at)
    assert not any("example" in mk.value for mk in at.markdown if mk.value.startswith("**"))


def test_cooling_rates_trends_against_references(jobs_dir, model_dir):
    at = app(jobs_dir, "cooling_rates")
    if not any(m.value.startswith("**") and "example" not in m.value for m in at.markdown):
        test_cooling_rates_series_side_by_side(jobs_dir, model_dir)
        at = app(jobs_dir, "cooling_rates")
    if at.get("toggle") and any(t.key == "cr-examples" for t in at.toggle):
        at.toggle(key="cr-examples").set_value(False).run()  # one's own small glasses only: fast on a CPU
    at.button(key="cr-analyse").click().run()
    jobs = wait_job(jobs_dir, timeout=600)
    assert jobs[0]["kind"] == "analyze" and jobs[0]["state"] == "done", jobs[0].get("error")
    at.run()
    no_errors(at)
    charts = at.get("plotly_chart")
    assert len(charts) >= 4  # density, entropy, angle, defects vs rate


def test_page_switch_does_not_stop_a_running_job(jobs_dir, model_dir):
    from amorph_core.jobs import get_manager

    at = app(jobs_dir)
    submit_generation(at, model_dir, "quick", n_samples=2)
    jid = at.session_state["my_jobs"][-1]
    for page in ("about", "structure", "generate"):
        at.switch_page(f"pages/{page}.py").run()
        no_errors(at)
    assert get_manager(jobs_dir).get(jid)["state"] in ("queued", "running", "done")
    snap = get_manager(jobs_dir).wait(jid, timeout=240)
    assert snap["state"] == "done" and len(snap["results"]) == 2
    at.run()
    assert any(s.value.startswith("done in ") and s.value.endswith(": 2 structure(s)") for s in at.success)


def test_about_lists_shipped_models_and_references(jobs_dir):
    from amorph_core.model.checkpoint import list_models

    at = app(jobs_dir, "about")
    no_errors(at)
    text = " ".join(m.value for m in at.markdown)
    assert "**sio2** — 24 glasses" in text
    if list_models():
        assert set(at.dataframe[0].value["model"]) == set(list_models())
    else:
        assert any("No trained model" in i.value for i in at.info)


def test_cooling_rates_cost_figure_uses_measured_tables(jobs_dir):
    """Paper Fig. 3d from the measured MD cost table and the measured generation times (no invented numbers)."""
    import json
    at = app(jobs_dir, "cooling_rates")
    no_errors(at)
    specs = [c.proto.spec for c in at.get("plotly_chart")]
    fig = next(json.loads(s) for s in specs if "Cost of one 3000-atom" in s)
    gen = json.loads((ROOT / "assets" / "generation_cost.json").read_text())["rows"]
    md = json.loads((ROOT / "assets" / "md" / "cost_table.json").read_text())["rows"]
    ys = {round(v, 9) for tr in fig["data"] for v in tr["y"]}
    assert round(gen[0]["seconds_per_structure"] / 3600, 9) in ys
    assert round(next(r["hours"] for r in md if r["n_atoms"] == 3000), 9) in ys


def test_job_status_is_one_true_state():
    """A card's state comes from the job's state alone: no 'done' while queued or running, no negative or
    made-up durations, a failure shows only its error."""
    from pages import _support

    base = {"kind": "analyze", "results": [], "created": 100.0}
    running = dict(base, state="running", started=200.0, finished=None, fraction=0.5, eta_s=30)
    level, text = _support.job_status(running)
    assert level == "progress" and "done" not in text and "50%" in text
    assert _support.job_status(dict(base, state="queued", started=None, finished=None, queue_position=2)) == (
        "progress", "queued (position 2 in the queue)")
    assert _support.job_duration_s(running) is None
    assert _support.job_status(dict(base, state="done", started=200.0, finished=212.0)) == (
        "success", "done in 12 s: 0 result file(s)")
    assert _support.job_duration_s(dict(base, started=212.0, finished=200.0)) is None  # clock went back: no number
    level, text = _support.job_status(dict(base, state="failed", started=200.0, finished=202.0, error="box too small"))
    assert level == "error" and text == "failed: box too small"
    gen = dict(base, kind="generate", results=[{"path": "a"}], state="interrupted", started=1.0, finished=2.0)
    assert _support.job_status(gen) == ("warning", "interrupted: kept 1 structure(s)")


def test_failed_job_card_shows_only_its_error_and_can_be_dismissed(jobs_dir, model_dir):
    """A generation the model refuses (3 atoms, submitted around the form) fails: its card shows the error,
    no 'done', no Resume (it would fail the same way), and Dismiss removes the card; the job belongs to its
    workspace: a reload with the same address shows it, another workspace does not."""
    from amorph_core.jobs import get_manager
    from pages import _requests, _support

    m = get_manager(jobs_dir)
    from amorph_core.generate import GenerationRequest

    req = GenerationRequest(cooling_rate_k_ps=1.0, n_atoms=3, schedule="draft", device="cpu", model=model_dir)
    jid = m.submit("generate", _requests.job_params(req), label="three atoms", owner=WS)
    assert m.wait(jid, timeout=120)["state"] == "failed" and not m.can_resume(jid)
    at = app(jobs_dir)  # a fresh session with the workspace's address: a reload
    no_errors(at)
    assert any("too small" in e.value for e in at.error)
    done = m.list_jobs(states=("done",), kind="generate", owner=WS, dismissed=False)
    assert len(at.success) == len(done)  # the failed card shows no success
    assert not [b for b in at.button if b.key == f"resume-gen-{jid}"]
    other = app(jobs_dir, ws="another-visitor-0002")
    assert not any("too small" in e.value for e in other.error)  # private to its workspace
    assert "another-visitor-0002" in str(other.query_params["ws"])
    fresh = app(jobs_dir, ws=None)  # no address: a new workspace is made and put in the address
    assert _support.valid_workspace(fresh.session_state["workspace"])
    [dismiss] = [b for b in at.button if b.key == f"dismiss-gen-{jid}"]
    dismiss.click().run()
    no_errors(at)
    assert not any("too small" in e.value for e in at.error)
    assert m.get(jid)["dismissed"]
    m.delete(jid)


@pytest.mark.parametrize("field,value,message", [
    ("gen-natoms", 3, "too small"),
    ("gen-density", 20.0, "density"),
    ("gen-box0", 5.0, "too small"),
])
def test_form_refuses_impossible_requests_before_they_run(jobs_dir, field, value, message):
    """The CLI's checks (build_starts) run in the form: the message shows and Generate is disabled."""
    at = app(jobs_dir)
    if field == "gen-density":
        at.toggle(key="gen-dauto").set_value(False).run()
    if field == "gen-box0":
        at.radio(key="gen-sizemode").set_value("box (Å)").run()
    at.number_input(key=field).set_value(value).run()
    no_errors(at)
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert at.button(key="gen-run").disabled  # AppTest, like a browser, cannot press a disabled button
    assert not any(i.value for i in at.info if "denoising steps" in i.value)  # no cost for an impossible job


def test_form_offers_cuda_only_with_a_gpu(jobs_dir):
    import torch

    at = app(jobs_dir)
    assert ("cuda" in at.selectbox(key="gen-device").options) == torch.cuda.is_available()
    from amorph_core.errors import AmorphError
    from amorph_core.generate import GenerationRequest
    from pages import _requests

    with pytest.raises(AmorphError, match="no CUDA GPU: choose the device 'auto' or 'cpu'"):
        _requests.check_generation(GenerationRequest(cooling_rate_k_ps=1.0, n_atoms=192, device="cuda"),
                                   cuda_available=False)


def test_form_shows_box_steps_and_a_measured_time_estimate(jobs_dir):
    """Before Generate: the box, the step count and a time from the measured per-atom-step cost, which is
    within a factor of 2 of every run the cost table was measured from."""
    from amorph_core.costs import estimate_generation_s, read_generation_estimate
    from pages import _support

    at = app(jobs_dir)
    at.selectbox(key="gen-device").set_value("cpu").run()
    at.selectbox(key="gen-schedule").set_value("draft").run()
    [cost] = [i.value for i in at.info if "denoising steps" in i.value]
    assert "192 atoms" in cost and "Å box" in cost and "100 denoising steps" in cost and "CPU" in cost
    # the default glass is too small for the BJP potential's MD: said before it is made
    assert any("MD refinement and elastic moduli will not be possible" in c.value and "too small" in c.value
               for c in at.caption)
    table = read_generation_estimate()
    assert table is not None, "assets/generation_estimate.json is missing (benchmarks/bench_generation_estimate.py)"
    est = estimate_generation_s(192, 100, 1, "cpu", table)
    assert f"about {_support.fmt_duration(est)}" in cost
    runs = table["runs"]
    assert len({r["n_atoms"] for r in runs}) >= 3
    for r in runs:
        ratio = estimate_generation_s(r["n_atoms"], r["n_steps"], 1, "cpu", table) / r["seconds"]
        assert 0.5 <= ratio <= 2.0, r
    assert estimate_generation_s(192, 100, 1, "cuda", {"devices": {}}) is None
    at.number_input(key="gen-natoms").set_value(3000)
    at.selectbox(key="gen-schedule").set_value("paper").run()
    assert estimate_generation_s(3000, 3000, 1, "cpu", table) > 600
    assert any("This job takes about" in w.value for w in at.warning)


EXAMPLE_GLASS = sorted((ROOT / "assets" / "examples").glob("*/sio2_1Kps_3000at_seed10.extxyz"))


@pytest.mark.skipif(not EXAMPLE_GLASS, reason="no shipped example glass")
def test_lammps_download_runs_100_md_steps_with_bjp_and_reads_back(tmp_path):
    """The Structure page's LAMMPS download (the bytes download_buttons serves, under its file name) reads back
    in ase with the right elements and runs 100 MD steps in LAMMPS (read_data + the shipped BJP potential)."""
    import dataclasses
    import re

    import numpy as np
    from ase.io import read

    from amorph_core.md.engine_lammps import _lammps, _pair_commands, lammps_available
    from amorph_core.md.potentials import get_potential
    from amorph_core.structures import read_structure, structure_to_bytes
    from amorph_core.structures.io import plain_info
    from pages import _support

    if not lammps_available():
        pytest.skip("LAMMPS is not installed")
    atoms = read_structure(EXAMPLE_GLASS[0])
    atoms.info.update(job="example", **plain_info(atoms))
    path = tmp_path / f"{_support.export_stem(atoms)}.data"
    path.write_bytes(structure_to_bytes(atoms, "lammps-data"))
    back = read(path, format="lammps-data", atom_style="charge")
    assert back.get_chemical_symbols() == atoms.get_chemical_symbols()
    assert np.allclose(back.cell.lengths(), atoms.cell.lengths())
    head = path.read_text().split("\n", 1)[0]
    order = [el for _, el in sorted(re.findall(r"(\d+)=([A-Z][a-z]?)", head.split('"lammps_types": ')[1])[:2])]
    assert order == ["O", "Si"]
    lmp = _lammps()(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
    lmp.commands_list(["units metal", "atom_style charge", "boundary p p p", f"read_data {path}"])
    lmp.commands_list(_pair_commands(dataclasses.replace(get_potential("sio2"), elements=tuple(order))))
    lmp.commands_list(["velocity all create 300 1 dist gaussian", "fix md all nve", "timestep 0.001",
                       "thermo 50", "run 100"])
    assert lmp.get_natoms() == len(atoms) and lmp.extract_global("ntimestep") == 100
    pe = lmp.get_thermo("pe")
    assert np.isfinite(pe) and pe / len(atoms) < 0  # a bound glass, not exploded overlaps
    lmp.close()


def test_download_names_say_what_the_structure_is():
    """File names embed size, rate, schedule, seed and job: glasses that differ in any never collide."""
    from ase import Atoms

    from pages import _support

    def glass(n, **info):
        a = Atoms("Si" * n, cell=[10, 10, 10], pbc=True)
        a.info.update(dict(system="sio2", cooling_rate_k_ps=1.0, schedule="draft", seed=0, job="j1"), **info)
        return a

    variants = [glass(66), glass(192), glass(192, schedule="paper"), glass(192, cooling_rate_k_ps=10.0),
                glass(192, seed=1), glass(192, job="j2"), glass(192, refined=True)]
    names = [_support.export_stem(a) for a in variants]
    assert len(set(names)) == len(names), names
    assert names[1] == "sio2_192at_1Kps_draft_seed0_jobj1"
    up = Atoms("Si", cell=[5, 5, 5], pbc=True, info={"source": "my glass.xyz"})
    assert _support.export_stem(up) == "my-glass_1at"


def test_sizes_are_never_mixed_silently():
    """Trends group by size, a size mismatch with the references is flagged, the live chart names its ceiling."""
    import math

    from pages import _support

    res = [{"n_atoms": 66, "info": {"cooling_rate_k_ps": 1.0}, "summary": {"entropy_nats": 4.2}},
           {"n_atoms": 3000, "info": {"cooling_rate_k_ps": 1.0}, "summary": {"entropy_nats": 6.6}},
           {"n_atoms": 3000, "info": {"cooling_rate_k_ps": 1.0}, "summary": {"entropy_nats": 6.5}}]
    groups = _support.by_size(res)
    assert list(groups) == [66, 3000]
    assert _support.trend_by_rate(groups[3000], "entropy_nats")[1] == [pytest.approx(6.55)]
    warn = _support.size_mismatch([66], [3000] * 24)
    assert "66 atoms" in warn and "3,000 atoms" in warn and f"{math.log(3000 / 66):.2f} nats" in warn
    assert _support.size_mismatch([3000, 3000], [3000]) is None
    title = _support.entropy_chart_title({"n_atoms": 192})
    assert "192 atoms" in title and f"ln N = {math.log(192):.2f}" in title


def test_slab_counts_the_glass_defects_not_the_cut_bonds():
    """A slab shows the whole glass's under/over-coordinated atoms that lie in it: cutting bonds at its faces
    makes no defects (a perfect network stays perfect in any slab)."""
    import numpy as np

    from amorph_core.analysis.defects import defect_classes, defects_in, slab, slab_mask
    from amorph_core.structures import read_structure
    from amorph_core.systems import get_system
    from pages import _viewer

    glass = read_structure(EXAMPLE_GLASS[0]) if EXAMPLE_GLASS else pytest.skip("no example glass")
    whole = defect_classes(glass, "sio2")
    mask = slab_mask(glass, "z", 0.5, 6.0)
    in_slab = defects_in(whole, mask)
    expected = {k: int(np.sum(mask[v])) for k, v in whole.items() if np.sum(mask[v])}
    assert {k: len(v) for k, v in in_slab.items()} == expected
    cut = defect_classes(slab(glass, "z", 0.5, 6.0), "sio2")  # what the view showed before
    assert sum(map(len, cut.values())) > sum(map(len, in_slab.values()))
    sub = glass[mask]
    for name, idx in in_slab.items():  # renumbered to the slab's atoms, same elements
        assert all(sub[i].symbol == name.rstrip("0123456789") for i in idx)
    legend = _viewer.color_legend("defect", sub.get_chemical_symbols(), in_slab)
    assert [c for _, c in legend][:len(in_slab)] == _viewer.DEFECT_COLORS[:len(in_slab)]
    colours = get_system("sio2").colours  # the viewer's element colours are the system's
    assert _viewer.color_legend("element", ["Si", "O"]) == [("O", colours["O"]), ("Si", colours["Si"])]


def test_closed_pore_is_flagged_not_reported():
    from amorph_core.analysis.pores import pore_closed

    assert "closed" in pore_closed({"r_eff_a": 0.25, "nbo_per_nm2": 36.4})
    assert "closed" in pore_closed({"r_eff_a": float("nan")})
    assert pore_closed({"r_eff_a": 3.8, "nbo_per_nm2": 3.1}) is None


def test_plots_sane_axes_fixed_colours_integer_ticks():
    import plotly.graph_objects as go

    from pages import _plots

    fig = go.Figure(go.Scatter(x=[0, 1, 2], y=[5.2, 5.2 + 1e-9, 5.2 - 1e-9]))
    _plots.entropy_axis(fig)
    lo, hi = fig.layout.yaxis.range
    assert hi - lo >= 0.5 and fig.layout.yaxis.tickformat == ".3~g"
    pdf = {"r_a": [1, 2], "partials": {"Si-O": [0, 1]}}
    for fig in (_plots.pdf_figure({"generated": pdf, "MD": pdf}), _plots.pdf_figure({"MD": pdf, "generated": pdf}),
                _plots.histogram_figure({"MD": {"centers": [1], "density": [1]},
                                         "generated": {"centers": [1], "density": [1]}}, "t", "x")):
        assert {t.name: t.line.color for t in fig.data} == {"generated": "#d62728", "MD": "#1f77b4"}
    trend = _plots.trend_figure({"generated, 66 atoms": ([1], [1], [0]), "generated, 3,000 atoms": ([1], [1], [0]),
                                 "MD reference, 3,000 atoms": ([1], [1], [0])}, "t", "y")
    assert [(t.line.color, t.line.dash) for t in trend.data] == [("#d62728", "solid"), ("#d62728", "dash"),
                                                                  ("#1f77b4", "solid")]
    ov = _plots.overlap_figure({"Gen|Gen": [[1, 0.5, 0.2], [0.5, 1, 0.1], [0.2, 0.1, 1]]})
    assert list(ov.layout.xaxis.tickvals) == [0, 1, 2] and list(ov.layout.xaxis.ticktext) == ["1", "2", "3"]


def test_cooling_rates_teaching_view_prefers_the_trained_range():
    from pages import _support

    assert _support.rates_to_show([0.01, 0.1, 1.0, 10.0, 100.0, 1000.0], (0.1, 100.0)) == [0.1, 1.0, 10.0, 100.0]
    assert _support.rates_to_show([0.01, 1.0, 1000.0], (0.1, 100.0)) == [0.01, 1.0, 1000.0]
    assert _support.rates_to_show([0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100], (0.1, 100.0)) == [0.1, 1, 10, 100]


def test_messages_name_the_users_file_not_internals(jobs_dir):
    """An upload that cannot be read is reported under its own name, without temp-file names or Python class
    names; other errors lose the class name too."""
    from amorph_core.errors import AmorphError
    from amorph_core.structures.io import read_upload
    from pages import _support

    with pytest.raises(AmorphError) as err:
        read_upload("glass.xyz", b"\xff\xfe\x00garbage\x80\x81")
    msg = str(err.value)
    assert "glass.xyz" in msg and "amorph-upload-" not in msg and "Error:" not in msg, msg
    assert _support.user_message(ValueError("bad thing")) == "unexpected problem: bad thing"
    assert _support.user_message(AmorphError("x: UnicodeDecodeError: 'utf-8' codec")) == "x: 'utf-8' codec"


def test_icons_are_material_and_about_is_consistent(jobs_dir):
    """No emoji (they render as empty boxes without an emoji font): page icons and titles use Material icons;
    the About page's training time agrees with its table and the citation points to the paper's page."""
    import re

    pat = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF\uFE0F]")
    for f in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]:
        assert not pat.search(f.read_text()), f"emoji in {f.name}"
    at = app(jobs_dir, "about")
    no_errors(at)
    text = " ".join(m.value for m in at.markdown)
    assert "kaiyang1010.github.io/DM2" in text and "47 minutes" not in text
    if at.dataframe:
        assert "last training stage (min)" in at.dataframe[0].value.columns
    mg = app(jobs_dir, "metallic_glass")
    assert not any("cooling-rate regression" in t.label for t in mg.toggle)


def test_every_chart_has_its_numbers_as_csv_and_qn_is_shown():
    from pages import _plots

    fig = _plots.trend_figure({"generated, 192 atoms": ([0.1, 1.0], [2.1, 2.2], [0.01, 0.02])}, "t", "y")
    assert _plots.figure_records(fig) == [
        {"series": "generated, 192 atoms", "panel": "", "x": 0.1, "y": 2.1, "error": 0.01},
        {"series": "generated, 192 atoms", "panel": "", "x": 1.0, "y": 2.2, "error": 0.02}]
    pdf = {"r_a": [1.0, 2.0], "partials": {"Si-O": [0.0, 3.0], "O-O": [0.0, 1.0]}}
    recs = _plots.figure_records(_plots.pdf_figure({"generated": pdf}))
    assert {(r["panel"], r["x"], r["y"]) for r in recs} == {("Si-O", 1.0, 0.0), ("Si-O", 2.0, 3.0),
                                                            ("O-O", 1.0, 0.0), ("O-O", 2.0, 1.0)}
    heat = _plots.figure_records(_plots.overlap_figure({"Gen|Gen": [[1.0, 0.5], [0.4, 1.0]]}))
    assert {"series": "", "panel": "Gen|Gen", "row": 2, "column": 1, "value": 0.4} in heat
    qn = _plots.qn_figure({"generated": {"3": 0.1, "4": 0.9}, "MD": {"4": 1.0}})
    assert [list(t.x) for t in qn.data] == [["Q3", "Q4"], ["Q4"]]
    assert [t.marker.color for t in qn.data] == ["#d62728", "#1f77b4"]


def test_form_warns_of_an_extrapolated_rate_once():
    """A cooling rate outside the trained range is one warning on the form, not one per check that reads it."""
    from amorph_core.generate import GenerationRequest
    from pages import _requests

    check = _requests.check_generation(GenerationRequest(cooling_rate_k_ps=0.01, n_atoms=192, schedule="draft"),
                                       cuda_available=False)
    assert [w for w in check["warnings"] if "extrapolating" in w] == [
        "cooling rate 0.01 K/ps is outside the reference/training range 0.1..100 K/ps: extrapolating"]
