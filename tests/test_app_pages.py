"""Every page of the Streamlit app runs headless (AppTest); Generate drives the real generator.

AppTest does not fire st.fragment(run_every=...) timers: the tests wait on the job manager and call
at.run() again, as a user's browser would poll.
"""
import io
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


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """The shipped sio2 model if there is one, else a freshly initialised (untrained) checkpoint."""
    from amorph_core.model.checkpoint import DEFAULT_MODELS, list_models

    if DEFAULT_MODELS["sio2"] in list_models():
        return ""
    import torch

    from amorph_core.model.checkpoint import save_checkpoint
    from amorph_core.model.denoiser import Denoiser, DenoiserConfig

    torch.manual_seed(0)
    d = tmp_path_factory.mktemp("model")
    save_checkpoint(d, Denoiser(DenoiserConfig(num_blocks=1, hidden_scalars=16, hidden_vectors=8)),
                    {"note": "untrained, for tests"})
    return str(d)


def app(jobs_dir, page=None):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
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


def test_generate_form_defaults_and_extrapolation_flag(jobs_dir):
    at = app(jobs_dir)
    no_errors(at)
    assert at.number_input(key="gen-natoms").value <= 648
    assert at.selectbox(key="gen-schedule").value in ("draft", "quick", "fast")
    assert not at.warning
    at.select_slider(key="gen-rate").set_value(500.0).run()
    assert any("extrapolation" in w.value for w in at.warning)
    at.toggle(key="gen-dauto").set_value(False).run()
    assert at.number_input(key="gen-density").value == pytest.approx(2.2, abs=0.15)
    # an impossible request is a clear message from the job, not a traceback
    at.number_input(key="gen-natoms").set_value(3).run()


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


def test_generate_then_view_and_download(jobs_dir, model_dir):
    at = app(jobs_dir)
    at.number_input(key="gen-natoms").set_value(72)
    at.selectbox(key="gen-schedule").set_value("draft")
    at.selectbox(key="gen-device").set_value("cpu")
    at.text_input(key="gen-model").set_value(model_dir)
    at.button(key="gen-run").click().run()
    no_errors(at)
    jobs = wait_job(jobs_dir)
    assert jobs[0]["state"] == "done", jobs[0].get("error")
    at.run()
    no_errors(at)
    assert any("done: 1 structure" in s.value for s in at.success)
    df = at.dataframe[0].value
    assert len(df) == 1 and df["atoms"].iloc[0] == 72 and df["schedule"].iloc[0] == "draft"
    # the Structure page shows it with its parameters and offers every download format
    at.switch_page("pages/structure.py").run()
    no_errors(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Atoms"] == "72" and metrics["Seed"] == "0" and metrics["Cooling rate"] == "1 K/ps"
    assert len(at.get("iframe")) == 1
    assert len(at.get("download_button")) == 4
    at.selectbox(key="view-color").set_value("coordination defect").run()
    no_errors(at)
    at.toggle(key="view-slab").set_value(True).run()
    no_errors(at)
    assert "atoms shown" in at.caption[-1].value


def test_cancel_from_the_page(jobs_dir, model_dir):
    from amorph_core.jobs import get_manager

    at = app(jobs_dir)
    at.number_input(key="gen-natoms").set_value(72)
    at.selectbox(key="gen-schedule").set_value("quick")
    at.selectbox(key="gen-device").set_value("cpu")
    at.number_input(key="gen-nsamples").set_value(3)
    at.text_input(key="gen-model").set_value(model_dir)
    at.button(key="gen-run").click().run()
    m = get_manager(jobs_dir)
    jid = at.session_state["my_jobs"][-1]
    t0 = time.time()
    while m.get(jid)["state"] == "queued" and time.time() - t0 < 60:
        time.sleep(0.2)
    at.run()
    cancel = [b for b in at.button if b.key and b.key.startswith("cancel-")]
    assert cancel, "no cancel button while the job runs"
    cancel[0].click().run()
    snap = m.wait(jid, timeout=120)
    assert snap["state"] == "cancelled" and len(snap["results"]) < 3


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
