"""Generate glasses: "N structures of system X at cooling rate R" = start configurations + model + sampler.

Every structure is written (extxyz) as soon as its batch finishes, with its seed and all parameters in the
file, so a crash or cancel loses nothing finished. Same seed + same device + same model -> same structure.

- request.py: GenerationRequest (what to make) and RunOptions (how to run it), frozen, JSON round-trip;
- sampling.py: what a request's schedule and sampler mean for its model (paper schedules, solvers);
- inference.py: Generator, the model on a device (eager, padded, compiled, CUDA graphs);
- resume.py: output names, finished files, saved trajectories of unfinished batches;
- pipeline.py: build_starts and generate_structures.
"""
from amorph_core.generate.inference import (GUIDANCE_PIVOT_K_PS, MAX_RATE_GUIDANCE, MODES, Generator,  # noqa: F401
                                            file_sha16, resolve_device)
from amorph_core.generate.pipeline import build_starts, generate_structures, plan_batches, structure_at  # noqa: F401
from amorph_core.generate.request import GenerationRequest, RunOptions, parse_seeds  # noqa: F401
from amorph_core.generate.resume import PARTIAL_DIR, output_path  # noqa: F401
from amorph_core.generate.sampling import (DEFAULT_EVALS, DEFAULT_SOLVER, MATCHED_FACTOR_RANGE, SAMPLERS,  # noqa: F401
                                           SCHEDULES, SYSTEM_SCHEDULES, WINDOW_FACTOR, resolve_sampler,
                                           resolve_schedule, sampler_for, schedules_for)
