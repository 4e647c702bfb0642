"""Plotly figures and tables from the JSON results of amorph_core.analysis (no computation here)."""
from __future__ import annotations

import math

import plotly.graph_objects as go
from plotly.subplots import make_subplots

LAYOUT = dict(height=340, margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.25))
#: summary keys shown in comparison tables: key -> (label, unit)
METRICS = {
    "density_g_cm3": ("density", "g/cm³"),
    "Si_not_4fold_pct": ("Si not 4-fold", "%"),
    "O_not_2fold_pct": ("O not 2-fold", "%"),
    "coord_Si_mean": ("Si coordination", ""),
    "angle_OSiO_mean_deg": ("O-Si-O angle", "°"),
    "angle_SiOSi_mean_deg": ("Si-O-Si angle", "°"),
    "angle_SiOSi_sd_deg": ("Si-O-Si angle spread (sd)", "°"),
    "shortest_SiO_a": ("shortest Si-O", "Å"),
    "Q4_fraction": ("Q4: Si with 4 bridging O", "fraction"),
    "Q3_fraction": ("Q3: Si with 3 bridging O", "fraction"),
    "entropy_nats": ("QUESTS entropy", "nats"),
    "rings_3_per_Si": ("3-rings per Si", ""),
    "rings_4_per_Si": ("4-rings per Si", ""),
    "rings_5_per_Si": ("5-rings per Si", ""),
    "rings_6_per_Si": ("6-rings per Si", ""),
    "rings_7_per_Si": ("7-rings per Si", ""),
    "volume_Cu_mean_a3": ("Cu Voronoi volume", "Å³"),
    "volume_Zr_mean_a3": ("Zr Voronoi volume", "Å³"),
    "icosahedral_fraction": ("<0,0,12,0> fraction", ""),
    "voronoi_top_fraction": ("most common Voronoi index fraction", ""),
    "nbo_per_nm2": ("NBO at pore surface", "1/nm²"),
    "pore_r_eff_a": ("effective pore radius", "Å"),
}


#: one colour per kind of set, the same in every plot: generated red, MD blue (others by order)
SET_COLORS = {"generated": "#d62728", "MD": "#1f77b4"}
OTHER_COLORS = ["#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b"]
#: line styles that tell sizes apart within one kind of set
SIZE_DASHES = ["solid", "dash", "dot", "dashdot", "longdash"]


def set_color(label: str, k: int = 0) -> str:
    """The colour of a set: 'generated...' red, 'MD...' blue, whatever its plot."""
    low = str(label).lower()
    if low.startswith("gen"):
        return SET_COLORS["generated"]
    if low.startswith("md") or low.startswith("sim") or "reference" in low:
        return SET_COLORS["MD"]
    return OTHER_COLORS[k % len(OTHER_COLORS)]


def entropy_axis(fig: go.Figure, min_span: float = 0.5) -> go.Figure:
    """A readable entropy axis (nats): at least min_span wide around the data and 3-digit ticks, so that
    numerical noise of 1e-9 nats does not fill the axis with 10-digit ticks."""
    ys = [float(y) for tr in fig.data for y in (tr.y or ()) if y is not None and math.isfinite(float(y))]
    if ys:
        lo, hi = min(ys), max(ys)
        if hi - lo < min_span:
            mid = (hi + lo) / 2
            lo, hi = mid - min_span / 2, mid + min_span / 2
        pad = 0.05 * (hi - lo)
        fig.update_yaxes(range=[lo - pad, hi + pad])
    fig.update_yaxes(tickformat=".3~g")
    return fig


def figure_records(fig: go.Figure) -> list:
    """The numbers a figure plots, one flat dict per point (trace name, panel, x, y, error; heatmap cells as
    row, column, value): what its CSV download holds."""
    titles = [a.text for a in (fig.layout.annotations or ())]
    out = []
    for tr in fig.data:
        panel = getattr(tr, "xaxis", None) or "x"
        k = int(panel[1:] or 1) - 1
        base = {"series": tr.name or "", "panel": titles[k] if k < len(titles) else ""}
        if isinstance(tr, go.Heatmap):
            for i, row in enumerate(tr.z or ()):
                out += [dict(base, row=i + 1, column=j + 1, value=v) for j, v in enumerate(row)]
            continue
        err = list(tr.error_y.array) if getattr(tr, "error_y", None) is not None and tr.error_y.array is not None \
            else None
        for i, (x, y) in enumerate(zip(tr.x if tr.x is not None else (), tr.y if tr.y is not None else ())):
            rec = dict(base, x=x, y=y)
            if err is not None and i < len(err):
                rec["error"] = err[i]
            out.append(rec)
    return out


def qn_figure(sets: dict, former: str = "Si", anion: str = "O") -> go.Figure:
    """sets: {label: {"0": fraction, ..., "4": ...}}; bars of the Qn distribution (Qn: a former with n
    bridging anions)."""
    fig = go.Figure()
    for c, (label, q) in enumerate(sets.items()):
        if q:
            ns = sorted(q, key=int)
            fig.add_trace(go.Bar(x=[f"Q{n}" for n in ns], y=[q[n] for n in ns], name=label,
                                 marker_color=set_color(label, c)))
    fig.update_layout(title=f"Qn distribution ({former} with n bridging {anion})", xaxis_title="Qn",
                      yaxis_title=f"fraction of {former}", barmode="group", **LAYOUT)
    return fig


def pm(stat: dict | None, digits: int = 4) -> str:
    """'mean ± sd (n=N)' from an aggregate entry {mean, sd, n}."""
    if not stat or stat.get("mean") is None or not math.isfinite(stat["mean"]):
        return "–"
    n = stat.get("n", 1)
    if n <= 1:
        return f"{stat['mean']:.{digits}g} (n=1)"
    return f"{stat['mean']:.{digits}g} ± {stat['sd']:.2g} (n={n})"


def comparison_table(agg_gen: dict | None, agg_ref: dict | None, gen_label="generated", ref_label="MD reference"):
    """Rows metric | generated mean ± sd | reference mean ± sd for the keys both sides (or one) have."""
    import pandas as pd

    agg_gen, agg_ref = agg_gen or {}, agg_ref or {}
    rows = []
    for k, (label, unit) in METRICS.items():
        if k in agg_gen or k in agg_ref:
            rows.append({"quantity": f"{label} ({unit})" if unit else label,
                         gen_label: pm(agg_gen.get(k)), ref_label: pm(agg_ref.get(k))})
    return pd.DataFrame(rows)


def pdf_figure(pdf_sets: dict, title="Partial pair distribution functions") -> go.Figure:
    """pdf_sets: {label: mean_pdf dict with r_a and partials}; one panel per partial."""
    first = next(iter(pdf_sets.values()))
    parts = list(first["partials"])
    fig = make_subplots(rows=1, cols=len(parts), subplot_titles=parts, horizontal_spacing=0.06)
    for c, (label, pdf) in enumerate(pdf_sets.items()):
        for k, p in enumerate(parts):
            if p not in pdf["partials"]:
                continue
            fig.add_trace(go.Scatter(x=pdf["r_a"], y=pdf["partials"][p], name=label, legendgroup=label,
                                     showlegend=k == 0, line=dict(color=set_color(label, c))), 1, k + 1)
            fig.update_xaxes(title_text="r (Å)", row=1, col=k + 1)
    fig.update_yaxes(title_text="g(r)", row=1, col=1)
    fig.update_layout(title=title, **LAYOUT)
    return fig


def histogram_figure(sets: dict, title: str, xlabel: str, ylabel: str = "probability density") -> go.Figure:
    """sets: {label: {"centers": [...], "density": [...]}}."""
    fig = go.Figure()
    for c, (label, h) in enumerate(sets.items()):
        if h and h.get("density") is not None:
            fig.add_trace(go.Scatter(x=h["centers"], y=h["density"], name=label, mode="lines",
                                     line=dict(color=set_color(label, c))))
    fig.update_layout(title=title, xaxis_title=xlabel, yaxis_title=ylabel, **LAYOUT)
    return fig


def rings_figure(sets: dict, title="Ring size distribution (shortest-path rings, size = number of Si)"):
    fig = go.Figure()
    for c, (label, r) in enumerate(sets.items()):
        if r:
            fig.add_trace(go.Bar(x=r["sizes_si"], y=r["rings_per_si_mean"], name=label,
                                 marker_color=set_color(label, c)))
    fig.update_layout(title=title, xaxis_title="ring size (Si atoms)", yaxis_title="rings per Si",
                      barmode="group", **LAYOUT)
    return fig


def overlap_figure(matrices: dict) -> go.Figure:
    """matrices: {title: 2D list}; heatmaps of the QUESTS overlap P(A|B) (row A, column B)."""
    fig = make_subplots(rows=1, cols=len(matrices), subplot_titles=list(matrices), horizontal_spacing=0.08)
    for k, (name, m) in enumerate(matrices.items()):
        fig.add_trace(go.Heatmap(z=m, zmin=0, zmax=1, colorscale="Viridis", showscale=k == len(matrices) - 1,
                                 colorbar=dict(title="overlap")), 1, k + 1)
        n_b, n_a = (len(m[0]) if m else 0), len(m)
        fig.update_xaxes(title_text="structure B", row=1, col=k + 1, tickmode="array", tickvals=list(range(n_b)),
                         ticktext=[str(i + 1) for i in range(n_b)])
        fig.update_yaxes(title_text="structure A", row=1, col=k + 1, autorange="reversed", tickmode="array",
                         tickvals=list(range(n_a)), ticktext=[str(i + 1) for i in range(n_a)])
    fig.update_layout(title="QUESTS overlap: fraction of A's environments found in B", **LAYOUT)
    return fig


def trend_figure(series: dict, title: str, ylabel: str) -> go.Figure:
    """series: {label: (rates, means, sds)}; log-x plot of a quantity vs cooling rate with error bars."""
    fig = go.Figure()
    seen: dict = {}  # series per colour so far: the second one of a colour (another size) is dashed
    for c, (label, (x, y, e)) in enumerate(series.items()):
        color = set_color(label, c)
        dash = SIZE_DASHES[seen.get(color, 0) % len(SIZE_DASHES)]
        seen[color] = seen.get(color, 0) + 1
        fig.add_trace(go.Scatter(x=x, y=y, error_y=dict(type="data", array=e, visible=True),
                                 mode="markers+lines", name=label, line=dict(color=color, dash=dash)))
    fig.update_layout(title=title, xaxis_title="cooling rate (K/ps)", yaxis_title=ylabel, xaxis_type="log",
                      **LAYOUT)
    return fig


def cost_figure(md_rows: list, gen_rows: list, n_atoms: int = 3000):
    """Paper Fig. 3d: hours for one structure vs cooling rate, MD melt-quench (measured speed, projected to
    the full protocol) against generation (measured; flat in the rate)."""
    fig = go.Figure()
    by_engine = {}
    for r in md_rows:
        if r.get("n_atoms") == n_atoms:
            by_engine.setdefault(f"MD, {r['device'].upper()} ({r['unit'].replace('_', '-')})", []).append(r)
    for name, rs in by_engine.items():
        rs = sorted(rs, key=lambda r: r["cooling_rate_k_ps"])
        fig.add_trace(go.Scatter(x=[r["cooling_rate_k_ps"] for r in rs], y=[r["hours"] for r in rs],
                                 mode="lines+markers", name=name))
    rates = sorted({r["cooling_rate_k_ps"] for r in md_rows}) or [1e-2, 1e3]
    for g in gen_rows:
        if g.get("n_atoms") == n_atoms:
            h = g["seconds_per_structure"] / 3600
            fig.add_trace(go.Scatter(x=[rates[0], rates[-1]], y=[h, h], mode="lines", line=dict(dash="dash"),
                                     name=f"generation, {g.get('model') or 'model'} on {g['hardware']} ({g['mode']})"))
    fig.update_layout(**dict(LAYOUT, height=380), title=f"Cost of one {n_atoms}-atom a-SiO₂ glass",
                      xaxis=dict(title="cooling rate (K/ps)", type="log"),
                      yaxis=dict(title="hours (core-h / GPU-h)", type="log"))
    return fig
