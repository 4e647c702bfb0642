"""Post-generation MD refinement (paper 2.1): named protocols, parse_refine, check_refinable, refine and
refine_files."""
from __future__ import annotations

import math
import time
from pathlib import Path

from amorph_core import validation as V
from amorph_core.errors import AmorphError
from amorph_core.md.engines import make_engine
from amorph_core.md.potentials import check_atoms, potential_for
from amorph_core.md.relax import REFINE_MIN_DISTANCE_A, check_no_collapse, relax_start
from amorph_core.md.stages import fresh_output_dir, run_stages
from amorph_core.structures.io import write_structure

# Named refinement protocols: (NVT ps, NPT ps) at 300 K after a minimisation. Measured effect on the shipped
# sio2-cond's 1 K/ps glasses: BENCHMARKS.md ("MD refinement of generated glasses").
REFINE_PRESETS = {"min": (0.0, 0.0), "short": (1.0, 0.0), "paper": (25.0, 25.0)}
REFINE_MAX_PS = 10_000.0


def parse_refine(text) -> tuple[float, float]:
    """A refinement protocol as (nvt_ps, npt_ps): a preset name ('min' = minimise only, 'short' = + 1 ps NVT,
    'paper' = + 25 ps NVT + 25 ps zero-pressure NPT) or 'NVT_PS' / 'NVT_PS,NPT_PS' in ps."""
    t = str(text).strip().lower()
    if t in REFINE_PRESETS:
        return REFINE_PRESETS[t]
    parts = [x.strip() for x in t.split(",")]
    try:
        vals = [float(x) for x in parts]
    except ValueError:
        vals = []
    if not 1 <= len(vals) <= 2 or len(vals) != len(parts):
        raise AmorphError(f"refinement must be {', '.join(REFINE_PRESETS)} or NVT_PS[,NPT_PS] in ps; got {text!r}")
    if not all(math.isfinite(v) and 0 <= v <= REFINE_MAX_PS for v in vals):
        raise AmorphError(f"refinement times must be between 0 and {REFINE_MAX_PS:g} ps; got {text!r}")
    return (vals[0], vals[1] if len(vals) == 2 else 0.0)


def check_refinable(atoms, engine: str = "auto") -> str:
    """Raise the AmorphError refine() would raise for this structure and engine (unknown elements, a box under
    twice the potential's cutoff, a missing engine), before any work; returns the engine's name."""
    pot = potential_for(atoms)
    check_atoms(atoms, pot)
    eng = make_engine(pot, engine)
    return f"{eng.name}-{eng.platform_name}"


def refine(atoms, engine: str = "auto", seed: int = 0, nvt_ps: float = 25.0, npt_ps: float = 25.0,
           temperature_k: float = 300.0, dt_fs: float = 1.0, out_dir=None, progress=None, cancel=None,
           report_every: int = 1000):
    """Post-generation refinement (paper 2.1): nvt_ps NVT then npt_ps zero-pressure NPT at temperature_k.
    Minimises first (generated structures can hold close pairs). Returns the refined ase.Atoms."""
    from amorph_core.structures.density import density_g_cm3 as dens
    from amorph_core.structures.io import plain_info
    pot = potential_for(atoms)
    check_atoms(atoms, pot)
    if not (math.isfinite(temperature_k) and temperature_k > 0):
        raise AmorphError(f"temperature must be positive, got {temperature_k}")
    seed = V.seed(seed)
    nvt_ps = V.number(nvt_ps, "NVT time", "ps", lo=0, hi=REFINE_MAX_PS)
    npt_ps = V.number(npt_ps, "NPT time", "ps", lo=0, hi=REFINE_MAX_PS)
    check_no_collapse(atoms, REFINE_MIN_DISTANCE_A)
    eng = make_engine(pot, engine)
    out = fresh_output_dir(out_dir, "log.jsonl")
    relaxed, _ = relax_start(eng, atoms)
    sim = eng.simulation(relaxed, seed=seed, temperature_k=temperature_k, dt_fs=dt_fs)
    n = lambda ps: int(round(ps * 1000 / dt_fs))  # noqa: E731
    stages = [s for s in [("nvt", n(nvt_ps), temperature_k, temperature_k, False),
                          ("npt", n(npt_ps), temperature_k, temperature_k, True)] if s[1] > 0]
    run_stages(sim, stages, out, progress, cancel, report_every)
    g = sim.atoms()
    V.finite_result({"positions": g.positions, "cell": g.cell.array}, "refinement")
    g.arrays.pop("momenta", None)
    g.info.update(plain_info(atoms))  # the generation record (seed, model, schedule...) as plain Python values
    g.info.update({"refined": f"{nvt_ps} ps NVT + {npt_ps} ps NPT at {temperature_k} K", "refine_seed": int(seed),
                   "engine": f"{eng.name}-{eng.platform_name}", "density_g_cm3": round(dens(g), 5)})
    if out:
        write_structure(g, out / "refined.extxyz", "extxyz")  # atomic
    return g


def refine_files(paths, protocol, engine: str = "auto", cancel=None, out_dir=None, seed: int | None = None) -> list:
    """Refine generated extxyz files with protocol (see parse_refine) into NAME_refined.extxyz beside each (or,
    with out_dir, into out_dir/NAME.extxyz); the generated files stay. seed: the MD velocities' seed (default:
    each structure's generation seed). Returns one dict per path: path, refined (the new file or None), error
    (or None), wall_s, engine. A structure the MD refuses is reported in its dict, not raised."""
    from amorph_core.structures import read_structure, write_structure

    nvt, npt = parse_refine(protocol)
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    rows = []
    for path in map(Path, paths):
        if cancel is not None and cancel():
            break
        t = time.perf_counter()
        row = {"path": str(path), "refined": None, "error": None, "engine": None}
        try:
            atoms = read_structure(path)
            md_seed = int(atoms.info.get("seed", 0)) if seed is None else int(seed)
            g = refine(atoms, engine=engine, seed=md_seed, nvt_ps=nvt, npt_ps=npt)
            dest = Path(out_dir) / path.name if out_dir is not None else path.with_name(path.stem + "_refined.extxyz")
            row["refined"] = str(write_structure(g, dest))
            row["engine"] = g.info["engine"]
        except AmorphError as exc:
            row["error"] = str(exc)
        row["wall_s"] = round(time.perf_counter() - t, 2)
        rows.append(row)
    return rows
