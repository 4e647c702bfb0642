"""Denoising schedules: n_noisy steps with extra Gaussian noise whose standard deviation (Å) falls linearly
from sigma_start to sigma_end, then n_clean steps without extra noise (paper 2.1, A.2)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from amorph_core.errors import AmorphError


@dataclass(frozen=True)
class Schedule:
    """name; n_noisy steps with extra noise sigma_start -> sigma_end (Å, linear); then n_clean plain steps."""

    name: str
    n_noisy: int
    n_clean: int
    sigma_start: float = 1.0
    sigma_end: float = 0.0
    description: str = ""

    @property
    def n_steps(self) -> int:
        return self.n_noisy + self.n_clean

    def sigmas(self) -> np.ndarray:
        """Extra-noise standard deviation (Å) at every step."""
        noisy = np.linspace(self.sigma_start, self.sigma_end, self.n_noisy) if self.n_noisy else np.zeros(0)
        return np.concatenate([noisy, np.zeros(self.n_clean)])


SCHEDULES = {
    "paper": Schedule("paper", 2900, 100, description="the paper's schedule: 2900 noisy + 100 clean steps"),
    "fast": Schedule("fast", 950, 50, description="1000 steps (noise 1.0 -> 0 over 950)"),
    "quick": Schedule("quick", 285, 15, description="300 steps, for previews and CPU"),
    "draft": Schedule("draft", 95, 5, description="100 steps, a first look in seconds on a CPU"),
    "no-noise": Schedule("no-noise", 0, 3000, description="3000 steps without extra noise (paper Fig. 15a)"),
}


def get_schedule(schedule) -> Schedule:
    """A Schedule from a preset name, an int (number of steps, paper proportions) or a Schedule."""
    if isinstance(schedule, Schedule):
        return schedule
    if isinstance(schedule, int) or (isinstance(schedule, str) and schedule.isdigit()):
        n = int(schedule)
        if n < 2 or n > 100000:
            raise AmorphError(f"number of denoising steps must be 2..100000, got {n}")
        clean = max(1, round(n / 30))
        return Schedule(f"steps{n}", n - clean, clean, description=f"{n} steps, paper proportions")
    if schedule not in SCHEDULES:
        raise AmorphError(f"unknown schedule '{schedule}' (presets: {', '.join(SCHEDULES)}; or a number of steps)")
    return SCHEDULES[schedule]
