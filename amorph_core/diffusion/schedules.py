"""Denoising schedules: n_noisy steps with extra Gaussian noise whose standard deviation (Å) falls from
sigma_start to sigma_end (linearly in the paper, 2.1 and A.2), then n_clean steps without extra noise.

A power p != 1 bends the fall: sigma(u) = sigma_end + (sigma_start - sigma_end) (1 - u)^p over u in [0, 1],
so p > 1 spends more of the noisy steps at small sigma (a slower final quench) and p < 1 fewer.

A window (lo, hi, factor) gives the noise levels in [lo, hi] Å factor times as many steps per Å as the rest
of the fall (which stays linear), at the same number of steps: a slower (factor > 1) or faster (< 1) passage
where a glass's network freezes (python -m amorph_core.calibration.freeze_window measures where). A window
overrides power."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from amorph_core.errors import AmorphError


@dataclass(frozen=True)
class Schedule:
    """name; n_noisy steps with extra noise sigma_start -> sigma_end (Å; linear for power 1); then n_clean
    plain steps."""

    name: str
    n_noisy: int
    n_clean: int
    sigma_start: float = 1.0
    sigma_end: float = 0.0
    description: str = ""
    power: float = 1.0
    window: tuple = ()

    @property
    def n_steps(self) -> int:
        return self.n_noisy + self.n_clean

    def sigmas(self) -> np.ndarray:
        """Extra-noise standard deviation (Å) at every step."""
        if self.window:
            noisy = self._windowed()
        elif self.power == 1.0:
            noisy = np.linspace(self.sigma_start, self.sigma_end, self.n_noisy) if self.n_noisy else np.zeros(0)
        else:
            u = np.linspace(0.0, 1.0, self.n_noisy)
            noisy = self.sigma_end + (self.sigma_start - self.sigma_end) * (1.0 - u) ** self.power
        return np.concatenate([noisy, np.zeros(self.n_clean)])

    def _windowed(self) -> np.ndarray:
        """sigma(u) through the knots where the step density (steps per Å) changes."""
        lo, hi, f = self.window
        lo, hi = max(lo, self.sigma_end), min(hi, self.sigma_start)
        cost = lambda a, b: (b - a) + (f - 1) * max(0.0, min(b, hi) - max(a, lo))  # noqa: E731 (weighted Å)
        total = cost(self.sigma_end, self.sigma_start)
        knots_s = [self.sigma_start, hi, lo, self.sigma_end]
        knots_u = [1.0 - cost(self.sigma_end, x) / total for x in knots_s]
        u = np.linspace(0.0, 1.0, self.n_noisy)
        return np.interp(u, knots_u, knots_s)


SCHEDULES = {
    "paper": Schedule("paper", 2900, 100, description="the paper's schedule: 2900 noisy + 100 clean steps"),
    "fast": Schedule("fast", 950, 50, description="1000 steps (noise 1.0 -> 0 over 950)"),
    "quick": Schedule("quick", 285, 15, description="300 steps, for previews and CPU"),
    "draft": Schedule("draft", 95, 5,
                      description="100 steps, a first look (about a minute for 200 atoms on a 2-core CPU)"),
    "no-noise": Schedule("no-noise", 0, 3000, description="3000 steps without extra noise (paper Fig. 15a)"),
}


MIN_POWER, MAX_POWER = 0.25, 4.0
MIN_WINDOW, MAX_WINDOW = 0.1, 100.0


def with_window(base: Schedule, lo: float, hi: float, factor: float, label: str | None = None) -> Schedule:
    """base with factor times the steps per Å between lo and hi Å (module docstring); AmorphError unless the
    window lies within base's noise fall and factor within MIN_WINDOW..MAX_WINDOW. label names it in errors."""
    lo, hi, factor = float(lo), float(hi), float(factor)
    if not (base.sigma_end <= lo < hi <= base.sigma_start) or not MIN_WINDOW <= factor <= MAX_WINDOW \
            or base.n_noisy == 0:
        raise AmorphError(f"schedule '{label or base.name}': the window must lie within the noise fall "
                          f"{base.sigma_start:g} -> {base.sigma_end:g} Å and its factor in "
                          f"{MIN_WINDOW:g}..{MAX_WINDOW:g}")
    return replace(base, name=f"{base.name}-w{lo:g}-{hi:g}x{factor:g}", window=(lo, hi, factor),
                   description=f"{base.description}; {factor:g}x the steps per Å between {lo:g} and {hi:g} Å")


def _bent(schedule: str) -> Schedule:
    """'BASE:pP' (power P) or 'BASE:wLO-HIxF' (a window): see get_schedule."""
    base, _, spec = schedule.partition(":")
    if spec.startswith("w"):
        try:
            lims, _, f = spec[1:].partition("x")
            lo, _, hi = lims.partition("-")
            lo, hi, f = float(lo), float(hi), float(f)
        except ValueError:
            raise AmorphError(f"schedule '{schedule}': give a window as wLO-HIxF (Å, Å, factor), "
                              f"e.g. 'paper:w0.1-0.45x4'") from None
        return with_window(get_schedule(base), lo, hi, f, label=schedule)
    try:
        if not spec.startswith("p"):
            raise ValueError
        power = float(spec[1:])
    except ValueError:
        raise AmorphError(f"schedule '{schedule}': after ':' give the noise-fall power as pP, "
                          f"e.g. 'paper:p2'") from None
    if not MIN_POWER <= power <= MAX_POWER:
        raise AmorphError(f"schedule '{schedule}': power {power:g} outside {MIN_POWER:g}..{MAX_POWER:g}")
    b = get_schedule(base)
    if b.n_noisy == 0:
        raise AmorphError(f"schedule '{schedule}': '{base}' has no noisy steps to bend")
    return replace(b, name=f"{b.name}-p{power:g}", power=power,
                   description=f"{b.description}; noise falls with power {power:g}")


def get_schedule(schedule) -> Schedule:
    """A Schedule from a preset name, an int (number of steps, paper proportions) or a Schedule; a preset or
    number may end in ':pP' for a noise fall of power P (e.g. 'paper:p2') or ':wLO-HIxF' for a window of F
    times the step density between LO and HI Å (e.g. 'paper:w0.1-0.45x4'; module docstring)."""
    if isinstance(schedule, Schedule):
        return schedule
    if isinstance(schedule, str) and ":" in schedule:
        return _bent(schedule)
    if isinstance(schedule, int) or (isinstance(schedule, str) and schedule.isdigit()):
        n = int(schedule)
        if n < 2 or n > 100000:
            raise AmorphError(f"number of denoising steps must be 2..100000, got {n}")
        clean = max(1, round(n / 30))
        return Schedule(f"steps{n}", n - clean, clean, description=f"{n} steps, paper proportions")
    if schedule not in SCHEDULES:
        raise AmorphError(f"unknown schedule '{schedule}' (presets: {', '.join(SCHEDULES)}; or a number of steps)")
    return SCHEDULES[schedule]
