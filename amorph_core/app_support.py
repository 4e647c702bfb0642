"""Helpers the web app uses that need no Streamlit: viewer HTML, uploads, parameter forms, number formatting.

Nothing here imports streamlit; everything is a plain function so it can be tested without a browser.
Lengths in Å, densities in g/cm^3, cooling rates in K/ps.
"""
from __future__ import annotations

import json
import math
import os
import re
import secrets
import tempfile
from pathlib import Path

import numpy as np

from amorph_core.errors import AmorphError
from amorph_core.structures.io import plain_info  # noqa: F401  (the app's name for it)

#: where the app serves 3Dmol.js from (static/ with server.enableStaticServing)
JS_URL = "/app/static/3Dmol-min.js"
#: upload limits
MAX_UPLOAD_MB = 50
MAX_UPLOAD_ATOMS = 200_000
#: extensions never accepted (formats that may unpickle)
REFUSED_SUFFIXES = {".pkl", ".pickle", ".npy", ".npz", ".pt", ".pth", ".joblib", ".dill", ".db"}
#: viewer styles (3Dmol style specs); 'auto' picks by atom count
STYLES = {
    "balls and sticks": {"sphere": {"scale": 0.25}, "stick": {"radius": 0.12}},
    "sticks": {"stick": {"radius": 0.15}},
    "lines": {"line": {"linewidth": 1.0}},
    "spheres": {"sphere": {"scale": 0.6}},
}
ELEMENT_COLORS = {"Si": "#f0c040", "O": "#e0302a", "Cu": "#c87533", "Zr": "#4fa3d1"}
DEFECT_COLORS = ["#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]
#: ideal coordination of each element in systems with bond cutoffs
IDEAL_COORDINATION = {"sio2": {"Si": 4, "O": 2}}



#: a workspace id: URL-safe, long enough not to be guessed
_WORKSPACE_RE = re.compile(r"^[A-Za-z0-9_-]{12,64}$")
#: "SomeError: " as Python prints an exception's class name
_EXC_NAME_RE = re.compile(r"\b(?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception|Warning): ")


def new_workspace() -> str:
    """A fresh random workspace id (jobs and results of one visitor)."""
    return secrets.token_urlsafe(12)


def valid_workspace(ws) -> bool:
    return isinstance(ws, str) and bool(_WORKSPACE_RE.match(ws))


def user_message(exc: BaseException, names: dict | None = None) -> str:
    """An exception as a message for a web user: no Python class names, internal paths replaced by the names
    the user knows ({internal path or file name: shown name})."""
    msg = str(exc) if isinstance(exc, AmorphError) else f"unexpected problem: {exc}"
    for internal, shown in (names or {}).items():
        msg = msg.replace(str(internal), shown).replace(os.path.basename(str(internal)), shown)
    msg = _EXC_NAME_RE.sub("", msg).strip()
    return msg or "unexpected problem (no details)"


def auto_style(n_atoms: int) -> str:
    """Viewer style that stays responsive for n_atoms: balls+sticks to 5k, sticks to 20k, lines above."""
    if n_atoms <= 5000:
        return "balls and sticks"
    if n_atoms <= 20000:
        return "sticks"
    return "lines"


def coordination_numbers(atoms, cutoffs: dict) -> np.ndarray:
    """Number of neighbours of each atom within the pair cutoffs {(el_a, el_b): r_cut in Å} (periodic)."""
    from vesin import NeighborList

    if not cutoffs:
        raise AmorphError("no bond cutoffs known for this system: coordination defects are not defined")
    rmax = max(cutoffs.values())
    nl = NeighborList(cutoff=float(rmax), full_list=True)
    i, j, d = nl.compute(points=atoms.get_positions(), box=atoms.cell.array, periodic=True, quantities="ijd")
    sym = np.array(atoms.get_chemical_symbols())
    rc = np.zeros(len(i))
    for (a, b), r in cutoffs.items():
        m = ((sym[i] == a) & (sym[j] == b)) | ((sym[i] == b) & (sym[j] == a))
        rc[m] = r
    keep = d < rc
    return np.bincount(i[keep], minlength=len(atoms))


def defect_classes(atoms, system: str) -> dict:
    """Atoms whose coordination differs from the ideal, grouped as {'Si3': [indices], 'O1': [...], ...}."""
    from amorph_core.systems import get_system

    sys_ = get_system(system)
    ideal = IDEAL_COORDINATION.get(sys_.name)
    if not ideal:
        raise AmorphError(f"coordination defects are defined for a-SiO2 only, not {sys_.label}")
    cn = coordination_numbers(atoms, sys_.bond_cutoffs_a)
    sym = np.array(atoms.get_chemical_symbols())
    out = {}
    for el, n0 in ideal.items():
        for n in sorted(set(cn[sym == el].tolist()) - {n0}):
            out[f"{el}{n}"] = np.flatnonzero((sym == el) & (cn == n)).tolist()
    return out


def slab_mask(atoms, axis: str = "z", center_frac: float = 0.5, thickness_a: float = 5.0) -> np.ndarray:
    """Which atoms lie within thickness_a (Å) of the plane at center_frac along axis (periodic)."""
    ax = "xyz".index(axis)
    if not 0 <= center_frac <= 1:
        raise AmorphError("slab position must be a fraction of the box between 0 and 1")
    if thickness_a <= 0:
        raise AmorphError("slab thickness must be positive (Å)")
    frac = atoms.get_scaled_positions(wrap=True)[:, ax]
    d = (frac - center_frac + 0.5) % 1.0 - 0.5
    return np.abs(d) * atoms.cell.lengths()[ax] <= thickness_a / 2


def slab(atoms, axis: str = "z", center_frac: float = 0.5, thickness_a: float = 5.0):
    """The atoms within thickness_a (Å) of the plane at center_frac along axis (periodic), cell kept."""
    sub = atoms[slab_mask(atoms, axis, center_frac, thickness_a)]
    sub.info = dict(atoms.info)
    return sub


def defects_in(defects: dict, mask) -> dict:
    """Defect classes of a whole structure ({'Si3': [indices]}) restricted to the atoms a mask keeps, with
    indices renumbered as in atoms[mask]: a slab shows the defects of the glass, not bonds the cut removed."""
    mask = np.asarray(mask, bool)
    new_index = np.cumsum(mask) - 1
    out = {}
    for name, idx in defects.items():
        kept = [int(new_index[i]) for i in idx if mask[i]]
        if kept:
            out[name] = kept
    return out


def color_legend(color_by: str, symbols, defects: dict | None = None) -> list:
    """(label, colour) pairs for the 3D view's legend, in the colours viewer_html draws."""
    if color_by == "defect":
        return [(f"{name} ({len(idx)})", DEFECT_COLORS[k % len(DEFECT_COLORS)])
                for k, (name, idx) in enumerate(sorted((defects or {}).items())) if idx] + [("4-/2-fold", "#c8c8c8")]
    return [(el, ELEMENT_COLORS.get(el, "#909090")) for el in sorted(set(symbols))]


#: an effective pore radius (Å) below which the pore has closed: narrower than an oxygen atom, no surface left
CLOSED_PORE_R_A = 1.5


def pore_closed(pores: dict) -> str | None:
    """A warning when a pore analysis found the pore closed (r_eff below CLOSED_PORE_R_A), None otherwise:
    an NBO surface density is then meaningless."""
    r = pores.get("r_eff_a")
    if r is not None and math.isfinite(r) and r >= CLOSED_PORE_R_A:
        return None
    shown = f"{r:.2f} Å" if r is not None and math.isfinite(r) else "none"
    return (f"the pore closed during generation (effective radius {shown}, below {CLOSED_PORE_R_A:g} Å): there is "
            f"no pore surface, so no NBO density is reported; try a larger pore radius or a lower wall density")


def _xyz_text(atoms) -> str:
    pos = atoms.get_positions()
    sym = atoms.get_chemical_symbols()
    lines = [str(len(atoms)), "amorph"]
    lines += [f"{s} {x:.3f} {y:.3f} {z:.3f}" for s, (x, y, z) in zip(sym, pos)]
    return "\n".join(lines) + "\n"


def _cell_edges(cell) -> list:
    o = np.zeros(3)
    a, b, c = np.asarray(cell)
    corners = [o, a, b, c, a + b, a + c, b + c, a + b + c]
    idx = [(0, 1), (0, 2), (0, 3), (1, 4), (1, 5), (2, 4), (2, 6), (3, 5), (3, 6), (4, 7), (5, 7), (6, 7)]
    return [(corners[p], corners[q]) for p, q in idx]


def viewer_html(atoms, style: str = "auto", color_by: str = "element", defects: dict | None = None,
                width: int = 700, height: int = 520, js_url: str = JS_URL, background: str = "white") -> str:
    """HTML (3Dmol.js via py3Dmol) showing atoms with their periodic cell.

    color_by 'element' colours atoms by element; 'defect' draws everything thin and grey and the
    under/over-coordinated atoms listed in defects ({'Si3': [indices], ...}) as coloured spheres.
    """
    import py3Dmol

    if style == "auto":
        style = auto_style(len(atoms))
    if style not in STYLES:
        raise AmorphError(f"unknown viewer style '{style}' (choose from auto, {', '.join(STYLES)})")
    view = py3Dmol.view(width=width, height=height, js=js_url)
    view.addModel(_xyz_text(atoms), "xyz")
    spec = json.loads(json.dumps(STYLES[style]))
    if color_by == "defect":
        base = {"line": {"color": "#b0b0b0"}} if len(atoms) > 5000 else {"stick": {"radius": 0.06, "color": "#c8c8c8"}}
        view.setStyle({}, base)
        for k, (name, idx) in enumerate(sorted((defects or {}).items())):
            if idx:
                view.addStyle({"index": list(map(int, idx))},
                              {"sphere": {"scale": 0.45, "color": DEFECT_COLORS[k % len(DEFECT_COLORS)]}})
    else:
        view.setStyle({}, spec)
        for el, col in ELEMENT_COLORS.items():
            s = {k: dict(v, color=col) for k, v in spec.items()}
            view.setStyle({"elem": el}, s)
    for p, q in _cell_edges(atoms.cell.array):
        view.addLine({"start": dict(zip("xyz", map(float, p))), "end": dict(zip("xyz", map(float, q))),
                      "color": "#333333"})
    view.setBackgroundColor(background)
    view.zoomTo()
    return view._make_html()


def read_upload(name: str, data: bytes, max_mb: float = MAX_UPLOAD_MB, max_atoms: int = MAX_UPLOAD_ATOMS):
    """Read an uploaded structure file (any format ase reads, or LAMMPS data) from its bytes.

    Written to a private temp file with the upload's suffix and read with read_structure; formats that
    could unpickle are refused. Raises AmorphError saying what is wrong.
    """
    from amorph_core.structures import read_structure

    name = os.path.basename(str(name or "upload"))
    suffix = "".join(Path(name).suffixes[-2:]).lower() if name.endswith(".gz") else Path(name).suffix.lower()
    if Path(name).suffix.lower() in REFUSED_SUFFIXES:
        raise AmorphError(f"{name}: {Path(name).suffix} files are not accepted (they could run code when "
                          f"loaded); upload extxyz, CIF, POSCAR, LAMMPS data or another text format ase reads")
    if len(data) > max_mb * 1e6:
        raise AmorphError(f"{name}: file is {len(data) / 1e6:.1f} MB; the limit is {max_mb:g} MB")
    if not data:
        raise AmorphError(f"{name}: file is empty")
    fd, tmp = tempfile.mkstemp(suffix=suffix or ".dat", prefix="amorph-upload-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        try:
            atoms = read_structure(tmp)
        except Exception as exc:  # the message names the upload, not the temp file, and no Python class
            raise AmorphError(user_message(AmorphError(str(exc)), {tmp: name})) from None
    finally:
        os.unlink(tmp)
    if len(atoms) > max_atoms:
        raise AmorphError(f"{name}: {len(atoms)} atoms; the app accepts at most {max_atoms}")
    atoms.info.setdefault("source", name)
    return atoms


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


def generation_params(system: str, cooling_rate_k_ps: float | None, n_atoms: int | None = None, box=None,
                      aspect=(1.0, 1.0, 1.0), density_g_cm3: float | None = None,
                      pore_radius_a: float | None = None, wall_density_g_cm3: float | None = None,
                      pore_lattice: str = "single", n_samples: int = 1, seed: int = 0,
                      schedule: str = "fast", device: str = "auto", model: str | None = None,
                      entropy_every: int = 10) -> dict:
    """JSON-able keyword arguments of amorph_core.generate.GenerationRequest from the app's form."""
    if n_samples < 1 or n_samples > 64:
        raise AmorphError(f"number of samples must be 1..64, got {n_samples}")
    return {
        "system": system, "cooling_rate_k_ps": cooling_rate_k_ps, "n_atoms": n_atoms,
        "box": list(box) if box is not None else None, "aspect": list(aspect),
        "density_g_cm3": density_g_cm3, "pore_radius_a": pore_radius_a,
        "wall_density_g_cm3": wall_density_g_cm3, "pore_lattice": pore_lattice,
        "seeds": list(range(int(seed), int(seed) + int(n_samples))), "schedule": schedule,
        "device": device, "model": model, "entropy_every": int(entropy_every),
    }


def check_generation(params: dict, cuda_available: bool | None = None) -> dict:
    """Refuse a generation the job would refuse, before it is queued: the same core checks as the CLI
    (build_starts on the first seed: rate, density, size and box; the schedule; the model; the device).

    Returns {"start": the first seed's starting Atoms (its box is the glass's), "n_atoms", "box_a",
    "n_steps", "schedule", "warnings": [AmorphWarning texts]}; raises AmorphError saying what to change."""
    import dataclasses
    import warnings

    from amorph_core.errors import AmorphWarning
    from amorph_core.generate import build_starts, sampler_for
    from amorph_core.jobs import generation_request

    req = generation_request(params)
    dev = str(req.device or "auto")
    if dev not in ("auto", "cpu") and not dev.startswith("cuda"):
        raise AmorphError(f"device must be auto, cpu or cuda, not {dev!r}")
    if dev.startswith("cuda"):
        if cuda_available is None:
            import torch
            cuda_available = bool(torch.cuda.is_available())
        if not cuda_available:
            raise AmorphError("this server has no CUDA GPU: choose the device 'auto' or 'cpu'")
    if req.model:
        from amorph_core.model.checkpoint import read_config
        read_config(req.model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AmorphWarning)
        start = build_starts(dataclasses.replace(req, seeds=req.seeds[:1]))[0]
        sched = sampler_for(req, start.info.get("cooling_rate_k_ps"))
    return {"start": start, "n_atoms": len(start), "box_a": [float(x) for x in start.cell.lengths()],
            "n_steps": int(sched.n_steps), "schedule": sched.name, "n_structures": len(req.seeds),
            "warnings": [str(w.message) for w in caught if issubclass(w.category, AmorphWarning)],
            "md_refusal": md_refusal(start)}


def md_refusal(atoms) -> str | None:
    """Why MD (refinement, moduli) could not run on a structure of this box and these elements (the potential's
    own check: its cutoff needs every box width >= 2 cutoffs), None when it could."""
    from amorph_core.md.potentials import check_atoms, potential_for

    try:
        check_atoms(atoms, potential_for(atoms))
    except AmorphError as exc:
        return str(exc)
    return None


def read_generation_estimate(path=None):
    """The measured per-atom-step generation cost (assets/generation_estimate.json, written by
    benchmarks/bench_generation_estimate.py) or None if absent."""
    return _read_json_asset("generation_estimate.json", path)


def estimate_generation_s(n_atoms: int, n_steps: int, n_structures: int = 1, device: str = "cpu",
                          table: dict | None = None) -> float | None:
    """Seconds to generate n_structures glasses of n_atoms with n_steps denoising steps on device ('cpu' or
    'cuda'), from the measured cost model t = n_steps (a + b n_atoms) per structure (a: s/step, b: s per
    atom-step; table: read_generation_estimate()); None when nothing was measured for that device."""
    table = table if table is not None else read_generation_estimate()
    fit = ((table or {}).get("devices") or {}).get("cuda" if str(device).startswith("cuda") else "cpu")
    if not fit:
        return None
    per_step = float(fit["seconds_per_step"]) + float(fit["seconds_per_atom_step"]) * int(n_atoms)
    return per_step * int(n_steps) * max(1, int(n_structures))


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


def entropy_chart_title(params: dict) -> str:
    """What the live entropy chart plots: per-atom QUESTS entropy of the structure being denoised, and its
    ceiling ln N (every atom's environment distinct), which small structures sit at for most of the run."""
    n = params.get("n_atoms")
    if n:
        return f"Entropy while denoising: H per atom of {n} atoms (ceiling ln N = {math.log(n):.2f} nats)"
    return "Entropy while denoising: H per atom (ceiling ln N)"


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
    from amorph_core.jobs import CANCELLED, DONE, FAILED, INTERRUPTED, QUEUED, RUNNING

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
        return "error", f"failed: {_EXC_NAME_RE.sub('', job.get('error') or '') or 'no reason recorded'}"
    if state in (CANCELLED, INTERRUPTED):
        return "warning", f"{state}: kept {made}" + (f" — {job['error']}" if job.get("error") else "")
    raise AmorphError(f"unknown job state {state!r}")


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


def _read_json_asset(relpath: str, path=None):
    """A JSON file under assets/ (or at path), None if it is not there; AmorphError if it is not JSON."""
    p = Path(path) if path else Path(__file__).resolve().parents[1] / "assets" / relpath
    if not p.exists():
        return None
    try:
        return json.loads(p.read_text())
    except ValueError as exc:
        raise AmorphError(f"{p} is not valid JSON ({exc})") from None


def read_generation_cost(path=None):
    """Measured generation times (assets/generation_cost.json, made by python -m amorph_core.calibration.generation_cost)
    or None if absent."""
    return _read_json_asset("generation_cost.json", path)


def read_cost_table(path=None):
    """The measured MD cost table (assets/md/cost_table.json) or None if it is not there."""
    return _read_json_asset("md/cost_table.json", path)


#: shipped example glasses (assets/examples/<set>/*.extxyz, each set with a README on its provenance)
EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "assets" / "examples"


def _extxyz_header(path: Path) -> tuple[int, dict]:
    """(atom count, the key=value comment line as a dict) from the first two lines of an extxyz file."""
    from ase.io.extxyz import key_val_str_to_dict

    with open(path) as fh:
        n_atoms = int(fh.readline())
        return n_atoms, key_val_str_to_dict(fh.readline())


def example_rows(system: str = "sio2", examples_dir=None) -> list:
    """Shipped example glasses of a system as result rows like the job manager's ({'path', 'params', 'seed',
    'job_id', 'example_set'}), sorted by cooling rate (K/ps) then seed; [] when none ship. A file whose header
    cannot be read is an AmorphError naming it."""
    root = Path(examples_dir) if examples_dir else EXAMPLES_DIR
    rows = []
    for f in sorted(root.glob("*/*.extxyz")):
        try:
            n_atoms, h = _extxyz_header(f)
        except (OSError, ValueError, KeyError) as exc:
            raise AmorphError(f"shipped example {f} is not a readable extxyz file ({exc})") from None
        if h.get("system") != system:
            continue
        rate, dens, seed = h.get("cooling_rate_k_ps"), h.get("density_g_cm3"), h.get("seed")
        params = {"system": system, "cooling_rate_k_ps": float(rate) if rate is not None else None,
                  "n_atoms": n_atoms, "schedule": h.get("schedule"), "model_sha256_16": h.get("model_sha256_16"),
                  "density_g_cm3": float(dens) if dens is not None else None}
        rows.append({"path": str(f), "params": params, "seed": int(seed) if seed is not None else None,
                     "job_id": f"example:{f.parent.name}", "example_set": f.parent.name})
    return sorted(rows, key=lambda r: (r["params"]["cooling_rate_k_ps"] or 0.0, r["seed"] or 0))
