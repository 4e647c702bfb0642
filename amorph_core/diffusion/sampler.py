"""Batched reverse-diffusion sampler: x <- wrap(x - eps_theta(x) + sigma_t z), all structures at once.

One batched state (positions, cells, species, structure index); a pure step; a loop with progress callbacks
and cancellation. The displacement predictor is passed in, so this module knows nothing about materials.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace

import torch


class SamplerCancelled(Exception):
    """Raised when the cancel event is set; the state at the last completed step is attached."""

    def __init__(self, state, step):
        super().__init__(f"cancelled at step {step}")
        self.state, self.step = state, step


@dataclass(frozen=True)
class BatchState:
    """positions (N,3) Å, cells (B,3,3) Å (rows = lattice vectors), species (N,) element indices,
    batch (N,) structure index, ptr (B+1 python ints), cond (B,) e.g. log10 cooling rate, or None;
    inv_cells (B,3,3): inverse cells, cached by run_sampler (None: computed when needed)."""

    positions: torch.Tensor
    cells: torch.Tensor
    species: torch.Tensor
    batch: torch.Tensor
    ptr: tuple
    cond: torch.Tensor | None = None
    inv_cells: torch.Tensor | None = None

    @property
    def n_structures(self) -> int:
        return len(self.ptr) - 1


def wrap_positions(positions, cells, batch, inv_cells=None):
    """Wrap Cartesian positions (Å) into their periodic cells. inv_cells: torch.linalg.inv(cells) if known
    (saves a host synchronisation: linalg.inv checks for singular matrices on the host)."""
    inv = (torch.linalg.inv(cells) if inv_cells is None else inv_cells)[batch]
    frac = torch.einsum("ni,nij->nj", positions, inv)
    frac = frac - torch.floor(frac)
    return torch.einsum("ni,nij->nj", frac, cells[batch])


def step(state: BatchState, predict, sigma: float, noise: torch.Tensor | None) -> BatchState:
    """One denoising step; predict(state) -> (N,3) displacement (Å); noise (N,3) standard normal or None."""
    disp = predict(state)
    pos = state.positions - disp
    if sigma > 0 and noise is not None:
        pos = pos + sigma * noise
    return replace(state, positions=wrap_positions(pos, state.cells, state.batch, state.inv_cells))


def _noise(state, generators):
    if len(generators) == 1:
        return torch.randn((state.ptr[1] - state.ptr[0], 3), generator=generators[0],
                           device=state.positions.device, dtype=state.positions.dtype)
    parts = []
    for b, g in enumerate(generators):
        n = state.ptr[b + 1] - state.ptr[b]
        parts.append(torch.randn((n, 3), generator=g, device=state.positions.device,
                                 dtype=state.positions.dtype))
    return torch.cat(parts)


@torch.no_grad()
def run_sampler(state: BatchState, predict, sigmas, generators, callback=None, every: int = 50,
                cancel=None, check_finite_every: int = 50) -> BatchState:
    """Denoise a batch over the per-step extra-noise levels sigmas (Å). generators: one torch.Generator per
    structure (its seed), so each structure's noise does not depend on its batch-mates.

    callback(step, n_steps, state, elapsed_s) is called every `every` steps and at the end; cancel is a
    threading.Event-like object checked every step. Raises FloatingPointError on non-finite positions.
    """
    n = len(sigmas)
    t0 = time.perf_counter()
    if state.inv_cells is None:  # cells are fixed: invert them once, not every step
        state = replace(state, inv_cells=torch.linalg.inv(state.cells))
    for t, sigma in enumerate(sigmas):
        if cancel is not None and cancel.is_set():
            raise SamplerCancelled(state, t)
        noise = _noise(state, generators) if sigma > 0 else None
        try:
            state = step(state, predict, float(sigma), noise)
        except RuntimeError as exc:  # e.g. the neighbour list refusing NaN positions from the previous step
            if "non-finite" in str(exc) or "nan" in str(exc).lower():
                raise FloatingPointError(f"non-finite positions at denoising step {t + 1}") from None
            raise
        if (t + 1) % check_finite_every == 0 or t + 1 == n:
            if not torch.isfinite(state.positions).all():
                raise FloatingPointError(f"non-finite positions at denoising step {t + 1}")
        if callback is not None and ((t + 1) % every == 0 or t + 1 == n):
            callback(t + 1, n, state, time.perf_counter() - t0)
    return state
