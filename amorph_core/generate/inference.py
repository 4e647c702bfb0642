"""The model at work: Generator loads a checkpoint onto a device and predicts displacements for batches of
structures, eagerly, padded, compiled or replayed as CUDA graphs (every mode gives the same structure for the
same seed on the same device)."""
from __future__ import annotations

import contextlib
import hashlib
import math
import os
import warnings
from pathlib import Path

import numpy as np

from amorph_core.errors import AmorphError, AmorphWarning
from amorph_core.systems import get_system
from amorph_core.validation import MAX_RATE_GUIDANCE

os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS (same seed -> same glass)

GUIDANCE_PIVOT_K_PS = 1.0


def resolve_device(device: str = "auto") -> str:
    import torch

    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise AmorphError("device 'cuda' requested but no CUDA GPU is available (use --device cpu)")
    if device not in ("cpu",) and not device.startswith("cuda"):
        raise AmorphError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    return device


def file_sha16(path: Path) -> str:
    """The first 16 hex digits of a file's SHA-256 (how structures name the model file they came from)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]




MODES = ("auto", "eager", "segment", "graph", "compile", "compile-graph")


class _CudaGraphForward:
    """Replays fn(*args) as one CUDA graph per input-shape key (captured on first use of a shape; all graphs
    share one memory pool and are replayed one at a time). Inputs are copied into static buffers; the output
    is cloned out of the graph's buffer."""

    def __init__(self, fn, dynamic_args=()):
        import torch

        self.torch, self.fn, self.graphs, self.pool = torch, fn, {}, None
        self.dynamic_args = tuple(dynamic_args)  # args whose dim 0 a compiled fn should treat as dynamic

    @staticmethod
    def _key(args):
        return tuple(None if a is None else (tuple(a.shape), a.dtype) for a in args)

    def _capture(self, args):
        torch = self.torch
        static = [None if a is None else a.clone() for a in args]
        for k in self.dynamic_args:
            torch._dynamo.maybe_mark_dynamic(static[k], 0)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # warm-up (and compilation, for a compiled fn) outside the capture
            for _ in range(2):
                self.fn(*static)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, pool=self.pool):
            out = self.fn(*static)
        if self.pool is None:
            self.pool = graph.pool()
        return static, graph, out

    def __call__(self, *args):
        key = self._key(args)
        entry = self.graphs.get(key)
        if entry is None:
            entry = self.graphs[key] = self._capture(args)
        static, graph, out = entry
        for buf, a in zip(static, args):
            if buf is not None and a is not buf:
                buf.copy_(a)
        graph.replay()
        return out.clone()


class Generator:
    """A loaded model ready to denoise batches of structures on one device."""

    def __init__(self, system="sio2", model=None, device="auto", compile: bool = False,
                 deterministic: bool = True, mode: str | None = None, bucket_granularity: float = 0.04,
                 neighbors: str = "auto", whole_step="auto", tf32: bool = False):
        """mode: how the model runs (each gives the same structure for the same seed on the same device):
          'auto'    (default): 'graph' on CUDA, 'eager' on a CPU;
          'eager':   the model as is, neighbour sum by index_add (deterministic kernels on CUDA);
          'segment': eager, neighbour sum as a per-atom sequential sum over the dst-sorted edges (no sort or
                     atomics on the device; differs from 'eager' in the last bits);
          'graph':   'segment' with the edge list padded to a bucket size (dummy edges beyond the cutoff give
                     exactly zero messages), replayed as one CUDA graph per bucket (CUDA; on a CPU it runs
                     the padded model eagerly);
          'compile': 'segment' + padding under torch.compile (edge dimension dynamic: one compilation);
          'compile-graph': 'compile' replayed as one CUDA graph per bucket (CUDA).
        compile=True is the old spelling of mode='compile'. Compilation or capture failures fall back to the
        eager model with a warning. deterministic: deterministic CUDA kernels (index_add) so the same seed
        gives the same structure (neighbour lists are put in a fixed order in any case).
        bucket_granularity: padded edge counts lie on a grid spaced about this fraction of the edge count.
        neighbors: neighbour-list method of model.graph.periodic_graph ('auto': all pairs by minimum image on
        CUDA where it applies, vesin's cell list otherwise; 'vesin'; 'dense'): the same edges either way.
        whole_step: 'auto' (default): in the 'compile-graph' mode on CUDA (where it measured faster; 0.96x in
        'graph'), when every structure of a batch takes the dense list, the whole denoising step (list in fixed-capacity buffers + model + update)
        is one CUDA graph, with no host synchronisation per step (model.graph.dense_graph_static; the same
        edges with other padding: the same structure as the per-step path on a CPU and an H100, measured, though
        not guaranteed by construction); True: that path wherever the dense list applies (eagerly off CUDA);
        False: never.
        tf32: TF32 tensor-core matrix products while sampling on CUDA (about 1.05x faster on an H100; another
        rounding, so another trajectory for the same seed, still reproducible; no effect on a CPU)."""
        import torch

        from amorph_core.model.checkpoint import DEFAULT_MODELS, load_model, resolve_model_dir

        self.system = get_system(system)
        self.device = resolve_device(device)
        name = model or DEFAULT_MODELS.get(self.system.name)
        self.model, self.doc = load_model(name, self.device, system=self.system.name)
        self.model_name = str(name)
        self.model_sha = file_sha16(resolve_model_dir(name) / "model.pt")
        self.cfg = self.model.cfg
        self.torch = torch
        self.deterministic = deterministic
        mode = mode or ("compile" if compile else "auto")
        if mode not in MODES:
            raise AmorphError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if mode == "auto":  # the fastest path that needs no compiler: CUDA graphs on a GPU, eager on a CPU
            mode = "graph" if self.device.startswith("cuda") else "eager"
        self.mode = mode
        self.bucket_granularity = float(bucket_granularity)
        from amorph_core.model.graph import NEIGHBOR_METHODS

        if neighbors not in NEIGHBOR_METHODS:
            raise AmorphError(f"neighbors must be one of {', '.join(NEIGHBOR_METHODS)}, got {neighbors!r}")
        self.neighbors = neighbors
        if whole_step not in ("auto", True, False):
            raise AmorphError(f"whole_step must be 'auto', True or False, got {whole_step!r}")
        self.whole_step = whole_step
        self.tf32 = bool(tf32)
        self._static = {}  # (ptr, capacities) -> _DensePredictor (keeps its captured step graph)
        self.padded = mode in ("graph", "compile", "compile-graph")
        self.forward = self.model
        if mode in ("compile", "compile-graph"):
            try:
                # shapes are static but for the (padded) edge count, marked dynamic in _call: one compilation
                self.forward = torch.compile(self.model)
            except Exception as exc:  # compilation unavailable: stay eager
                warnings.warn(f"torch.compile unavailable ({exc}); running eager", AmorphWarning, stacklevel=2)
        self._step_fn = self.forward  # what a whole-step graph calls (itself captured: no nested graph)
        if mode in ("graph", "compile-graph") and self.device.startswith("cuda"):
            self.forward = _CudaGraphForward(self.forward, dynamic_args=(1, 2, 3) if mode == "compile-graph" else ())

    @classmethod
    def for_request(cls, req) -> "Generator":
        """The generator a request runs on (its system, model, device, mode and TF32)."""
        return cls(req.system, req.model, req.device, mode=req.mode, tf32=req.tf32)

    def _call(self, *args):
        torch = self.torch
        if self.mode in ("compile", "compile-graph"):
            for t in args[1:4]:  # src, dst, vec: the edge dimension varies; one compiled graph for all sizes
                torch._dynamo.maybe_mark_dynamic(t, 0)
        try:
            return self.forward(*args)
        except Exception as exc:
            if self.forward is self.model:
                raise
            warnings.warn(f"{self.mode} model failed ({type(exc).__name__}: {exc}); falling back to eager",
                          AmorphWarning, stacklevel=3)
            self.forward = self.model
            return self.model(*args)

    def uses_whole_step(self, state) -> bool:
        """Whether predictor(state) runs the whole step as one graph (see whole_step in __init__)."""
        from amorph_core.model.graph import resolve_methods

        if self.whole_step is False or self.neighbors == "vesin" or self.noise_conditional:
            return False
        if self.whole_step == "auto" and not (self.device.startswith("cuda") and self.mode == "compile-graph"):
            return False
        methods = resolve_methods(state.positions, state.cells, state.ptr, self.cfg.cutoff,
                                  "dense" if self.whole_step is True else self.neighbors)
        return all(m == "dense" for m in methods)

    def check_guidance(self, w: float) -> float:
        """w as a float, or AmorphError: finite, 0..MAX_RATE_GUIDANCE, and only for a conditional model."""
        try:
            w = float(w)
        except (TypeError, ValueError):
            raise AmorphError(f"rate guidance must be a number, got {w!r}") from None
        if not (math.isfinite(w) and 0.0 <= w <= MAX_RATE_GUIDANCE):
            raise AmorphError(f"rate guidance must be between 0 and {MAX_RATE_GUIDANCE:g}, got {w}")
        if w and not self.cfg.conditional:
            raise AmorphError(f"rate guidance needs a cooling-rate-conditional model; '{self.model_name}' is not")
        return w

    def _guided(self, fn, args, w):
        """fn(*args) with the cooling-rate input (args[5]), extrapolated by rate guidance w."""
        d = fn(*args)
        if not w:
            return d
        pivot = self.torch.full_like(args[5], math.log10(GUIDANCE_PIVOT_K_PS))
        d0 = fn(*args[:5], pivot, *args[6:])
        return d + w * (d - d0)

    @property
    def noise_conditional(self) -> bool:
        """Whether the model is told the noise level (it then needs a solver, diffusion.solvers)."""
        return bool(self.cfg.noise_conditional)

    def _sigma_arg(self, state, sigma):
        """The model's sigma input, (B,) Å, for a noise-conditional model (None for a noise-blind one)."""
        if not self.noise_conditional:
            return None
        if sigma is None:
            raise AmorphError(f"model '{self.model_name}' is noise-conditional: it needs a solver (heun, pc), "
                              "not the paper's sampler")
        return self.torch.full((state.n_structures,), float(sigma), dtype=state.positions.dtype,
                               device=state.positions.device)

    def predictor(self, state=None, guidance: float = 0.0):
        """predict(state[, sigma]) -> (N, 3) displacement (Å): neighbour list + model, in this generator's mode,
        with rate guidance w (GenerationRequest.rate_guidance); sigma (Å): the noise level, for a noise-conditional
        model. Given the batch's start state, a capturable whole-step predictor where that applies
        (uses_whole_step: the paper's sampler with a noise-blind model)."""
        from amorph_core.model.graph import bucket_size, edge_ptr, pad_edges, periodic_graph, resolve_methods

        w = self.check_guidance(guidance)
        if state is not None and self.uses_whole_step(state):
            return self._static_predictor(state, w)
        cutoff = self.cfg.cutoff
        resolved = [None, None]  # (cells tensor, its methods): cells are fixed during a run, read them once

        def predict(state, sigma=None):
            if resolved[0] is not state.cells:
                resolved[:] = [state.cells, resolve_methods(state.positions, state.cells, state.ptr, cutoff,
                                                            self.neighbors)]
            src, dst, vec = periodic_graph(state.positions, state.cells, state.ptr, cutoff, method=resolved[1])
            noise = self._sigma_arg(state, sigma)
            if self.mode == "eager":
                return self._guided(self._call, (state.species, src, dst, vec, state.batch, state.cond, None, noise), w)
            n = state.positions.shape[0]
            ptr = edge_ptr(dst, n)
            if self.padded:
                cap = bucket_size(src.shape[0], self.bucket_granularity)
                src, dst, vec = pad_edges(src, dst, vec, cap, cutoff, n)
            return self._guided(self._call, (state.species, src, dst, vec, state.batch, state.cond, ptr, noise), w)

        return predict

    def _static_predictor(self, state, w=0.0):
        from amorph_core.model.graph import dense_edge_counts, static_capacity

        counts = dense_edge_counts(state.positions, state.cells, state.ptr, self.cfg.cutoff)
        caps = tuple(static_capacity(c) for c in counts)
        key = (state.ptr, caps, w)
        if key not in self._static:
            self._static[key] = _DensePredictor(self, caps, key, w)
        return self._static[key]

    @contextlib.contextmanager
    def sampling(self):
        """Context for running the sampler: deterministic kernels as configured (warn-only), without the
        deterministic mode's NaN-filling of every new uninitialised tensor (a debugging aid that costs a
        kernel per allocation and changes no result)."""
        import torch.utils.deterministic as tud

        torch = self.torch
        prev_det, prev_fill = torch.are_deterministic_algorithms_enabled(), tud.fill_uninitialized_memory
        prev_warn = torch.is_deterministic_algorithms_warn_only_enabled()
        prev_tf32 = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
        torch.use_deterministic_algorithms(self.deterministic, warn_only=True)
        tud.fill_uninitialized_memory = False
        if self.device.startswith("cuda"):
            torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = self.tf32
        try:
            yield self
        finally:
            torch.use_deterministic_algorithms(prev_det, warn_only=prev_warn)
            tud.fill_uninitialized_memory = prev_fill
            torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = prev_tf32

    def batch_state(self, atoms_list, rate_k_ps: float | None = None):
        """The sampler's state for a batch of structures; a conditional model is conditioned on rate_k_ps (K/ps),
        or, where that is None, on each structure's own cooling_rate_k_ps (a glass read from a file)."""
        from amorph_core.diffusion.sampler import BatchState

        torch, dev = self.torch, self.device
        index = {el: i for i, el in enumerate(self.cfg.elements)}
        sym = [s for a in atoms_list for s in a.get_chemical_symbols()]
        unknown = sorted(set(sym) - set(index))
        if unknown:
            raise AmorphError(f"model '{self.model_name}' does not know element(s) {', '.join(unknown)}")
        ptr = tuple(int(x) for x in np.cumsum([0] + [len(a) for a in atoms_list]))
        cond = None
        if self.cfg.conditional:
            rates = [rate_k_ps if rate_k_ps is not None else a.info.get("cooling_rate_k_ps") for a in atoms_list]
            if any(r is None for r in rates):
                raise AmorphError(f"model '{self.model_name}' is conditioned on a cooling rate: give one")
            cond = torch.tensor([math.log10(r) for r in rates], dtype=torch.float32, device=dev)
        return BatchState(
            positions=torch.tensor(np.concatenate([a.positions for a in atoms_list]), dtype=torch.float32,
                                   device=dev),
            cells=torch.tensor(np.stack([a.cell.array for a in atoms_list]), dtype=torch.float32, device=dev),
            species=torch.tensor([index[s] for s in sym], dtype=torch.long, device=dev),
            batch=torch.repeat_interleave(torch.arange(len(atoms_list), device=dev),
                                          torch.tensor([len(a) for a in atoms_list], device=dev)),
            ptr=ptr, cond=cond)

    def generators(self, seeds):
        gens = []
        for s in seeds:
            g = self.torch.Generator(device=self.device)
            g.manual_seed(int(s) + 7919)  # offset: noise stream differs from the start's numpy stream
            gens.append(g)
        return gens


class _DensePredictor:
    """A capturable predictor (diffusion.sampler.StaticPredictor): the dense list into fixed capacities plus
    the padded model; `ok` turns False on the device when a structure's edges outgrow its capacity."""

    capturable = True

    def __init__(self, gen: Generator, capacities, key=None, guidance: float = 0.0):
        self.gen, self.key, self.w = gen, key, guidance
        self.caps = capacities
        self.ok = gen.torch.ones((), dtype=gen.torch.bool, device=gen.device)

    @property
    def caps(self) -> tuple:
        """Each structure's edge capacity (set outside a capture: the device copy is made here)."""
        return self._caps

    @caps.setter
    def caps(self, capacities):
        self._caps = tuple(int(c) for c in capacities)
        self._caps_t = self.gen.torch.tensor(self._caps, device=self.gen.device)

    def __call__(self, state):
        from amorph_core.model.graph import dense_graph_static

        gen = self.gen
        src, dst, vec, eptr, counts = dense_graph_static(state.positions, state.cells, state.ptr, gen.cfg.cutoff,
                                                         self.caps)
        self.ok.logical_and_((counts <= self._caps_t).all())
        if gen.mode in ("compile", "compile-graph"):
            for t in (src, dst, vec):  # one compilation for every capacity
                gen.torch._dynamo.maybe_mark_dynamic(t, 0)
        return gen._guided(gen._step_fn, (state.species, src, dst, vec, state.batch, state.cond, eptr), self.w)

    def grow(self):
        from amorph_core.model.graph import bucket_size

        self.caps = tuple(bucket_size(int(c * 1.25)) for c in self.caps)
        self.gen._static.pop(self.key, None)  # a later batch with this start gets the original capacities

