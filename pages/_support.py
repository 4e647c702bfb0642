"""Plain-Python helpers of the pages (no Streamlit, no science): what the app shows and how.

- words and numbers: mean ± sd, durations, one-line parameter summaries, download file names, chart titles,
  the cooling rates a log slider offers, exception messages for a web user;
- job cards: the one state a card shows (job_status) and how long a job ran;
- workspaces: the id in the page address that jobs and results belong to;
- chart data: analysis results (the JSON of the 'analyze' job) grouped by size and cooling rate, the rates shown
  side by side, pooled Voronoi volumes and indices, the warning when compared sets differ in size.

Everything is a plain function so it can be tested without a browser. Lengths in Å, cooling rates in K/ps.
"""
from __future__ import annotations

import math
import os
import re
import secrets
from pathlib import Path

import numpy as np

from amorph_core.errors import AmorphError, strip_exception_names
from amorph_core.jobs import CANCELLED, DONE, FAILED, INTERRUPTED, QUEUED, RUNNING
from amorph_core.structures.io import plain_info

#: a workspace id: URL-safe, long enough not to be guessed
_WORKSPACE_RE = re.compile(r"^[A-Za-z0-9_-]{12,64}$")


# --------------------------------------------------------------------------- messages and workspaces
def user_message(exc: BaseException, names: dict | None = None) -> str:
    """An exception as a message for a web user: no Python class names, internal paths replaced by the names
    the user knows ({internal path or file name: shown name})."""
    msg = str(exc) if isinstance(exc, AmorphError) else f"unexpected problem: {exc}"
    for internal, shown in (names or {}).items():
        msg = msg.replace(str(internal), shown).replace(os.path.basename(str(internal)), shown)
    msg = strip_exception_names(msg).strip()
    return msg or "unexpected problem (no details)"


def new_workspace() -> str:
    """A fresh random workspace id (jobs and results of one visitor)."""
    return secrets.token_urlsafe(12)


def valid_workspace(ws) -> bool:
    return isinstance(ws, str) and bool(_WORKSPACE_RE.match(ws))


# --------------------------------------------------------------------------- numbers and names
def mean_sd(values) -> tuple:
    """Mean and sample standard deviation (ddof=1; 0 for a single value) of finite values, and their count."""
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    if v.size == 0:
        return float("nan"), float("nan"), 0
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0, int(v.size)


def fmt_pm(values, unit: str = "", digits: int = 3) -> str:
    """'mean ± sd unit (n=N)' across samples; a single sample shows no ± and says n=1."""
    m, s, n = mean_sd(values)
    if n == 0:
        return "n/a"
    u = f" {unit}" if unit else ""
    if n == 1:
        return f"{m:.{digits}g}{u} (n=1)"
    return f"{m:.{digits}g} ± {s:.2g}{u} (n={n})"


def fmt_duration(seconds) -> str:
    """Seconds as '42 s', '3 min 05 s' or '1 h 02 min'."""
    if seconds is None or not math.isfinite(seconds):
        return "–"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


def log_rate_options(lo: float = 1e-2, hi: float = 1e3) -> list:
    """Cooling rates (K/ps) for a log slider: 1, 2, 5 per decade between lo and hi."""
    out = []
    e = math.floor(math.log10(lo))
    while 10 ** e <= hi * (1 + 1e-9):
        for m in (1, 2, 5):
            r = float(f"{m * 10 ** e:.6g}")
            if lo * (1 - 1e-9) <= r <= hi * (1 + 1e-9):
                out.append(r)
        e += 1
    return out


def describe_params(p: dict) -> str:
    """One-line human summary of generation parameters."""
    parts = [p.get("system", "?")]
    if p.get("cooling_rate_k_ps") is not None:
        parts.append(f"{p['cooling_rate_k_ps']:g} K/ps")
    if p.get("n_atoms"):
        parts.append(f"{p['n_atoms']} atoms")
    if p.get("box"):
        parts.append("box " + "x".join(f"{x:g}" for x in p["box"]) + " Å")
    if p.get("pore_radius_a"):
        parts.append(f"pore r={p['pore_radius_a']:g} Å")
    seeds = p.get("seeds") or []
    if seeds:
        parts.append(f"seeds {seeds[0]}..{seeds[-1]}" if len(seeds) > 1 else f"seed {seeds[0]}")
    if p.get("schedule"):
        parts.append(str(p["schedule"]))
    if p.get("refined"):
        parts.append("MD-refined")
    return ", ".join(parts)


def _slug(value) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]+", "-", str(value)).strip("-.") or "x"


def export_stem(atoms) -> str:
    """A download file name (without suffix) that says what the structure is, so that files of other sizes,
    rates, schedules, seeds or jobs never collide: system_<N>at_<rate>Kps_<schedule>_seed<S>_job<id>
    (the parts that are known; an upload keeps its own name in front)."""
    info = plain_info(atoms)
    parts = [] if "seed" in info or "system" in info else [_slug(Path(str(info.get("source", "structure"))).stem)]
    if info.get("system"):
        parts.append(_slug(info["system"]))
    parts.append(f"{len(atoms)}at")
    if info.get("cooling_rate_k_ps") is not None:
        parts.append(f"{float(info['cooling_rate_k_ps']):g}Kps")
    if info.get("schedule"):
        parts.append(_slug(info["schedule"]))
    if info.get("seed") is not None:
        parts.append(f"seed{info['seed']}")
    if info.get("sample") is not None:
        parts.append(f"md-sample{_slug(info['sample'])}")
    if info.get("job"):
        parts.append(f"job{_slug(info['job'])}")
    if info.get("refined"):
        parts.append("refined")
    return "_".join(parts)


def entropy_chart_title(params: dict) -> str:
    """What the live entropy chart plots: per-atom QUESTS entropy of the structure being denoised, and its
    ceiling ln N (every atom's environment distinct), which small structures sit at for most of the run."""
    n = params.get("n_atoms")
    if n:
        return f"Entropy while denoising: H per atom of {n} atoms (ceiling ln N = {math.log(n):.2f} nats)"
    return "Entropy while denoising: H per atom (ceiling ln N)"


# --------------------------------------------------------------------------- job cards
def job_duration_s(job: dict) -> float | None:
    """Seconds a job ran (its last run, if resumed): finished - started, None unless both are known and ordered."""
    t0, t1 = job.get("started"), job.get("finished")
    if t0 is None or t1 is None or t1 < t0:
        return None
    return float(t1 - t0)


def job_status(job: dict) -> tuple[str, str]:
    """The one state a job card shows, as (level, text): level is 'progress' (queued or running: a progress
    bar, no outcome yet), 'success' (done), 'error' (failed: only its error) or 'warning' (cancelled or
    interrupted, with what it kept)."""
    state, n = job["state"], len(job.get("results") or [])
    made = f"{n} structure(s)" if job.get("kind") == "generate" else f"{n} result file(s)"
    if state == QUEUED:
        pos = job.get("queue_position")
        return "progress", "queued" + (f" (position {pos} in the queue)" if pos else "")
    if state == RUNNING:
        frac = float(job.get("fraction") or 0.0)
        return "progress", (f"running · {100 * frac:.0f}% · ETA {fmt_duration(job.get('eta_s'))} · {n} finished"
                            + (f" · {job['stage']}" if job.get("stage") else ""))
    if state == DONE:
        took = job_duration_s(job)
        return "success", f"done{f' in {fmt_duration(took)}' if took is not None else ''}: {made}"
    if state == FAILED:
        return "error", f"failed: {strip_exception_names(job.get('error') or '') or 'no reason recorded'}"
    if state in (CANCELLED, INTERRUPTED):
        return "warning", f"{state}: kept {made}" + (f" — {job['error']}" if job.get("error") else "")
    raise AmorphError(f"unknown job state {state!r}")


# --------------------------------------------------------------------------- chart data
def size_mismatch(generated_sizes, reference_sizes) -> str | None:
    """A warning when generated and reference structures differ in atom count (None when all sizes agree):
    size-dependent numbers (QUESTS entropy grows like ln N; defect and ring fractions of small boxes) are then
    not comparable."""
    g, r = sorted(set(int(n) for n in generated_sizes)), sorted(set(int(n) for n in reference_sizes))
    if not g or not r or g == r:
        return None
    shift = math.log(max(r) / min(g)) if min(g) > 0 else float("nan")
    return (f"Sizes differ: generated {', '.join(f'{n:,}' for n in g)} atoms, MD glasses "
            f"{', '.join(f'{n:,}' for n in r)} atoms. Size-dependent numbers are not like with like: the QUESTS "
            f"entropy ceiling ln N alone differs by up to {shift:.2f} nats, and small boxes change defect and ring "
            f"fractions. Generate at the reference size to compare.")


def trend_by_rate(results: list, key: str) -> tuple:
    """(rates, means, sds, ns) of summary[key] grouped by the structures' cooling rate (K/ps), sorted by rate.

    results: analyze_structure results carrying info['cooling_rate_k_ps'] (as the 'analyze' job writes).
    sd is the sample standard deviation across structures at a rate (0 for one structure).
    """
    groups: dict = {}
    for r in results:
        rate = (r.get("info") or {}).get("cooling_rate_k_ps")
        val = r.get("summary", {}).get(key)
        if rate is None or val is None or not math.isfinite(val):
            continue
        groups.setdefault(float(rate), []).append(float(val))
    rates = sorted(groups)
    stats = [mean_sd(groups[r]) for r in rates]
    return rates, [s[0] for s in stats], [s[1] for s in stats], [s[2] for s in stats]


def by_size(results: list) -> dict:
    """analyze_structure results grouped by atom count {n_atoms: [results]}, smallest first: size-dependent
    numbers (entropy grows like ln N) are only compared within a group."""
    groups: dict = {}
    for r in results:
        n = r.get("n_atoms") or sum((r.get("composition") or {}).values())
        groups.setdefault(int(n), []).append(r)
    return dict(sorted(groups.items()))


def rates_to_show(rates, trained_range, k: int = 4) -> list:
    """At most k cooling rates for side-by-side views: those inside the trained range first (spread over it,
    its ends included), then the others; sorted."""
    lo, hi = trained_range
    inside = sorted(r for r in rates if lo <= r <= hi)
    outside = sorted(r for r in rates if not lo <= r <= hi)

    def spread(xs, m):
        return xs if len(xs) <= m else [xs[round(i * (len(xs) - 1) / (m - 1))] for i in range(m)] if m > 1 else xs[:m]

    picked = spread(inside, k)
    return sorted(picked + spread(outside, k - len(picked)))


def volume_histograms(results: list, bins: int = 40, lo: float = 10.0, hi: float = 40.0) -> dict:
    """Normalised histograms {element: {"centers", "density"}} of per-atom Voronoi volumes (Å^3) pooled
    over analyze_structure results made with per_atom=True (needs 'voronoi' with 'volumes_a3')."""
    pooled: dict = {}
    for r in results:
        vo = r.get("voronoi") or {}
        vols = vo.get("volumes_a3")
        if vols is None:
            continue
        syms = []
        for el, n in r.get("composition", {}).items():
            syms += [el] * n
        order = r.get("symbols")
        sym = np.array(order if order is not None else syms)
        if len(sym) != len(vols):
            continue
        for el in np.unique(sym):
            pooled.setdefault(str(el), []).extend(np.asarray(vols)[sym == el].tolist())
    edges = np.linspace(lo, hi, bins + 1)
    out = {}
    for el, v in pooled.items():
        h, _ = np.histogram(v, edges, density=True)
        out[el] = {"centers": ((edges[1:] + edges[:-1]) / 2).tolist(), "density": h.tolist(), "n": len(v)}
    return out


def voronoi_fractions(results: list, top: int = 8) -> dict:
    """Mean fraction of each Voronoi index over results (indices among each result's reported top list)."""
    acc: dict = {}
    for r in results:
        for t in (r.get("voronoi") or {}).get("top_indices", []):
            acc.setdefault(t["index"], []).append(t["fraction"])
    n = max(1, len(results))
    means = {k: sum(v) / n for k, v in acc.items()}
    return dict(sorted(means.items(), key=lambda kv: -kv[1])[:top])
