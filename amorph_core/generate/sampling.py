"""What a request's schedule and sampler mean: the paper's step schedules (with the presets calibrated per glass
system) for noise-blind models, diffusion.solvers' solvers for noise-conditional ones."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from amorph_core.diffusion.schedules import SCHEDULES as BASE_SCHEDULES, Schedule, get_schedule, with_window
from amorph_core.errors import AmorphError
from amorph_core.systems import get_system

#: presets resolved per system (and cooling rate) by resolve_schedule: the paper's 2,900 + 100 steps with the
#: passage through the system's freezing window (GlassSystem.freeze_window_a) slowed 4x ('window') or matched to
#: the cooling rate ('matched', GlassSystem.matched_quench), and 200 steps with it slowed 4x ('draft-window')
WINDOW_FACTOR = 4.0
MATCHED_FACTOR_RANGE = (0.1, 10.0)


#: steps of 'draft-window' (in the paper's proportions, as any number of steps)
DRAFT_WINDOW_STEPS = 200

SYSTEM_SCHEDULES = {
    "window": Schedule("window", 2900, 100, description=f"3000 steps like paper, {WINDOW_FACTOR:g}x the steps per Å "
                       "where the network freezes (a-SiO2: 0.1-0.45 Å); fewer defects, same time"),
    "draft-window": replace(get_schedule(DRAFT_WINDOW_STEPS), name="draft-window",
                            description=f"{DRAFT_WINDOW_STEPS} steps with the window's slow freezing passage (a-SiO2): "
                            "half the defects of draft for twice its time, about 45 s for 648 atoms on a 2-core CPU"),
    "matched": Schedule("matched", 2900, 100, description="3000 steps like paper, the freezing passage slowed for "
                        "slow and sped for fast cooling rates (a-SiO2)"),
}
SCHEDULES = {**BASE_SCHEDULES, **SYSTEM_SCHEDULES}


def schedules_for(system: str) -> dict:
    """The schedule presets (name -> Schedule) that a system can use."""
    if get_system(system).freeze_window_a is not None:
        return dict(SCHEDULES)
    return {k: v for k, v in SCHEDULES.items() if k not in SYSTEM_SCHEDULES}


def resolve_schedule(schedule, system: str, rate_k_ps: float | None):
    """The Schedule a request's schedule means for its system and cooling rate (K/ps): 'window', 'draft-window' and
    'matched' depend on them, anything else is diffusion.get_schedule's."""
    if not (isinstance(schedule, str) and schedule in SYSTEM_SCHEDULES):
        return get_schedule(schedule)
    sys_ = get_system(system)
    if sys_.freeze_window_a is None or (schedule == "matched" and (sys_.matched_quench is None or rate_k_ps is None)):
        raise AmorphError(f"schedule '{schedule}' is calibrated for a-SiO2 only (no freezing window measured for "
                          f"{sys_.label}); use 'paper'")
    lo, hi = sys_.freeze_window_a
    if schedule in ("window", "draft-window"):
        f = WINDOW_FACTOR
    else:
        f1, alpha = sys_.matched_quench
        f = float(np.clip(f1 * float(rate_k_ps) ** -alpha, *MATCHED_FACTOR_RANGE))
    f = float(f"{f:.3g}")  # three significant digits, as recorded in the name
    base = get_schedule(DRAFT_WINDOW_STEPS) if schedule == "draft-window" else BASE_SCHEDULES["paper"]
    s = with_window(base, lo, hi, f)
    return replace(s, name=f"{schedule}-w{lo:g}-{hi:g}x{f:g}", description=SCHEDULES[schedule].description)


#: the solver and number of network evaluations a noise-conditional model uses unless told otherwise: renoise,
#: the only one that makes glasses with sio2-cond-nc (BENCHMARKS.md, "Generation quality vs cost")
DEFAULT_SOLVER = "renoise"
DEFAULT_EVALS = 200
SAMPLERS = ("auto", "paper", "heun", "pc", "ancestral", "renoise")
#: where the renoise solver starts (Å): the paper's first noise level
RENOISE_SIGMA_MAX = 1.0


def resolve_sampler(schedule, sampler: str, noise_conditional: bool, system: str, rate_k_ps: float | None):
    """What a request's (schedule, sampler) means for a model: a Schedule for the paper's sampler
    (noise-blind models) or a diffusion.solvers.Solver (noise-conditional models; schedule = the number of network
    evaluations, or 'auto' / the paper's presets for DEFAULT_EVALS)."""
    if sampler not in SAMPLERS:
        raise AmorphError(f"sampler must be one of {', '.join(SAMPLERS)}, got {sampler!r}")
    if sampler == "auto":
        sampler = DEFAULT_SOLVER if noise_conditional else "paper"
    if sampler == "paper":
        if noise_conditional:
            raise AmorphError("this model is told the noise level: use a solver (--sampler heun, pc, ancestral or renoise); the "
                              "paper's sampler needs a noise-blind model such as sio2-cond-hq4")
        return resolve_schedule("paper" if schedule == "auto" else schedule, system, rate_k_ps)
    if not noise_conditional:
        raise AmorphError(f"sampler '{sampler}' needs a noise-conditional model; this one is noise-blind (use "
                          "--sampler paper)")
    from amorph_core.diffusion.solvers import MAX_EVALS, MIN_EVALS, Solver

    if isinstance(schedule, str) and not schedule.isdigit():
        if schedule != "auto":
            raise AmorphError(f"with sampler '{sampler}' give the number of network evaluations "
                              f"({MIN_EVALS}..{MAX_EVALS}), not the schedule '{schedule}'")
        schedule = DEFAULT_EVALS
    n = int(schedule)
    if not MIN_EVALS <= n <= MAX_EVALS:
        raise AmorphError(f"number of network evaluations must be {MIN_EVALS}..{MAX_EVALS}, got {n}")
    if sampler == "renoise":  # the paper's start and, where the system has one, its freezing window
        window = get_system(system).freeze_window_a
        return Solver(sampler, n, sigma_max=RENOISE_SIGMA_MAX,
                      window=(*window, WINDOW_FACTOR) if window is not None else ())
    return Solver(sampler, n)


def sampler_for(req) -> object:
    """resolve_sampler for a GenerationRequest, reading only its model's config (no weights): what
    generate_structures will run for it (a Schedule or a Solver, with .name and .n_steps)."""
    from amorph_core.model.checkpoint import DEFAULT_MODELS, read_config

    sys_ = get_system(req.system)
    cfg = read_config(req.model or DEFAULT_MODELS.get(sys_.name))["config"]
    return resolve_sampler(req.schedule, req.sampler, bool(cfg.get("noise_conditional")), sys_.name,
                           req.conditioning_rate(warn=False))


