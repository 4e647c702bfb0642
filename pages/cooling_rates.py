"""Cooling rates (teaching): what the cooling rate does to a glass; cost of MD vs generation."""
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from amorph_core.analysis.defects import slab
from amorph_core.costs import read_cost_table, read_generation_cost
from amorph_core.errors import AmorphError
from amorph_core.generate import GenerationRequest
from amorph_core.structures import reference_manifest
from amorph_core.structures.examples import example_rows
from amorph_core.structures.io import plain_info
from amorph_core.structures.references import REFERENCE_DIR
from amorph_core.systems import get_system
from pages import _forms, _plots, _requests, _support, _ui, _viewer

SYS = get_system("sio2")
st.title(":material/thermostat: Cooling rates")
st.caption("Glasses quenched faster are less relaxed: lower density, more disorder (higher entropy), wider Si-O-Si "
           "angles. The model makes glasses 'as if' quenched at any rate in seconds on a GPU (minutes on a CPU); "
           "melt-quench MD takes hours to months (paper Fig. 3).")

# ----------------------------------------------------------------- generate a series
with st.expander("Generate a series across cooling rates", expanded=False):
    opts = _support.log_rate_options(*SYS.rate_range_k_ps)
    rates = st.multiselect("Cooling rates (K/ps)", opts, default=[0.1, 1.0, 10.0, 100.0], key="cr-rates")
    c = st.columns(3)
    n_atoms = int(c[0].number_input("Atoms per glass", 24, 30000, 192, 3, key="cr-natoms"))
    n_samples = int(c[1].number_input("Samples per rate", 1, 8, 1, key="cr-nsamples"))
    names = list(_forms.schedules())
    schedule = c[2].selectbox("Schedule", names, index=names.index(_forms.default_schedule(names)), key="cr-schedule")
    model = st.text_input("Model (empty = shipped default)", "", key="cr-model").strip() or None
    if st.button("Generate series", type="primary", icon=":material/play_arrow:", disabled=not rates, key="cr-run"):
        for r in sorted(rates):
            try:
                req = GenerationRequest(system="sio2", cooling_rate_k_ps=r, n_atoms=n_atoms,
                                        seeds=_requests.sample_seeds(0, n_samples), schedule=schedule, model=model)
                _forms.submit(req, "series: " + _support.describe_params(req.to_dict()))
            except AmorphError as exc:
                _ui.show_error(exc)
_ui.job_panel("generate", key="cr", match=lambda j: j["label"].startswith("series: "))

rows = [r for r in _ui.result_rows() if r["params"].get("system") == "sio2" and not r["params"].get("pore_radius_a")
        and r["params"].get("cooling_rate_k_ps")]
try:
    examples = example_rows("sio2")
except AmorphError as exc:
    examples = []
    _ui.show_error(exc)
use_examples = bool(examples) and st.toggle(
    f"Include the shipped example series ({len(examples)} GPU-made glasses of "
    f"{'/'.join(f'{n:,}' for n in sorted({r['params']['n_atoms'] for r in examples}))} atoms, made by the default "
    f"model at {len({r['params']['cooling_rate_k_ps'] for r in examples})} cooling rates; assets/examples)",
    value=True, key="cr-examples")
shown_rows = rows + (examples if use_examples else [])  # trends: yours and (when on) the examples
by_rate = {}
for r in shown_rows:  # side by side: your newest glass per rate, the examples (when on) at the other rates
    by_rate.setdefault(float(r["params"]["cooling_rate_k_ps"]), r)

# ----------------------------------------------------------------- side by side
st.subheader("Side by side")
if not by_rate:
    st.info("No generated a-SiO₂ glasses yet: generate a series above"
            + (" or include the shipped example series." if examples else "."), icon=":material/info:")
else:
    shown = _support.rates_to_show(sorted(by_rate), SYS.trained_rate_range_k_ps)  # at most four, trained ones first
    tlo, thi = SYS.trained_rate_range_k_ps
    show_slab = st.toggle("Show 6 Å slabs (clearer for big boxes)", value=False, key="cr-slab")
    cols = st.columns(len(shown))
    for col, rate in zip(cols, shown):
        atoms = _ui.load(by_rate[rate]["path"])
        view = slab(atoms, "z", 0.5, 6.0) if show_slab else atoms
        with col:
            st.markdown(f"**{rate:g} K/ps** · {len(atoms)} atoms" + (" · example" if by_rate[rate].get("example_set")
                                                                         else ""))
            if not tlo <= rate <= thi:
                st.caption(f":material/warning: outside the trained range {tlo:g}–{thi:g} K/ps: extrapolation")
            st.iframe(_viewer.viewer_html(view, width=320, height=300), height=320)

# ----------------------------------------------------------------- trends
st.subheader("Trends with the cooling rate")
paths = [r["path"] for r in shown_rows]
c1, c2 = st.columns([1, 3])
if c1.button("Analyse all (with MD references)", icon=":material/trending_up:", key="cr-analyse"):
    _ui.submit_job("analyze", {"paths": paths, "system": "sio2", "references": True, "rings": False, "entropy": True,
                               "purpose": "rates"}, f"rate trends: {len(paths)} generated + MD references", "cr-job")
c2.caption("Entropy (QUESTS), Si-O-Si angle and density of every generated a-SiO₂ glass and of the 24 reference "
           "glasses; the first QUESTS run in a server compiles for about a minute.")
_ui.job_panel("analyze", key="cr-an", match=lambda j: j["params"].get("purpose") == "rates")
job, res = _ui.job_result("cr-job", "analyze", "rates")
if res is not None:
    for key, title, unit in (("density_g_cm3", "Density", "g/cm³"), ("entropy_nats", "Information entropy", "nats"),
                             ("angle_SiOSi_mean_deg", "Mean Si-O-Si angle", "°"),
                             ("O_not_2fold_pct", "O not 2-fold", "%")):
        series, csv = {}, []
        for label, group in (("generated", res["generated"]), ("MD reference", res["reference"])):
            for n_atoms, sized in _support.by_size(group).items():  # never pool sizes: entropy grows like ln N
                x, y, e, n = _support.trend_by_rate(sized, key)
                if x:
                    series[f"{label}, {n_atoms:,} atoms"] = (x, y, e)
                    csv += [{"set": label, "atoms": n_atoms, "rate_k_ps": xi, key: yi, "sd": ei, "n": ni}
                            for xi, yi, ei, ni in zip(x, y, e, n)]
        if series:
            st.plotly_chart(_plots.trend_figure(series, f"{title} vs cooling rate", f"{title} ({unit})"),
                            width="stretch", key=f"cr-{key}")
            _ui.csv_download(csv, f"cooling-rate-trend_{key}", key=f"cr-{key}-csv")
    st.caption("Points: mean over the structures of one size at a rate; error bars: sample standard deviation. "
               "Each size is its own series (QUESTS entropy grows like ln N, so sizes are not pooled).")

# ----------------------------------------------------------------- moduli
st.subheader("Elastic moduli vs cooling rate")
st.caption("Static elastic constants from MD energy minimisation under ±0.1% strains (paper A.3); on a CPU this "
           "takes minutes per small glass and much longer for the 3000-atom references. The BJP potential's 8 Å "
           "cutoff needs boxes of at least 16 Å (about 450 atoms of a-SiO₂ or more).")
m1, m2 = st.columns(2)
with_refs = m2.checkbox("Include one MD reference glass per rate (slow on a CPU)", value=False, key="cr-modrefs")
if m1.button("Compute moduli", icon=":material/fitness_center:", key="cr-moduli", disabled=not by_rate):
    mpaths = [by_rate[r]["path"] for r in sorted(by_rate)]
    if with_refs:
        seen = set()
        for e in reference_manifest("sio2")["structures"]:
            if e["cooling_rate_k_ps"] not in seen and e.get("split") == "validation":
                seen.add(e["cooling_rate_k_ps"])
                mpaths.append(str(REFERENCE_DIR / "sio2" / e["file"]))
    _ui.submit_job("moduli", {"paths": mpaths, "engine": "auto", "purpose": "rates"},
                   f"elastic moduli of {len(mpaths)} glasses", "cr-mod-job")
_ui.job_panel("moduli", key="cr-mod", match=lambda j: j["params"].get("purpose") == "rates")
mjob, mres = _ui.job_result("cr-mod-job", "moduli", "rates")
if mres is not None and mres["results"]:
    table = []
    for r in mres["results"]:
        info = r.get("info", {})
        table.append({"structure": Path(r["path"]).name, "rate (K/ps)": info.get("cooling_rate_k_ps"),
                      "MD reference": "sample" in info, "K (GPa)": r["K_GPa"], "G (GPa)": r["G_GPa"],
                      "E (GPa)": r["E_GPa"], "Poisson": r["poisson"], "max residual force (eV/Å)":
                      r["fmax_residual_ev_a"], "engine": r["engine"]})
    df = pd.DataFrame(table)
    st.dataframe(df, hide_index=True, width="stretch")
    fig = go.Figure()
    for ref, g in df.groupby("MD reference"):
        for col in ("K (GPa)", "G (GPa)"):
            fig.add_trace(go.Scatter(x=g["rate (K/ps)"], y=g[col], mode="markers",
                                     name=f"{col.split()[0]} {'MD' if ref else 'generated'}"))
    fig.update_layout(title="Bulk (K) and shear (G) moduli", xaxis_type="log", xaxis_title="cooling rate (K/ps)",
                      yaxis_title="modulus (GPa)", **_plots.LAYOUT)
    _ui.chart(fig, key="cr-mod-fig")

# ----------------------------------------------------------------- cost
st.subheader("Cost: melt-quench MD vs generation (paper Fig. 3d)")
try:
    table = read_cost_table()
except AmorphError as exc:
    table = None
    _ui.show_error(exc)
gen_rows = []
for r in rows:
    try:
        info = plain_info(_ui.load(r["path"]))
    except AmorphError:
        continue
    if info.get("generation_time_s") is not None:
        gen_rows.append({"rate (K/ps)": info.get("cooling_rate_k_ps"), "atoms": int(r["params"].get("n_atoms") or 0),
                         "steps": info.get("n_steps"), "device": info.get("device"),
                         "generation time (s)": info["generation_time_s"]})
if table is None:
    st.info("The measured MD cost table (assets/md/cost_table.json) is not in this installation, so the MD side "
            "of this comparison is not shown: no numbers are made up.", icon=":material/info:")
else:
    st.caption(str(table.get("description", "")))
    entries = table.get("entries") or table.get("rows") or []
    if entries:
        st.dataframe(pd.DataFrame(entries), hide_index=True, width="stretch")
    else:
        st.json(table)
gen_cost = read_generation_cost()
if table is not None and gen_cost is not None:
    _ui.chart(_plots.cost_figure(table.get("rows", []), gen_cost.get("rows", [])), key="cr-cost")
    st.caption(str(gen_cost.get("description", "")) + " MD: projected from measured time per step "
               "(BENCHMARKS.md).")
if gen_rows:
    st.markdown("**Generation, measured on this server** (seconds per structure, from the files' metadata)")
    st.dataframe(pd.DataFrame(gen_rows), hide_index=True, width="stretch")
