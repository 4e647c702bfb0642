"""Diffusion core: noise schedules and the batched sampler loop. Knows tensors, not materials."""
from amorph_core.diffusion.schedules import SCHEDULES, Schedule, get_schedule
from amorph_core.diffusion.sampler import (BatchState, GraphCaptureError, SamplerCancelled, StaticPredictor,
                                           run_sampler, wrap_positions)

__all__ = ["SCHEDULES", "Schedule", "get_schedule", "BatchState", "wrap_positions", "run_sampler",
           "SamplerCancelled", "GraphCaptureError", "StaticPredictor"]
