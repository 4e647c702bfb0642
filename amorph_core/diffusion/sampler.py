"""Batched reverse-diffusion sampler: x <- wrap(x - eps_theta(x) + sigma_t z), all structures at once.

One batched state (positions, cells, species, structure index); a pure step; a loop with progress callbacks
and cancellation. The displacement predictor is passed in, so this module knows nothing about materials.
A predictor with fixed shapes and no host synchronisation (`capturable = True`, see StaticPredictor) lets the
whole step run as one CUDA graph.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace

import torch


class SamplerCancelled(Exception):
    """Raised when the cancel event is set; the state after the last completed step (`step` steps done) and
    the noise generators' states at that point are attached, so that the run can be resumed exactly."""

    def __init__(self, state, step, generator_states=None):
        super().__init__(f"cancelled at step {step}")
        self.state, self.step, self.generator_states = state, step, generator_states


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


class GraphCaptureError(RuntimeError):
    """A step could not be captured as a CUDA graph (the caller may fall back to per-step execution)."""


class StaticPredictor:
    """Interface of a predictor whose step can be captured as a CUDA graph: fixed output shapes, no host
    synchronisation. `ok` is a device bool, cleared when an internal capacity was exceeded (results since
    then are invalid); grow() enlarges the capacities (the next capture uses them)."""

    capturable = True
    ok: torch.Tensor

    def __call__(self, state: BatchState) -> torch.Tensor:
        raise NotImplementedError

    def grow(self) -> None:
        raise NotImplementedError


class StepGraph:
    """One denoising step (predict + update + wrap) on static buffers, replayed as a CUDA graph (capture=True)
    or run eagerly (capture=False, e.g. on a CPU). load(state) copies a state in; advance(sigma, noise) steps
    the buffers in place; state() is a copy of the current state."""

    def __init__(self, state: BatchState, predict, capture: bool):
        self.predict = predict
        self.buf = replace(state, positions=state.positions.clone(), cells=state.cells.clone(),
                           species=state.species.clone(), batch=state.batch.clone(),
                           cond=None if state.cond is None else state.cond.clone(),
                           inv_cells=state.inv_cells.clone())
        self.sigma = torch.zeros((), dtype=state.positions.dtype, device=state.positions.device)
        self.noise = torch.zeros_like(state.positions)
        self.graph = None
        if capture:
            try:
                side = torch.cuda.Stream()
                side.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(side):  # warm-up (kernel selection, compilation) outside the capture
                    for _ in range(2):
                        self._new_positions()
                torch.cuda.current_stream().wait_stream(side)
                self.graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(self.graph):
                    self.buf.positions.copy_(self._new_positions())
            except Exception as exc:
                raise GraphCaptureError(f"{type(exc).__name__}: {exc}") from exc

    def _new_positions(self):
        b = self.buf
        pos = b.positions - self.predict(b) + self.sigma * self.noise  # sigma = 0: exactly the clean step
        return wrap_positions(pos, b.cells, b.batch, b.inv_cells)

    def load(self, state: BatchState) -> None:
        for name in ("positions", "cells", "species", "batch", "cond", "inv_cells"):
            src = getattr(state, name)
            if src is not None:
                getattr(self.buf, name).copy_(src)

    def advance(self, sigma: float, noise) -> None:
        self.sigma.fill_(float(sigma))
        if noise is not None:
            self.noise.copy_(noise)
        if self.graph is not None:
            self.graph.replay()
        else:
            self.buf.positions.copy_(self._new_positions())

    def state(self) -> BatchState:
        return replace(self.buf, positions=self.buf.positions.clone())


def _gen_states(generators):
    return [g.get_state() for g in generators]


def _run_static(state, predict, sigmas, generators, callback, every, cancel, check_finite_every, start_step,
                checkpoint, checkpoint_every):
    """run_sampler for a capturable predictor: every step one graph replay, no host synchronisation but at
    checks (finite positions, the predictor's capacities) every check_finite_every steps, at callbacks and at
    checkpoints. When a capacity was exceeded, the steps since the last check are redone with larger
    capacities."""
    n = len(sigmas)
    t0 = time.perf_counter()
    capture = state.positions.is_cuda
    key = (tuple(state.positions.shape), state.ptr, capture)

    def new_graph(st):  # captured for the predictor's current capacities; kept on it for the next batch
        predict.step_graph = StepGraph(st, predict, capture)
        predict.step_graph.key = key
        return predict.step_graph

    sg = getattr(predict, "step_graph", None)
    if sg is None or sg.key != key:
        sg = new_graph(state)
    sg.load(state)
    predict.ok.fill_(True)
    snap = (start_step, state.positions.clone(), _gen_states(generators))
    t = start_step
    while t < n:
        if cancel is not None and cancel.is_set():
            if not bool(predict.ok):  # the steps since the last check are invalid: hand back that check's state
                t, pos, gstates = snap
                raise SamplerCancelled(replace(sg.state(), positions=pos), t, gstates)
            raise SamplerCancelled(sg.state(), t, _gen_states(generators))
        sigma = float(sigmas[t])
        sg.advance(sigma, _noise(sg.buf, generators) if sigma > 0 else None)
        t += 1
        report = callback is not None and (t % every == 0 or t == n)
        save = checkpoint is not None and checkpoint_every > 0 and t % checkpoint_every == 0 and t < n
        if t % check_finite_every == 0 or t == n or report or save:
            if not bool(predict.ok):  # a capacity was exceeded since the last check: redo those steps
                t, pos, gstates = snap
                for g, st in zip(generators, gstates):
                    g.set_state(st)
                predict.grow()
                sg = new_graph(replace(state, positions=pos.clone()))
                predict.ok.fill_(True)
                continue
            if not torch.isfinite(sg.buf.positions).all():
                raise FloatingPointError(f"non-finite positions at denoising step {t}")
            snap = (t, sg.buf.positions.clone(), _gen_states(generators))
            if report:
                callback(t, n, sg.state(), time.perf_counter() - t0)
            if save:
                checkpoint(t, sg.state(), snap[2])
    return sg.state()


@torch.no_grad()
def run_sampler(state: BatchState, predict, sigmas, generators, callback=None, every: int = 50,
                cancel=None, check_finite_every: int = 50, start_step: int = 0, checkpoint=None,
                checkpoint_every: int = 0) -> BatchState:
    """Denoise a batch over the per-step extra-noise levels sigmas (Å). generators: one torch.Generator per
    structure (its seed), so each structure's noise does not depend on its batch-mates.

    callback(step, n_steps, state, elapsed_s) is called every `every` steps and at the end; cancel is a
    threading.Event-like object checked every step. Raises FloatingPointError on non-finite positions.
    A StaticPredictor runs the whole step as one CUDA graph on a GPU (eagerly elsewhere).
    Resuming: checkpoint(step, state, generator_states) is called every checkpoint_every steps (not at the
    end); a run given that state as `state`, start_step=step and generators set to those states continues
    the same trajectory (SamplerCancelled carries the same three things).
    """
    n = len(sigmas)
    t0 = time.perf_counter()
    if state.inv_cells is None:  # cells are fixed: invert them once, not every step
        state = replace(state, inv_cells=torch.linalg.inv(state.cells))
    if not 0 <= start_step <= n:
        raise ValueError(f"start_step {start_step} outside 0..{n}")
    if getattr(predict, "capturable", False):
        return _run_static(state, predict, sigmas, generators, callback, every, cancel, check_finite_every,
                           start_step, checkpoint, checkpoint_every)

    def paper_step(t, st):
        sigma = float(sigmas[t])
        return step(st, predict, sigma, _noise(st, generators) if sigma > 0 else None)

    return run_steps(state, paper_step, n, generators, callback, every, cancel, check_finite_every, start_step,
                     checkpoint, checkpoint_every, t0)


def run_steps(state: BatchState, step_fn, n: int, generators, callback=None, every: int = 50, cancel=None,
              check_finite_every: int = 50, start_step: int = 0, checkpoint=None, checkpoint_every: int = 0,
              t0: float | None = None) -> BatchState:
    """The sampler loop for any update rule: state <- step_fn(t, state) for t = start_step..n-1, with the
    callbacks, cancellation, finite checks and checkpoints of run_sampler (same meaning). step_fn draws its
    noise from generators (one per structure), whose states are saved with each checkpoint."""
    t0 = time.perf_counter() if t0 is None else t0
    if state.inv_cells is None:
        state = replace(state, inv_cells=torch.linalg.inv(state.cells))
    if not 0 <= start_step <= n:
        raise ValueError(f"start_step {start_step} outside 0..{n}")
    for t in range(start_step, n):
        if cancel is not None and cancel.is_set():
            raise SamplerCancelled(state, t, _gen_states(generators))
        try:
            state = step_fn(t, state)
        except RuntimeError as exc:  # e.g. the neighbour list refusing NaN positions from the previous step
            if "non-finite" in str(exc) or "nan" in str(exc).lower():
                raise FloatingPointError(f"non-finite positions at denoising step {t + 1}") from None
            raise
        save = checkpoint is not None and checkpoint_every > 0 and (t + 1) % checkpoint_every == 0 and t + 1 < n
        if (t + 1) % check_finite_every == 0 or t + 1 == n or save:  # never save non-finite positions
            if not torch.isfinite(state.positions).all():
                raise FloatingPointError(f"non-finite positions at denoising step {t + 1}")
        if callback is not None and ((t + 1) % every == 0 or t + 1 == n):
            callback(t + 1, n, state, time.perf_counter() - t0)
        if save:
            checkpoint(t + 1, state, _gen_states(generators))
    return state
