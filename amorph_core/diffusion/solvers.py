"""Samplers for a noise-conditional denoiser (one told the noise level sigma), with the number of network
evaluations as the knob. Beyond the paper, whose noise-blind sampler needs 3,000 evaluations.

The denoiser predicts each atom's displacement d(x; sigma) from x back to the clean structure, so
D(x; sigma) = x - d is the denoised estimate and the score is -d / sigma^2. Noise levels follow Karras et al.
(2022, "EDM"): sigma_i = (sigma_max^(1/rho) + i/(N-1) (sigma_min^(1/rho) - sigma_max^(1/rho)))^rho.

- 'heun': the probability-flow ODE dx/dsigma = d(x; sigma) / sigma, solved with Heun's 2nd-order method (EDM
  Algorithm 1; deterministic: the start alone fixes the structure); with churn > 0, EDM's stochastic Algorithm 2
  (noise raised by a factor 1 + gamma before each step). 2 evaluations per step, 1 for the last.
- 'pc': the reverse-time SDE with predictor-corrector (Song et al. 2021, VE SDE): an Euler-Maruyama predictor
  x <- x - (sigma_i^2 - sigma_j^2) d/sigma_i^2 + sqrt(sigma_i^2 - sigma_j^2) z, then Langevin corrector steps at
  sigma_j with step size from a signal-to-noise ratio (per structure), then one last denoising step.
- 'renoise': the paper's update told the noise level: x <- x - d(x; sigma_in) + sigma_out z, sigma_out falling as
  the paper's schedule does (linearly from sigma_max, here 1 Å, with 1/30 of the evaluations clean at the end;
  `window` gives a band of levels more steps, diffusion.schedules), sigma_in the noise the previous step added
  (floored at sigma_min). Annealed Langevin at the paper's temperature: robust where the ODE needs a start on the
  data's noisy distribution. 1 evaluation per step.
- 'ancestral': DDPM's ancestral step for this (variance-exploding) process: x_j drawn from q(x_j | x_i, x0 = D),
  x <- x - (1 - r^2) d + sigma_j sqrt(1 - r^2) z with r = sigma_j / sigma_i. 1 evaluation per level.

The start is the same uniform (or porous) configuration as the paper's sampler, taken as a sample at sigma_max.
Positions are wrapped into the cell after every update. Knows tensors, not materials.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from amorph_core.diffusion.sampler import BatchState, _noise, run_steps, wrap_positions
from amorph_core.diffusion.schedules import Schedule, get_schedule, with_window

SOLVERS = ("heun", "pc", "ancestral", "renoise")
MIN_EVALS, MAX_EVALS = 3, 100_000


@dataclass(frozen=True)
class Solver:
    """kind ('heun' | 'pc' | 'ancestral' | 'renoise'), n_evals (network evaluations, the cost), the noise range (Å)
    and its spacing rho; churn (heun: EDM's S_churn, 0 = the deterministic ODE); snr and n_corrector (pc);
    window (renoise): (lo, hi, factor), factor times the steps per Å between lo and hi Å, or ()."""

    kind: str
    n_evals: int
    sigma_max: float = 2.5
    sigma_min: float = 0.005
    rho: float = 7.0
    churn: float = 0.0
    snr: float = 0.15
    n_corrector: int = 1
    window: tuple = ()

    def __post_init__(self):
        if self.kind not in SOLVERS:
            raise ValueError(f"solver must be one of {', '.join(SOLVERS)}, got {self.kind!r}")
        if not MIN_EVALS <= int(self.n_evals) <= MAX_EVALS:
            raise ValueError(f"network evaluations must be {MIN_EVALS}..{MAX_EVALS}, got {self.n_evals}")
        if not 0 < self.sigma_min < self.sigma_max:
            raise ValueError("noise range must satisfy 0 < sigma_min < sigma_max")
        if self.window:
            lo, hi, f = (float(x) for x in self.window)
            object.__setattr__(self, "window", (lo, hi, f))
            self._renoise_schedule()  # with_window checks the band and the factor (AmorphError, a ValueError)

    @property
    def name(self) -> str:
        extra = f"-churn{self.churn:g}" if self.kind == "heun" and self.churn else ""
        return f"{self.kind}{extra}-{self.n_evals}"

    @property
    def n_levels(self) -> int:
        """Noise levels visited (sigma_max ... sigma_min)."""
        if self.kind == "heun":  # N levels -> 2 (N - 1) + 1 evaluations
            return max(2, (self.n_evals + 1) // 2)
        if self.kind in ("ancestral", "renoise"):
            return self.n_evals
        return max(2, (self.n_evals - 1) // (1 + self.n_corrector) + 1)  # (N - 1)(1 + corr) + 1

    @property
    def evals_used(self) -> int:
        n = self.n_levels
        if self.kind in ("ancestral", "renoise"):
            return n
        return 2 * (n - 1) + 1 if self.kind == "heun" else (n - 1) * (1 + self.n_corrector) + 1

    @property
    def n_steps(self) -> int:
        """Loop steps (one per level: the last one denoises to sigma = 0)."""
        return self.n_levels

    def levels(self) -> np.ndarray:
        """sigma_0 = sigma_max > ... > sigma_{N-1} = sigma_min (Å), then 0."""
        n = self.n_levels
        i = np.arange(n) / (n - 1)
        lo, hi = self.sigma_min ** (1 / self.rho), self.sigma_max ** (1 / self.rho)
        return np.append((hi + i * (lo - hi)) ** self.rho, 0.0)

    def _renoise_schedule(self) -> Schedule:
        """The paper's schedule of n_evals steps (its proportions), falling from sigma_max, with the window."""
        base = replace(get_schedule(self.n_evals), sigma_start=self.sigma_max)
        return with_window(base, *self.window, label=f"renoise-{self.n_evals}") if self.window else base

    def renoise_levels(self) -> tuple:
        """'renoise': (sigma_in, sigma_out) per step (Å): the level the model is told, the noise then added."""
        out = self._renoise_schedule().sigmas()
        told = np.maximum(np.concatenate([[self.sigma_max], out[:-1]]), self.sigma_min)
        return told, out


def _per_structure(values: torch.Tensor, state: BatchState) -> torch.Tensor:
    """(B,) per structure -> (N, 1) per atom."""
    return values[state.batch][:, None]


def _sq_norms(x: torch.Tensor, state: BatchState) -> torch.Tensor:
    """Sum of squares of x (N, 3) per structure, (B,)."""
    out = torch.zeros(state.n_structures, dtype=x.dtype, device=x.device)
    return out.index_add(0, state.batch, (x * x).sum(dim=1))


def solver_step(solver: Solver, predict):
    """fn(t, state, generators): loop step t of this solver (run_solver binds the generators); predict(state,
    sigma) -> displacement (N, 3) Å of a noise-conditional denoiser at the level sigma (Å). Noise is drawn from
    each structure's own generator, so a structure does not depend on its batch-mates."""
    levels = solver.levels()
    n_levels = solver.n_levels

    def moved(state, positions):
        return replace(state, positions=wrap_positions(positions, state.cells, state.batch, state.inv_cells))

    def heun(t, state, generators):
        s_cur, s_next = float(levels[t]), float(levels[t + 1])
        x = state.positions
        if solver.churn > 0 and s_next > 0:  # EDM Algorithm 2: raise the noise first
            gamma = min(solver.churn / (n_levels - 1), 2 ** 0.5 - 1)
            s_hat = s_cur * (1 + gamma)
            x = x + (s_hat ** 2 - s_cur ** 2) ** 0.5 * _noise(state, generators)
            s_cur = s_hat
            state = moved(state, x)
            x = state.positions
        d_cur = predict(state, s_cur) / s_cur  # dx/dsigma = displacement / sigma
        x_next = x + (s_next - s_cur) * d_cur
        if s_next == 0:  # the last step: Euler to sigma = 0 is exactly the denoised estimate x - d
            return moved(state, x_next)
        mid = moved(state, x_next)
        d_next = predict(mid, s_next) / s_next
        # the correction uses x_next unwrapped (wrapping moves atoms by whole lattice vectors only)
        return moved(state, x + (s_next - s_cur) * 0.5 * (d_cur + d_next))

    def pc(t, state, generators):
        s_cur, s_next = float(levels[t]), float(levels[t + 1])
        if s_next == 0:  # final denoising step
            return moved(state, state.positions - predict(state, s_cur))
        var = s_cur ** 2 - s_next ** 2  # reverse VE SDE, Euler-Maruyama
        x = state.positions - var * predict(state, s_cur) / s_cur ** 2 + var ** 0.5 * _noise(state, generators)
        state = moved(state, x)
        for _ in range(solver.n_corrector):  # Langevin corrector at s_next
            score = -predict(state, s_next) / s_next ** 2
            z = _noise(state, generators)
            eps = 2 * (solver.snr ** 2) * _sq_norms(z, state) / _sq_norms(score, state).clamp_min(1e-30)
            eps = _per_structure(eps, state)
            state = moved(state, state.positions + eps * score + torch.sqrt(2 * eps) * z)
        return state

    def ancestral(t, state, generators):
        s_cur, s_next = float(levels[t]), float(levels[t + 1])
        keep = 1.0 - (s_next / s_cur) ** 2  # 1 at the last step: x <- D(x)
        x = state.positions - keep * predict(state, s_cur)
        if s_next > 0:
            x = x + s_next * keep ** 0.5 * _noise(state, generators)
        return moved(state, x)

    told, added = solver.renoise_levels() if solver.kind == "renoise" else (None, None)

    def renoise(t, state, generators):
        x = state.positions - predict(state, float(told[t]))
        if added[t] > 0:
            x = x + float(added[t]) * _noise(state, generators)
        return moved(state, x)

    return {"heun": heun, "pc": pc, "ancestral": ancestral, "renoise": renoise}[solver.kind]


@torch.no_grad()
def run_solver(state: BatchState, predict, solver: Solver, generators, **loop_kw) -> BatchState:
    """Denoise a batch with a noise-conditional predictor(state, sigma) -> (N, 3) Å. One loop step per noise
    level (solver.n_steps); loop_kw as diffusion.sampler.run_steps (callback, every, cancel, start_step,
    checkpoint, checkpoint_every, check_finite_every): a cancelled or checkpointed run resumes exactly."""
    fn = solver_step(solver, predict)
    return run_steps(state, lambda t, st: fn(t, st, generators), solver.n_steps, generators, **loop_kw)
