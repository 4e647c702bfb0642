"""The generation request the app's forms build, and the checks it passes before it is queued.

generation_params turns the form's fields into the JSON-able params of a 'generate' job (GenerationRequest
fields plus the job's entropy_every); generation_request reads them back as a GenerationRequest;
check_generation runs the core's own checks on them (as the CLI does) so the form can refuse a request that
the job would refuse. No Streamlit here.
"""
from __future__ import annotations

from amorph_core.errors import AmorphError


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


def generation_request(params: dict):
    """The GenerationRequest the 'generate' job runs for the app's params (generation_params' dict)."""
    from amorph_core.generate import GenerationRequest

    kw = {k: v for k, v in params.items() if k not in ("entropy_every", "checkpoint_every")}
    for key in ("aspect", "seeds", "box"):
        if kw.get(key) is not None:
            kw[key] = tuple(kw[key])
    try:
        return GenerationRequest(**kw)
    except TypeError as exc:
        raise AmorphError(f"unknown generation parameter: {exc}") from None


def check_generation(params: dict, cuda_available: bool | None = None) -> dict:
    """Refuse a generation the job would refuse, before it is queued: the same core checks as the CLI
    (build_starts on the first seed: rate, density, size and box; the schedule; the model; the device).

    Returns {"start": the first seed's starting Atoms (its box is the glass's), "n_atoms", "box_a",
    "n_steps", "schedule", "warnings": [AmorphWarning texts]}; raises AmorphError saying what to change."""
    import dataclasses
    import warnings

    from amorph_core.errors import AmorphWarning
    from amorph_core.generate import build_starts, sampler_for
    from amorph_core.md.potentials import md_refusal

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
