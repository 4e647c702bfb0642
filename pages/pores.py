"""Pores: porous a-SiO2 from a pore radius and wall density; radial density and NBO/nm² vs experiment."""
import plotly.graph_objects as go
import streamlit as st

from amorph_core.analysis.pores import pore_closed
from amorph_core.errors import AmorphError
from pages import _forms, _plots, _support, _ui

NBO_BAND = (2.0, 4.0)  # NBO/nm² measured at silica surfaces (paper 3.4)

st.title(":material/blur_circular: Porous glass")
st.caption("Cylindrical pores along z are cut out of the starting configuration and the model denoises the "
           "wall (paper 3.4). Non-bridging oxygens (NBO) per nm² of pore surface compare with the experimental "
           f"{NBO_BAND[0]:g}–{NBO_BAND[1]:g} NBO/nm².")

with st.expander("New porous glass", expanded=True):
    try:
        req, label = _forms.form(prefix="pore", system_fixed="sio2", pores_default=True)
    except AmorphError as exc:
        _ui.show_error(exc)
        req = None
    if st.button("Generate porous glass", type="primary", icon=":material/play_arrow:", disabled=req is None,
                 key="pore-run"):
        if not req.pore_radius_a:
            st.warning("Switch on the pore first.", icon=":material/warning:")
        else:
            _forms.submit(req, "pores: " + label)
_ui.job_panel("generate", key="pore", match=lambda j: bool(j["params"].get("pore_radius_a")))

rows = [r for r in _ui.result_rows() if r["params"].get("pore_radius_a")]
if not rows:
    st.info("No porous structures yet: generate one above.", icon=":material/info:")
    st.stop()
labels = {r["path"]: _ui.result_label(r) for r in rows}
chosen = st.multiselect("Porous structures", list(labels), default=[rows[0]["path"]], format_func=labels.get,
                        key="pore-paths")
if chosen:
    atoms = _ui.load(chosen[0])
    st.caption("Tip: slab view with normal z shows the pore cross-section.")
    _ui.structure_viewer(atoms, key="pore-view", system="sio2", height=420)
    if st.button("Analyse pores", icon=":material/straighten:", key="pore-analyse"):
        _ui.submit_job("analyze", {"paths": chosen, "system": "sio2", "rings": False, "entropy": False,
                                   "purpose": "pores"},
                       f"pore analysis of {len(chosen)} structure(s)", "pore-job")
_ui.job_panel("analyze", key="pore-an", match=lambda j: j["params"].get("purpose") == "pores")
job, res = _ui.job_result("pore-job", "analyze", "pores")
if res is not None:
    gen = [r for r in res["generated"] if r.get("pores")]
    if not gen:
        st.warning("The analysed structures have no pore information.", icon=":material/warning:")
    else:
        closed = {id(r): pore_closed(r["pores"]) for r in gen}
        for r in gen:
            if closed[id(r)]:
                st.warning(f"seed {r['info'].get('seed', '?')}: {closed[id(r)]}", icon=":material/warning:")
        vals = [r["pores"]["nbo_per_nm2"] for r in gen if not closed[id(r)]]
        c = st.columns(3)
        c[0].metric("NBO per nm² of pore surface", _support.fmt_pm(vals, "", 3) if vals else "– (pore closed)")
        c[1].metric("effective pore radius", _support.fmt_pm([r["pores"]["r_eff_a"] for r in gen], "Å", 3))
        c[2].metric("experiment", f"{NBO_BAND[0]:g}–{NBO_BAND[1]:g} NBO/nm²")
        fig = go.Figure()
        for r in gen:
            pr = r["pores"]["profile"]
            fig.add_trace(go.Scatter(x=pr["r_a"], y=pr["density_per_a3"], mode="lines",
                                     name=f"seed {r['info'].get('seed', '?')}"))
            fig.add_vline(x=r["pores"]["r_eff_a"], line_dash="dot")
        fig.update_layout(title="Radial density around the pore axis (dotted: effective radius)",
                          xaxis_title="distance from pore axis r (Å)", yaxis_title="Si+O number density (1/Å³)",
                          **_plots.LAYOUT)
        _ui.chart(fig, key="pore-profile")
        band = go.Figure()
        band.add_hrect(y0=NBO_BAND[0], y1=NBO_BAND[1], fillcolor="green", opacity=0.2, line_width=0,
                       annotation_text="experiment")
        band.add_trace(go.Scatter(x=[f"seed {r['info'].get('seed', '?')}" for r in gen if not closed[id(r)]], y=vals,
                                  mode="markers", marker=dict(size=12), name="generated"))
        band.update_layout(title="NBO concentration at the pore surface", yaxis_title="NBO per nm²",
                           **_plots.LAYOUT)
        _ui.chart(band, key="pore-band")
        st.caption(gen[0]["pores"].get("definition", ""))
