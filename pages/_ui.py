"""Streamlit pieces shared by the pages: the job manager, job panels, structure pickers, the 3D viewer."""
from __future__ import annotations

import os
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st

from amorph_core.analysis.defects import defect_classes, defects_in, slab, slab_mask
from amorph_core.errors import AmorphError
from amorph_core.jobs import FINAL, get_manager
from amorph_core.structures.io import MAX_UPLOAD_MB, plain_info, read_upload
from pages import _plots, _support, _viewer

POLL_S = 1.0
STRUCTURE_PAGE = "pages/structure.py"


@st.cache_resource
def manager():
    """The server's one JobManager (survives reruns, page switches and sessions)."""
    return get_manager(os.environ.get("AMORPH_JOBS_DIR"))


@st.cache_data(max_entries=64, show_spinner=False)
def load_structure(path: str, mtime: float):
    """Atoms from a result file (cached by path and modification time)."""
    from amorph_core.structures import read_structure

    return read_structure(path)


def load(path: str):
    return load_structure(str(path), Path(path).stat().st_mtime).copy()


@st.cache_data(max_entries=16, show_spinner=False)
def _references(system: str, rate):
    from amorph_core.structures import reference_glasses

    return reference_glasses(system, rate_k_ps=rate, nearest=rate is not None)


def references(system: str, rate=None):
    """Reference MD glasses of a system (at the nearest reference cooling rate if rate is given)."""
    return [a.copy() for a in _references(system, rate)]


def show_error(exc: Exception) -> None:
    st.error(_support.user_message(exc), icon=":material/error:")


# --------------------------------------------------------------------------- jobs
def workspace() -> str:
    """This visitor's workspace id: jobs and results belong to it (private by default on a shared server).

    It lives in the page address (?ws=...), so a reload or a bookmark comes back to the same jobs; a visit
    without one starts a new workspace."""
    ws = st.query_params.get("ws") or st.session_state.get("workspace")
    if not _support.valid_workspace(ws):
        ws = _support.new_workspace()
    st.session_state["workspace"] = ws
    if st.query_params.get("ws") != ws:
        st.query_params["ws"] = ws
    return ws


def remember_job(job_id: str) -> None:
    st.session_state.setdefault("my_jobs", [])
    if job_id not in st.session_state["my_jobs"]:
        st.session_state["my_jobs"].append(job_id)


def entropy_figure(job: dict) -> go.Figure:
    """Information entropy (nats/atom) vs denoising step, one line per sample (paper Fig. 20, live)."""
    fig = go.Figure()
    for idx, s in sorted(job.get("samples", {}).items(), key=lambda kv: int(kv[0])):
        if s.get("entropy"):
            x, y = zip(*s["entropy"])
            fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=f"seed {s.get('seed')}"))
    fig.update_layout(xaxis_title="denoising step", yaxis_title="information entropy H (nats/atom)",
                      height=320, margin=dict(l=10, r=10, t=30, b=10),
                      title=_support.entropy_chart_title(job.get("params") or {}))
    n = (job.get("params") or {}).get("n_atoms")
    if n:
        import math

        fig.add_hline(y=math.log(n), line_dash="dot", line_color="#888888",
                      annotation_text="ln N: every environment distinct")
    _plots.entropy_axis(fig)
    return fig


def _job_card(job: dict, key: str) -> None:
    m = manager()
    state = job["state"]
    st.markdown(f"**{job['label']}** · `{job['id']}` · {state}")
    if job["kind"] == "generate" and _support.describe_params(job["params"]) != job["label"]:
        st.caption(_support.describe_params(job["params"]))
    level, text = _support.job_status(job)
    if level == "progress":
        frac = float(job.get("fraction") or 0.0)
        st.progress(min(max(frac, 0.0), 1.0), text=text)
        if st.button("Cancel", key=f"cancel-{key}-{job['id']}", icon=":material/stop_circle:"):
            m.cancel(job["id"])
    else:
        {"success": st.success, "error": st.error, "warning": st.warning}[level](
            text, icon={"success": ":material/check_circle:", "error": ":material/error:",
                        "warning": ":material/pause_circle:"}[level])
        c1, c2 = st.columns(2)
        if m.can_resume(job["id"]) and c1.button(
                "Resume", key=f"resume-{key}-{job['id']}", icon=":material/play_arrow:",
                help="queue it again: finished structures are kept, unfinished ones continue from their last "
                     "saved step"):
            m.resume(job["id"])
            st.rerun()
        if c2.button("Dismiss", key=f"dismiss-{key}-{job['id']}", icon=":material/close:",
                     help="remove this card; result files stay listed"):
            m.dismiss(job["id"])
            st.rerun()
    if any(s.get("entropy") for s in job.get("samples", {}).values()):
        st.plotly_chart(entropy_figure(job), key=f"ent-{key}-{job['id']}", width="stretch")


#: cards shown at once; older finished jobs go into an expander
MAX_CARDS = 4


def _jobs_to_show(kind: str | None, match=None) -> tuple:
    """(this workspace's undismissed jobs of a kind that pass match(job), newest first; the number of other
    workspaces' jobs queued or running in the GPU lane)."""
    m = manager()
    ws = workspace()
    jobs = [j for j in m.list_jobs(kind=kind, owner=ws, dismissed=False)
            if match is None or match(j)]
    others = [j for j in m.queue("gpu") if j.get("owner") != ws]
    return jobs, len(others)


def _render_jobs(kind: str | None, key: str, match=None) -> bool:
    jobs, others = _jobs_to_show(kind, match)
    active = any(j["state"] not in FINAL for j in jobs) or bool(others)
    if others:
        st.info(f"{others} other job(s) on this server run or wait in the GPU queue (one GPU job at a time); "
                f"yours start after them.", icon=":material/hourglass_top:")
    for job in jobs[:MAX_CARDS]:
        with st.container(border=True):
            _job_card(job, key)
    if len(jobs) > MAX_CARDS:
        with st.expander(f"{len(jobs) - MAX_CARDS} older job(s)"):
            for job in jobs[MAX_CARDS:]:
                with st.container(border=True):
                    _job_card(job, key)
    return active


@st.fragment(run_every=POLL_S)
def _live_jobs(kind, key, match):
    active = _render_jobs(kind, key, match)
    if not active:
        st.rerun(scope="app")  # a job just finished: refresh the result lists


@st.fragment
def _static_jobs(kind, key, match):
    _render_jobs(kind, key, match)


def job_panel(kind: str | None = "generate", key: str = "jobs", match=None) -> None:
    """This workspace's jobs (of a kind, passing match(job): a page shows its own) with progress, ETA, entropy
    chart, cancel, resume and dismiss; polls while any is active."""
    jobs, others = _jobs_to_show(kind, match)
    if any(j["state"] not in FINAL for j in jobs) or others:
        _live_jobs(kind, key, match)
    else:
        _static_jobs(kind, key, match)


# --------------------------------------------------------------------------- structures
def result_rows(kind: str | None = "generate") -> list:
    """Result structures on disk (newest first); MD-refined structures carry their source's parameters."""
    m = manager()
    ws = workspace()
    rows = m.list_results(kind=kind, owner=ws)
    if kind == "generate":
        by_path = {r["path"]: r for r in rows}
        for r in m.list_results(kind="refine", owner=ws):
            src = by_path.get(r["params"].get("path"))
            params = dict(src["params"] if src else {}, refined=f"{r['params'].get('nvt_ps')} ps NVT + "
                                                                f"{r['params'].get('npt_ps')} ps NPT")
            rows.append(dict(r, params=params, seed=src["seed"] if src else None))
        rows.sort(key=lambda r: r.get("finished") or 0, reverse=True)
    return rows


def result_label(row: dict) -> str:
    return f"{_support.describe_params(dict(row['params'], seeds=[row['seed']] if row['seed'] is not None else []))}" \
           f" · job {row['job_id']}"


def results_table(rows: list):
    import pandas as pd

    recs = []
    for r in rows:
        p = r["params"]
        recs.append({"job": r["job_id"], "system": p.get("system"), "rate (K/ps)": p.get("cooling_rate_k_ps"),
                     "atoms": p.get("n_atoms"), "density (g/cm³)": p.get("density_g_cm3") or "auto",
                     "pore r (Å)": p.get("pore_radius_a"), "seed": r["seed"], "schedule": p.get("schedule"),
                     "file": Path(r["path"]).name})
    return pd.DataFrame(recs)


def pick_structure(key: str, allow_upload: bool = True, allow_reference: bool = True, system: str | None = None):
    """A structure chosen from generated results, the reference glasses or an upload; None if nothing yet."""
    sources = ["generated"] + (["reference glass"] if allow_reference else []) + (["upload"] if allow_upload else [])
    src = st.radio("Structure from", sources, horizontal=True, key=f"{key}-src")
    if src == "generated":
        rows = [r for r in result_rows() if system is None or r["params"].get("system") == system]
        if not rows:
            st.info("No generated structures yet: start one on the Generate page.", icon=":material/info:")
            return None
        paths = [r["path"] for r in rows]
        labels = {r["path"]: result_label(r) for r in rows}
        pre = st.session_state.get("view_path")
        idx = paths.index(pre) if pre in paths else 0
        path = st.selectbox("Generated structure", paths, index=idx, format_func=labels.get, key=f"{key}-gen")
        try:
            atoms = load(path)
            atoms.info["job"] = next(r["job_id"] for r in rows if r["path"] == path)
            if "refined" in (next(r for r in rows if r["path"] == path)["params"]):
                atoms.info["refined"] = True
            return atoms
        except AmorphError as exc:
            show_error(exc)
            return None
    if src == "reference glass":
        from amorph_core.structures import reference_rates

        sysname = system or st.selectbox("System", ["sio2", "cuzr"], key=f"{key}-refsys")
        try:
            rates = reference_rates(sysname)
            rate = st.selectbox("Cooling rate (K/ps)", rates, key=f"{key}-refrate") if rates[0] is not None else None
            glasses = references(sysname, rate)
        except AmorphError as exc:
            show_error(exc)
            return None
        i = st.selectbox("Sample", list(range(len(glasses))), key=f"{key}-refsample",
                         format_func=lambda k: f"sample {glasses[k].info.get('sample', k)} "
                                               f"({glasses[k].info.get('split', '')})")
        return glasses[i]
    up = st.file_uploader(f"Structure file (extxyz, CIF, POSCAR, LAMMPS data, ...; ≤ {MAX_UPLOAD_MB} MB)",
                          key=f"{key}-upload")
    if up is None:
        return None
    try:
        return read_upload(up.name, up.getvalue())
    except AmorphError as exc:
        show_error(exc)
        return None


def structure_viewer(atoms, key: str, system: str | None = None, height: int = 520) -> None:
    """3D view with style, colouring and slab controls."""
    from amorph_core.systems import guess_system

    n = len(atoms)
    c1, c2, c3 = st.columns(3)
    style = c1.selectbox("Style", ["auto"] + list(_viewer.STYLES), key=f"{key}-style",
                         help="auto: balls+sticks up to 5k atoms, sticks up to 20k, lines above")
    color_by = c2.selectbox("Colour by", ["element", "coordination defect"], key=f"{key}-color")
    use_slab = c3.toggle("Slab view", key=f"{key}-slab", help="show a slice: useful for pores and big boxes")
    shown, mask = atoms, None
    if use_slab:
        s1, s2, s3 = st.columns(3)
        axis = s1.selectbox("Slab normal", ["z", "x", "y"], key=f"{key}-axis")
        pos = s2.slider("Position (fraction of box)", 0.0, 1.0, 0.5, 0.01, key=f"{key}-pos")
        thick = s3.slider("Thickness (Å)", 1.0, float(max(2.0, atoms.cell.lengths().max())), 6.0, 0.5,
                          key=f"{key}-thick")
        mask = slab_mask(atoms, axis, pos, thick)
        shown = slab(atoms, axis, pos, thick)
    defects = None
    if color_by == "coordination defect":
        try:
            sysname = system or guess_system(atoms.get_chemical_symbols()).name
            defects = defect_classes(atoms, sysname)  # bonds of the whole glass, also across the slab's faces
            if mask is not None:
                defects = defects_in(defects, mask)
            where = "in the slab" if mask is not None else "in the glass"
            if defects:
                st.caption(f"Coordination defects {where}, shown as spheres: " + ", ".join(
                    f"{k}: {len(v)}" for k, v in sorted(defects.items())))
            else:
                st.caption(f"No coordination defects {where} (every Si 4-fold, every O 2-fold).")
        except AmorphError as exc:
            show_error(exc)
            color_by = "element"
    if len(shown) == 0:
        st.warning("The slab contains no atoms: move or thicken it.")
        return
    html = _viewer.viewer_html(shown, style=style, color_by="defect" if defects is not None else "element",
                           defects=defects, height=height)
    st.iframe(html, height=height + 20)
    st.markdown("Colours: " + " ".join(
        f'<span style="color:{c}">●</span> {name}' for name, c in
        _viewer.color_legend("defect" if defects is not None else "element", shown.get_chemical_symbols(), defects)),
        unsafe_allow_html=True)
    st.caption(f"{len(shown)} of {n} atoms shown · cell {' × '.join(f'{x:.2f}' for x in atoms.cell.lengths())} Å"
               " · drag to rotate, scroll to zoom")


def download_buttons(atoms, stem: str, key: str) -> None:
    """Download buttons for extxyz, LAMMPS data, CIF and POSCAR (parameters embedded where possible)."""
    from amorph_core.structures import structure_to_bytes
    from amorph_core.structures.io import EXPORT_FORMATS

    atoms = atoms.copy()
    atoms.info.update(plain_info(atoms))  # numpy scalars (e.g. the seed read back from extxyz) -> Python
    cols = st.columns(len(EXPORT_FORMATS))
    for col, (fmt, (_, suffix)) in zip(cols, EXPORT_FORMATS.items()):
        try:
            data = structure_to_bytes(atoms, fmt)
        except Exception as exc:  # a format that cannot hold this structure
            col.caption(f"{fmt}: {exc}")
            continue
        col.download_button(f"{fmt}", data, file_name=f"{stem}{suffix}", key=f"{key}-dl-{fmt}",
                            mime="chemical/x-extxyz" if fmt == "extxyz" else "text/plain", icon=":material/download:")


def chart(fig, key: str, stem: str | None = None) -> None:
    """A plotly figure and, under it, a CSV download of the numbers it plots."""
    st.plotly_chart(fig, width="stretch", key=key)
    csv_download(_plots.figure_records(fig), stem or key, key=f"{key}-csv")


def csv_download(records: list, stem: str, key: str) -> None:
    """A button that downloads the plotted numbers (a list of flat dicts) as CSV."""
    import pandas as pd

    if records:
        st.download_button("CSV of the plotted data", pd.DataFrame(records).to_csv(index=False).encode(),
                           file_name=f"{stem}.csv", mime="text/csv", key=key, icon=":material/download:")


# --------------------------------------------------------------------------- analysis jobs
def save_upload_for_job(atoms) -> str:
    """Write an uploaded (already validated) structure into the jobs folder so a job can read it."""
    import hashlib

    from amorph_core.structures import structure_to_bytes, write_structure

    data = structure_to_bytes(atoms, "extxyz")
    d = manager().jobs_dir / "uploads"
    path = d / f"upload-{hashlib.sha256(data).hexdigest()[:16]}.extxyz"
    if not path.exists():
        write_structure(atoms, path, "extxyz")
    return str(path)


def submit_job(kind: str, params: dict, label: str, session_key: str):
    try:
        jid = manager().submit(kind, params, label=label, owner=workspace())
    except AmorphError as exc:
        show_error(exc)
        return None
    remember_job(jid)
    st.session_state[session_key] = jid
    return jid


@st.cache_data(max_entries=32, show_spinner=False)
def _read_json(path: str, mtime: float):
    import json

    return json.loads(Path(path).read_text())


def job_result(session_key: str, kind: str, purpose: str | None = None):
    """(job snapshot, loaded JSON result) of this session's latest job of a kind, or the newest done one
    (with params['purpose'] == purpose when given)."""
    m = manager()
    jid = st.session_state.get(session_key)
    job = None
    if jid:
        try:
            job = m.get(jid)
        except AmorphError:
            job = None
    if job is None:
        done = [j for j in m.list_jobs(states=("done",), kind=kind, owner=workspace())
                if purpose is None or j["params"].get("purpose") == purpose]
        job = done[0] if done else None
    if job is None or job["state"] != "done" or not job["results"]:
        return job, None
    path = job["results"][0]["path"]
    if not Path(path).exists():
        return job, None
    return job, _read_json(path, Path(path).stat().st_mtime)


def rate_of(paths) -> float | None:
    """Mean log cooling rate (K/ps) of generated structures, from their stored parameters."""
    import math

    rates = []
    for r in manager().list_results(owner=workspace()):
        if r["path"] in paths and r["params"].get("cooling_rate_k_ps"):
            rates.append(math.log10(r["params"]["cooling_rate_k_ps"]))
    return 10 ** (sum(rates) / len(rates)) if rates else None
