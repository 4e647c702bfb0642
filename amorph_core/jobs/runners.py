"""The app's job runners: one per job kind (DEFAULT_KINDS), run by amorph_core.jobs.manager.JobManager.

Each is ``runner(params, out_dir, progress, cancel)`` (amorph_core.jobs.manager says what the arguments are and
what a runner returns). Isolated kinds (JobKind.isolate) run in a spawned child process that imports the runner
by its module and function name (``_child_main(module, name, ...)``), so every runner is a module-level function
of this module. Job folders record only the kind's name (status.json "kind"), never the runner's module.
"""
from __future__ import annotations

from pathlib import Path

from amorph_core.errors import AmorphError
from amorph_core.jobs.kinds import JobKind, atomic_write_json


def generate_job_params(req, run) -> dict:
    """A 'generate' job's params (JSON): the GenerationRequest's fields, and its RunOptions under "run" (what
    the glass is stays apart from how the job runs it)."""
    from dataclasses import asdict

    return {**req.to_dict(), "run": asdict(run)}


def generate_job_request(params: dict) -> tuple:
    """(GenerationRequest, RunOptions) of a 'generate' job's params (generate_job_params'); an unknown field is
    an AmorphError. Jobs stored with entropy_every / checkpoint_every beside the request's fields still load."""
    from amorph_core.generate import GenerationRequest, RunOptions

    fields = dict(params)
    run = dict(fields.pop("run", None) or {})
    for key in ("entropy_every", "checkpoint_every"):
        if key in fields:
            run.setdefault(key, fields.pop(key))
    try:
        options = RunOptions(**run)
    except TypeError as exc:
        raise AmorphError(f"unknown run option in the generate job: {exc}") from None
    return GenerationRequest.from_dict(fields, "generate job"), options


def _generate_runner(params: dict, out_dir: Path, progress, cancel) -> list:
    """Runner for kind 'generate': params are generate_job_params' (a GenerationRequest and RunOptions)."""
    from amorph_core.generate import generate_structures

    req, run = generate_job_request(params)
    paths = generate_structures(req, out_dir, run, progress=progress, cancel=cancel)
    return [str(p) for p in (paths or [])]


def _load_set(paths) -> list:
    from amorph_core.structures import read_structure

    return [read_structure(p) for p in paths]


def _references_for(params: dict) -> list:
    from amorph_core.structures import reference_glasses

    if params.get("reference_paths"):
        return _load_set(params["reference_paths"])
    rate = params.get("reference_rate_k_ps")
    return reference_glasses(params["system"], rate_k_ps=rate, nearest=rate is not None,
                             split=params.get("reference_split"))


def _analyze_runner(params: dict, out_dir: Path, progress, cancel) -> dict:
    """Runner for kind 'analyze': analyze_structure on each of params['paths'] (and, with
    params['references']=True, on the system's reference glasses); writes analysis.json as it goes.

    params: paths, system, rings, entropy, voronoi, per_atom, references (bool), reference_rate_k_ps.
    """
    from amorph_core.analysis import aggregate, analyze_structure

    items = [("generated", p, None) for p in params.get("paths", [])]
    if params.get("references"):
        items += [("reference", None, a) for a in _references_for(params)]
    out = {"generated": [], "reference": [], "params": params}
    path = Path(out_dir) / "analysis.json"
    for k, (group, p, atoms) in enumerate(items):
        if cancel.is_set():
            break
        progress({"kind": "progress", "index": 0, "step": k, "n_steps": len(items), "entropy_nats": None})
        if atoms is None:
            atoms = _load_set([p])[0]
        kw = dict(rings=params.get("rings", False), entropy=params.get("entropy", True),
                  per_atom=params.get("per_atom", False), name=str(p or atoms.info.get("sample", k)))
        try:
            res = analyze_structure(atoms, params.get("system"), voronoi=params.get("voronoi"), **kw)
        except AmorphError as exc:  # the Voronoi step turns voro++'s errors into AmorphError
            # voro++ refuses unphysical inputs (an atom inside a bigger neighbour's radical cell): keep the
            # other analyses and say why the Voronoi part is missing
            if "Voronoi" not in str(exc):
                raise
            res = analyze_structure(atoms, params.get("system"), voronoi=False, **kw)
            res["voronoi_error"] = (f"Voronoi tessellation failed ({exc}); usually atoms far closer than a bond "
                                    f"length, i.e. an unphysical structure")
        res.pop("timings_s", None)
        res["path"] = p
        if params.get("per_atom"):
            res["symbols"] = atoms.get_chemical_symbols()
        res["info"] = {k2: (v.item() if hasattr(v, "item") else v) for k2, v in atoms.info.items()
                       if isinstance(v, (str, int, float, bool)) or hasattr(v, "item")}
        out[group].append(res)
        atomic_write_json(path, out)
    progress({"kind": "progress", "index": 0, "step": len(items), "n_steps": len(items), "entropy_nats": None})
    out["aggregate_generated"] = aggregate(out["generated"]) if out["generated"] else None
    out["aggregate_reference"] = aggregate(out["reference"]) if out["reference"] else None
    atomic_write_json(path, out)
    return {"paths": [str(path)], "summary": {"n_generated": len(out["generated"]),
                                               "n_reference": len(out["reference"])}}


def _compare_runner(params: dict, out_dir: Path, progress, cancel) -> dict:
    """Runner for kind 'compare': compare_sets(generated paths, reference glasses); writes compare.json.

    params: paths, system, reference_rate_k_ps (nearest reference rate) or reference_paths, rings, entropy.
    """
    from amorph_core.analysis import compare_sets

    gen = _load_set(params["paths"])
    ref = _references_for(params)
    if cancel.is_set():
        return {"paths": []}
    try:
        res = compare_sets(gen, ref, params.get("system"), rings=params.get("rings", True),
                           entropy=params.get("entropy", True),
                           progress=lambda msg: progress({"kind": "message", "message": str(msg)}), cancel=cancel)
    except AmorphError:
        if cancel.is_set():
            return {"paths": []}
        raise
    res["reference_rates_k_ps"] = sorted({a.info.get("cooling_rate_k_ps") for a in ref
                                          if a.info.get("cooling_rate_k_ps") is not None})
    res["paths"] = list(params["paths"])
    path = Path(out_dir) / "compare.json"
    atomic_write_json(path, res)
    return {"paths": [str(path)], "summary": res["summary"]}


def _md_progress(progress, n_steps: int = 1000):
    def cb(frac, rec=None):
        progress({"kind": "progress", "index": 0, "step": int(round(float(frac) * n_steps)), "n_steps": n_steps,
                  "entropy_nats": None})
    return cb


def _refine_runner(params: dict, out_dir: Path, progress, cancel) -> dict:
    """Runner for kind 'refine': MD refinement (amorph_core.md.refine: NVT then NPT) of params['path'];
    params: path, engine, nvt_ps, npt_ps, temperature_k, seed. Writes refined.extxyz (and the MD log)."""
    from amorph_core.md import Cancelled, refine

    atoms = _load_set([params["path"]])[0]
    try:
        refine(atoms, engine=params.get("engine", "auto"), seed=int(params.get("seed", 0)),
               nvt_ps=float(params.get("nvt_ps", 5.0)), npt_ps=float(params.get("npt_ps", 5.0)),
               temperature_k=float(params.get("temperature_k", 300.0)), out_dir=out_dir,
               progress=_md_progress(progress), cancel=cancel, report_every=int(params.get("report_every", 500)))
    except Cancelled:
        return {"paths": []}
    path = Path(out_dir) / "refined.extxyz"
    progress({"kind": "done", "index": 0, "seed": params.get("seed", 0), "path": str(path)})
    return {"paths": [str(path)]}


def _moduli_runner(params: dict, out_dir: Path, progress, cancel) -> dict:
    """Runner for kind 'moduli': static elastic moduli (amorph_core.md.elastic_moduli) of each of
    params['paths']; writes moduli.json after every structure. params: paths, engine, strain, fmax."""
    from amorph_core.md import Cancelled, elastic_moduli

    out = {"results": [], "params": params}
    path = Path(out_dir) / "moduli.json"
    paths = list(params["paths"])
    for k, p in enumerate(paths):
        if cancel.is_set():
            break
        atoms = _load_set([p])[0]
        sub = lambda frac, rec=None, _k=k: progress({  # noqa: E731
            "kind": "progress", "index": 0, "step": int(1000 * (_k + float(frac)) / len(paths)), "n_steps": 1000,
            "entropy_nats": None})
        try:
            res = elastic_moduli(atoms, engine=params.get("engine", "auto"), strain=float(params.get("strain", 1e-3)),
                                 fmax=float(params.get("fmax", 1e-4)), progress=sub, cancel=cancel)
        except Cancelled:
            break
        res["path"] = p
        res["info"] = {k2: (v.item() if hasattr(v, "item") else v) for k2, v in atoms.info.items()
                       if isinstance(v, (str, int, float, bool)) or hasattr(v, "item")}
        out["results"].append(res)
        atomic_write_json(path, out)
    atomic_write_json(path, out)
    return {"paths": [str(path)], "summary": {"n": len(out["results"])}}


DEFAULT_KINDS = {
    # analysis and MD run in child processes: LAMMPS and pyvoro both carry voro++ and crash when loaded
    # into one process (segfault), and a native crash must fail a job, not the server
    "refine": JobKind("refine", _refine_runner, "gpu", isolate=True),
    "moduli": JobKind("moduli", _moduli_runner, "gpu", isolate=True),
    "generate": JobKind("generate", _generate_runner, "gpu", resumable=True),
    "analyze": JobKind("analyze", _analyze_runner, "cpu", isolate=True),
    "compare": JobKind("compare", _compare_runner, "cpu", isolate=True),
}
