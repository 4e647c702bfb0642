"""Diffusion core: noise schedules, the paper's batched sampler loop and the solvers for noise-conditional
denoisers (diffusion.solvers). Knows tensors, not materials. The samplers (torch) are imported on first use,
so the schedules load without torch."""
from amorph_core.diffusion.schedules import SCHEDULES, Schedule, get_schedule

_SAMPLER = ("BatchState", "GraphCaptureError", "SamplerCancelled", "StaticPredictor", "run_sampler", "wrap_positions")
_SOLVERS = ("Solver", "run_solver", "SOLVERS")

__all__ = ["SCHEDULES", "Schedule", "get_schedule", "BatchState", "wrap_positions", "run_sampler",
           "SamplerCancelled", "GraphCaptureError", "StaticPredictor", "Solver", "run_solver", "SOLVERS"]


def __getattr__(name):
    if name in _SAMPLER:
        from amorph_core.diffusion import sampler

        return getattr(sampler, name)
    if name in _SOLVERS:
        from amorph_core.diffusion import solvers

        return getattr(solvers, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
