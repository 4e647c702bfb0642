"""The generation request the app's forms build, and the checks it passes before it is queued.

The forms build a GenerationRequest (the same frozen dataclass the CLI and the sweep build); the job stores it
with the app's RunOptions (amorph_core.jobs.generate_job_params) and the runner rebuilds both.
check_generation runs the core's own checks on the request (as the CLI does) so the form can refuse a request
that the job would refuse. No Streamlit here.
"""
from __future__ import annotations

from amorph_core.errors import AmorphError
from amorph_core.generate import GenerationRequest, RunOptions

#: how the app runs a generation: the QUESTS entropy every 10 steps, for the live chart (other options: the
#: library's defaults)
APP_RUN = RunOptions(entropy_every=10)
#: most structures one form submits
MAX_SAMPLES = 64


def sample_seeds(seed: int, n_samples: int) -> tuple:
    """The seeds of n_samples structures from the form's first seed."""
    if not 1 <= int(n_samples) <= MAX_SAMPLES:
        raise AmorphError(f"number of samples must be 1..{MAX_SAMPLES}, got {n_samples}")
    return tuple(range(int(seed), int(seed) + int(n_samples)))


def job_params(req: GenerationRequest) -> dict:
    """What the 'generate' job stores: the request and the app's run options."""
    from amorph_core.jobs import generate_job_params

    return generate_job_params(req, APP_RUN)


def check_generation(req: GenerationRequest, cuda_available: bool | None = None) -> dict:
    """Refuse a generation the job would refuse, before it is queued: the same core checks as the CLI
    (build_starts on the first seed: rate, density, size and box; the schedule; the model; the device).

    Returns {"start": the first seed's starting Atoms (its box is the glass's), "n_atoms", "box_a",
    "n_steps", "schedule", "warnings": [AmorphWarning texts]}; raises AmorphError saying what to change."""
    import dataclasses
    import warnings

    from amorph_core.errors import AmorphWarning
    from amorph_core.generate import build_starts, sampler_for
    from amorph_core.md.potentials import md_refusal

    if not isinstance(req, GenerationRequest):
        raise AmorphError(f"expected a GenerationRequest, got {type(req).__name__}")
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
        sched = sampler_for(req)
    return {"start": start, "n_atoms": len(start), "box_a": [float(x) for x in start.cell.lengths()],
            "n_steps": int(sched.n_steps), "schedule": sched.name, "n_structures": len(req.seeds),
            "warnings": [str(w.message) for w in caught if issubclass(w.category, AmorphWarning)],
            "md_refusal": md_refusal(start)}
