"""Compare with MD: generated (or uploaded) structures against the reference MD glasses."""
from pathlib import Path

import streamlit as st

from amorph_core.errors import AmorphError
from amorph_core.structures import reference_rates
from amorph_core.structures.io import MAX_UPLOAD_MB, read_upload
from amorph_core.systems import SYSTEMS
from pages import _plots, _support, _ui

st.title(":material/compare: Compare with MD")
st.caption("Partial PDFs, bond angles, rings, coordination, QUESTS entropy and overlaps of a generated set "
           "against the melt-quenched reference glasses at the nearest cooling rate (paper Fig. 2, 17).")

@st.cache_data(max_entries=32, show_spinner=False)
def _md_refusal_cached(path: str, mtime: float, engine: str) -> str | None:
    from amorph_core.md.refinement import check_refinable

    try:
        check_refinable(_ui.load(path), engine)
    except AmorphError as exc:
        return f"MD is not possible for this structure: {_support.user_message(exc)}"
    return None


def _md_refusal(path: str, engine: str) -> str | None:
    """Why refine/moduli would fail for this structure and engine (the core's own check), None if they run."""
    return _md_refusal_cached(path, Path(path).stat().st_mtime, engine)


system = st.selectbox("System", list(SYSTEMS), format_func=lambda s: SYSTEMS[s].label, key="cmp-system")
src = st.radio("Compare", ["generated structures", "an uploaded structure"], horizontal=True, key="cmp-src")
paths = []
if src == "generated structures":
    rows = [r for r in _ui.result_rows() if r["params"].get("system") == system]
    if not rows:
        st.info("No generated structures of this system yet: make some on the Generate page.", icon=":material/info:")
    else:
        labels = {r["path"]: _ui.result_label(r) for r in rows}
        latest = [r["path"] for r in rows if r["job_id"] == rows[0]["job_id"]]
        paths = st.multiselect("Generated structures", list(labels), default=latest, format_func=labels.get,
                               key="cmp-paths")
else:
    up = st.file_uploader(f"Structure file (≤ {MAX_UPLOAD_MB} MB; any format ase reads)", key="cmp-upload")
    if up is not None:
        try:
            atoms = read_upload(up.name, up.getvalue())
            paths = [_ui.save_upload_for_job(atoms)]
            st.caption(f"{up.name}: {len(atoms)} atoms")
        except AmorphError as exc:
            _ui.show_error(exc)

try:
    rates = [r for r in reference_rates(system) if r is not None]
except AmorphError as exc:
    _ui.show_error(exc)
    rates = None
ref_rate = None
if rates:
    guess = _ui.rate_of(paths) if paths else None
    nearest = min(rates, key=lambda r: abs(__import__("math").log10(r / guess))) if guess else rates[0]
    ref_rate = st.selectbox("Reference glasses at cooling rate (K/ps)", rates, index=rates.index(nearest),
                            key="cmp-rate", help="defaults to the reference rate nearest the structures' rate")
c1, c2 = st.columns(2)
rings = c1.checkbox("Ring statistics", value=system == "sio2", key="cmp-rings",
                    help="shortest-path rings; slow for big boxes", disabled=system != "sio2")
entropy = c2.checkbox("QUESTS entropy and overlaps", value=True, key="cmp-entropy",
                      help="the first run in a server compiles numba kernels (~1 min)")
if st.button("Compare", type="primary", icon=":material/compare:", disabled=not paths or rates is None, key="cmp-run"):
    params = {"paths": paths, "system": system, "reference_rate_k_ps": ref_rate, "rings": bool(rings),
              "entropy": bool(entropy), "purpose": "compare"}
    _ui.submit_job("compare", params, f"compare {len(paths)} {SYSTEMS[system].label} vs MD "
                   + (f"at {ref_rate:g} K/ps" if ref_rate else ""), "cmp-job")

_ui.job_panel("compare", key="cmp")

job, res = _ui.job_result("cmp-job", "compare", "compare")
if res is not None:
    st.subheader(f"{res['n_generated']} structure(s) vs {res['n_reference']} MD glasses"
                 + (f" at {res['reference_rates_k_ps'][0]:g} K/ps" if res.get("reference_rates_k_ps") else ""))
    try:
        sizes = _support.size_mismatch([len(_ui.load(p)) for p in res.get("paths", [])],
                                  [len(a) for a in _ui.references(job["params"]["system"],
                                                                  job["params"].get("reference_rate_k_ps"))])
    except (AmorphError, OSError) as exc:
        sizes = f"the compared sizes could not be checked ({_support.user_message(exc)})"
    if sizes:
        st.warning(sizes, icon=":material/straighten:")
    st.dataframe(_plots.comparison_table(res["aggregate_generated"], res["aggregate_reference"]),
                 hide_index=True, width="stretch")
    st.caption("mean ± standard deviation over the structures of each set (n = number of structures).")
    rf_g, rf_r = res["pdf_r_factor_generated_vs_mean_reference"], res["pdf_r_factor_reference_vs_mean_of_others"]
    import numpy as np
    import pandas as pd

    st.dataframe(pd.DataFrame([{
        "partial": p,
        "generated vs mean MD": _plots.pm({"mean": np.mean(v), "sd": np.std(v), "n": len(v)}) if v else "–",
        "MD vs mean of other MD (baseline)": _plots.pm({"mean": np.mean(rf_r[p]), "sd": np.std(rf_r[p]),
                                                         "n": len(rf_r[p])}) if rf_r.get(p) else "–"}
        for p, v in rf_g.items()]), hide_index=True, width="stretch")
    st.caption("PDF R-factor: " + res.get("pdf_r_factor_definition", ""))
    _ui.chart(_plots.pdf_figure({"generated": res["mean_pdf_generated"], "MD": res["mean_pdf_reference"]}),
              key="cmp-pdf")
    if res.get("angle_histograms_generated"):
        cols = st.columns(len(res["angle_histograms_generated"]))
        for col, k in zip(cols, res["angle_histograms_generated"]):
            with col:
                _ui.chart(_plots.histogram_figure(
                    {"generated": res["angle_histograms_generated"][k], "MD": res["angle_histograms_reference"][k]},
                    k.replace("angle_", "").replace("_deg", "") + " bond angles", "angle (°)",
                    "probability density (1/°)"), key=f"cmp-{k}")
    if res.get("rings_generated"):
        _ui.chart(_plots.rings_figure({"generated": res["rings_generated"], "MD": res["rings_reference"]}),
                  key="cmp-rings-fig")
    if res.get("qn_generated"):
        _ui.chart(_plots.qn_figure({"generated": res["qn_generated"], "MD": res.get("qn_reference")}),
                  key="cmp-qn")
    if res.get("overlap_gen_gen") is not None:
        s = res["summary"]
        _ui.chart(_plots.overlap_figure({"Gen|Gen": res["overlap_gen_gen"], "Sim|Sim": res["overlap_sim_sim"],
                                         "Gen|Sim": res["overlap_gen_sim"]}), key="cmp-ov")
        st.caption(f"Mean overlaps: Gen|Gen {s.get('overlap_gen_gen_mean', float('nan')):.3f} · "
                   f"Sim|Sim {s.get('overlap_sim_sim_mean', float('nan')):.3f} · "
                   f"Gen|Sim {s.get('overlap_gen_sim_mean', float('nan')):.3f} (off-diagonal means for Gen|Gen and "
                   "Sim|Sim). " + res.get("entropy_definition", ""))
    with st.expander("All numbers (JSON)"):
        st.json(res["summary"])

st.divider()
st.subheader("MD refinement and elastic moduli")
st.caption("Refinement: a short NVT then zero-pressure NPT run at 300 K with the reference potential (paper 2.1). "
           "Moduli: static elastic constants with relaxed atoms (paper A.3). The GPU (OpenMM) is used when present, "
           "else LAMMPS on the CPU; jobs queue behind generation (one GPU job at a time).")
if not paths:
    st.caption("Choose structures above first.")
else:
    labels = {p: Path(p).name for p in paths}
    target = st.selectbox("Structure", paths, format_func=labels.get, key="md-target")
    c = st.columns(3)
    nvt = c[0].number_input("NVT (ps)", 0.0, 200.0, 5.0, 1.0, key="md-nvt")
    npt = c[1].number_input("NPT (ps)", 0.0, 200.0, 5.0, 1.0, key="md-npt")
    engine = c[2].selectbox("Engine", ["auto", "openmm", "lammps"], key="md-engine")
    b1, b2 = st.columns(2)
    md_refusal = _md_refusal(target, engine)
    if md_refusal:
        st.error(md_refusal, icon=":material/block:")
    if b1.button("Refine with MD", icon=":material/cyclone:", key="md-refine", disabled=bool(md_refusal)):
        _ui.submit_job("refine", {"path": target, "nvt_ps": nvt, "npt_ps": npt, "engine": engine,
                                  "purpose": "compare"}, f"MD refinement of {labels[target]}", "md-refine-job")
    if b2.button("Elastic moduli", icon=":material/fitness_center:", key="md-moduli", disabled=bool(md_refusal)):
        _ui.submit_job("moduli", {"paths": [target], "engine": engine, "purpose": "compare"},
                       f"elastic moduli of {labels[target]}", "md-mod-job")
    _ui.job_panel("refine", key="md-ref", match=lambda j: j["params"].get("purpose") == "compare")
    _ui.job_panel("moduli", key="md-mod", match=lambda j: j["params"].get("purpose") == "compare")
    rjob, _ = _ui.job_result("md-refine-job", "refine", "compare")
    if rjob is not None and rjob["state"] == "done" and rjob["results"]:
        st.success("Refined structure ready (the Structure page lists it among the generated ones, marked "
                   "MD-refined); download it here.", icon=":material/check_circle:")
        try:
            refined = _ui.load(rjob["results"][0]["path"])
            refined.info.update(job=rjob["id"], refined=True)
            _ui.download_buttons(refined, _support.export_stem(refined), key="md-refined")
        except AmorphError as exc:
            _ui.show_error(exc)
    mjob, mres = _ui.job_result("md-mod-job", "moduli", "compare")
    if mres is not None and mres.get("results"):
        r = mres["results"][-1]
        m = st.columns(4)
        m[0].metric("bulk modulus K", f"{r['K_GPa']:.1f} GPa")
        m[1].metric("shear modulus G", f"{r['G_GPa']:.1f} GPa")
        m[2].metric("Young's modulus E", f"{r['E_GPa']:.1f} GPa")
        m[3].metric("Poisson's ratio", f"{r['poisson']:.3f}")
        st.caption(f"{Path(r['path']).name}: Hill averages; largest residual force after relaxation "
                   f"{r['fmax_residual_ev_a']:.2g} eV/Å; engine {r['engine']}, potential {r['potential']}.")
