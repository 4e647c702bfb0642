"""Metallic glass: Cu50Zr50 generation; partial PDFs, atomic volumes and Voronoi indices vs MD glasses."""
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st

from amorph_core.analysis import mean_pdf
from amorph_core.errors import AmorphError
from amorph_core.structures import reference_manifest
from pages import _forms, _plots, _support, _ui

st.title(":material/hexagon: Metallic glass: Cu₅₀Zr₅₀")
st.caption("An unconditional model trained on melt-quenched Cu₅₀Zr₅₀ (Mendelev EAM); structure judged by partial "
           "PDFs, Voronoi atomic volumes and Voronoi indices (radical tessellation, Cu 1.35 Å, Zr 1.55 Å).")

try:
    manifest = reference_manifest("cuzr")
    about = str(manifest.get("description", ""))
    if len(about) > 300:  # the whole sentences that fit
        about = about[:about.rfind(". ", 0, 300) + 1] or about[:300]
    st.caption(f"Reference: {len(manifest.get('structures', []))} MD glasses — {about}")
    have_refs = True
except AmorphError as exc:
    st.warning(f"No Cu₅₀Zr₅₀ reference glasses in this installation ({exc}); generation still works.",
               icon=":material/warning:")
    have_refs = False
shipped = _forms.shipped_models("cuzr")
if "cuzr" not in shipped:
    st.info("No shipped Cu₅₀Zr₅₀ model yet (assets/models/cuzr): give a trained checkpoint folder under Model.",
            icon=":material/info:")

with st.expander("New Cu₅₀Zr₅₀ glass", expanded=True):
    try:
        req, label = _forms.form(prefix="mg", system_fixed="cuzr")
    except AmorphError as exc:
        _ui.show_error(exc)
        req = None
    if st.button("Generate", type="primary", icon=":material/play_arrow:", disabled=req is None, key="mg-run"):
        _forms.submit(req, label)
_ui.job_panel("generate", key="mg", match=lambda j: j["params"].get("system") == "cuzr")

rows = [r for r in _ui.result_rows() if r["params"].get("system") == "cuzr"]
if not rows:
    st.info("No Cu₅₀Zr₅₀ structures yet.", icon=":material/info:")
    st.stop()
labels = {r["path"]: _ui.result_label(r) for r in rows}
chosen = st.multiselect("Structures", list(labels), default=[r["path"] for r in rows
                                                             if r["job_id"] == rows[0]["job_id"]],
                        format_func=labels.get, key="mg-paths")
if chosen:
    _ui.structure_viewer(_ui.load(chosen[0]), key="mg-view", system="cuzr", height=420)
    if st.button("Analyse vs MD", icon=":material/compare:", key="mg-analyse"):
        _ui.submit_job("analyze", {"paths": chosen, "system": "cuzr", "rings": False, "entropy": False,
                                   "voronoi": True, "per_atom": True, "references": have_refs,
                                   "purpose": "metallic"}, f"Cu50Zr50 analysis ({len(chosen)})", "mg-job")
_ui.job_panel("analyze", key="mg-an", match=lambda j: j["params"].get("purpose") == "metallic")
job, res = _ui.job_result("mg-job", "analyze", "metallic")
if res is not None and res["generated"]:
    gen, ref = res["generated"], res["reference"]
    for r in gen + ref:
        if r.get("voronoi_error"):
            st.warning(f"{Path(str(r.get('path') or r.get('name'))).name}: {r['voronoi_error']}",
                       icon=":material/warning:")
    st.dataframe(_plots.comparison_table(res.get("aggregate_generated"), res.get("aggregate_reference")),
                 hide_index=True, width="stretch")
    refined = {r["path"] for r in rows if r["params"].get("refined")}
    if ref and any(p not in refined for p in job["params"].get("paths", [])):
        st.info("The MD glasses are 300 K snapshots; a generated glass has no thermal vibration, so its PDF peaks are "
                "sharper and higher than theirs. Refine it before judging it (Compare with MD, Refine with MD: "
                "1-2 ps NVT at 300 K): on 5,000-atom glasses that brought every partial-PDF R-factor within twice "
                "the MD glasses' own spread (BENCHMARKS.md).", icon=":material/info:")
    sets = {"generated": mean_pdf([r["pdf"] for r in gen])}
    if ref:
        sets["MD"] = mean_pdf([r["pdf"] for r in ref])
    _ui.chart(_plots.pdf_figure(sets), key="mg-pdf")
    hist = {"generated": _support.volume_histograms(gen), "MD": _support.volume_histograms(ref) if ref else {}}
    if not any(hist.values()):
        st.stop()
    fig = go.Figure()
    for label, h in hist.items():
        for el, d in h.items():
            fig.add_trace(go.Scatter(x=d["centers"], y=d["density"], mode="lines", name=f"{el} {label}",
                                     line=dict(dash="solid" if label == "generated" else "dash")))
    fig.update_layout(title="Voronoi atomic volumes", xaxis_title="atomic volume (Å³)",
                      yaxis_title="probability density (1/Å³)", **_plots.LAYOUT)
    _ui.chart(fig, key="mg-vol")
    fr = {"generated": _support.voronoi_fractions(gen), "MD": _support.voronoi_fractions(ref) if ref else {}}
    keys = list(dict.fromkeys(list(fr["generated"]) + list(fr["MD"])))[:10]
    bars = go.Figure([go.Bar(x=keys, y=[fr[s].get(k, 0.0) for k in keys], name=s) for s in fr if fr[s]])
    bars.update_layout(title="Voronoi index fractions <n3,n4,n5,n6>", xaxis_title="Voronoi index",
                       yaxis_title="fraction of atoms", barmode="group", **_plots.LAYOUT)
    _ui.chart(bars, key="mg-vor")
    st.caption(gen[0].get("voronoi", {}).get("definition", ""))
