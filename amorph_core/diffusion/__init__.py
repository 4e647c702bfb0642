"""Diffusion core: noise schedules and the batched sampler loop. Knows tensors, not materials.
The sampler (torch) is imported on first use, so the schedules load without torch."""
from amorph_core.diffusion.schedules import SCHEDULES, Schedule, get_schedule

_SAMPLER = ("BatchState", "GraphCaptureError", "SamplerCancelled", "StaticPredictor", "run_sampler", "wrap_positions")

__all__ = ["SCHEDULES", "Schedule", "get_schedule", "BatchState", "wrap_positions", "run_sampler",
           "SamplerCancelled", "GraphCaptureError", "StaticPredictor"]


def __getattr__(name):
    if name in _SAMPLER:
        from amorph_core.diffusion import sampler

        return getattr(sampler, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
