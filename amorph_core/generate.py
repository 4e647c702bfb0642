"""Generate glasses: "N structures of system X at cooling rate R" = start configurations + model + sampler.

Every structure is written (extxyz) as soon as its batch finishes, with its seed and all parameters in the
file, so a crash or cancel loses nothing finished. Same seed + same device + same model -> same structure.
"""
from __future__ import annotations

import contextlib
import hashlib
import math
import os
import time
import warnings
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from amorph_core import __version__
from amorph_core.diffusion.schedules import SCHEDULES as BASE_SCHEDULES, Schedule, get_schedule, with_window
from amorph_core.errors import AmorphError, AmorphWarning
from amorph_core.systems import get_system
from amorph_core.validation import MAX_RATE_GUIDANCE

os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS (same seed -> same glass)


@dataclass(frozen=True)
class GenerationRequest:
    """What to generate. Lengths in Å, densities in g/cm^3, cooling rate in K/ps.

    Size: n_atoms (box from density and aspect) or box=(Lx, Ly, Lz). Density: from the cooling-rate
    regression unless given. Pores: pore_radius_a (+ wall_density_g_cm3, pore_lattice 'single'|'hexagonal').
    seeds: one structure per seed. schedule: preset name (see SCHEDULES) or number of steps.
    mode: how the model runs (Generator's modes: auto, eager, segment, graph, compile, compile-graph).
    rate_guidance: w >= 0; each step moves by d(rate) + w (d(rate) - d(1 K/ps)), d the model's displacement:
    w > 0 strengthens the cooling rate's effect (guidance, conditional models only; 0 = the paper's sampler).
    tf32: TF32 matrix products on a CUDA GPU (faster; other rounding, so another trajectory for the same seed).
    sampler: 'paper' (the paper's sampler; noise-blind models), 'heun', 'pc' or 'ancestral' (solvers for
    noise-conditional models, diffusion.solvers: schedule is then the number of network evaluations), or 'auto'
    (the model's kind: DEFAULT_SOLVER for a noise-conditional model, else 'paper').
    """

    system: str = "sio2"
    cooling_rate_k_ps: float | None = None
    n_atoms: int | None = None
    box: tuple | None = None
    aspect: tuple = (1.0, 1.0, 1.0)
    density_g_cm3: float | None = None
    pore_radius_a: float | None = None
    wall_density_g_cm3: float | None = None
    pore_lattice: str = "single"
    seeds: tuple = (0,)
    schedule: object = "paper"
    device: str = "auto"
    model: str | None = None
    max_atoms_per_batch: int | None = None
    mode: str = "auto"
    rate_guidance: float = 0.0
    tf32: bool = False
    sampler: str = "auto"


#: presets resolved per system (and cooling rate) by resolve_schedule: the paper's 2,900 + 100 steps with the
#: passage through the system's freezing window (GlassSystem.freeze_window_a) slowed 4x ('window') or matched to
#: the cooling rate ('matched', GlassSystem.matched_quench)
WINDOW_FACTOR = 4.0
MATCHED_FACTOR_RANGE = (0.1, 10.0)


SYSTEM_SCHEDULES = {
    "window": Schedule("window", 2900, 100, description=f"3000 steps like paper, {WINDOW_FACTOR:g}x the steps per Å "
                       "where the network freezes (a-SiO2: 0.1-0.45 Å); fewer defects, same time"),
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
    """The Schedule a request's schedule means for its system and cooling rate (K/ps): 'window' and 'matched'
    depend on them, anything else is diffusion.get_schedule's."""
    if not (isinstance(schedule, str) and schedule in SYSTEM_SCHEDULES):
        return get_schedule(schedule)
    sys_ = get_system(system)
    if sys_.freeze_window_a is None or (schedule == "matched" and (sys_.matched_quench is None or rate_k_ps is None)):
        raise AmorphError(f"schedule '{schedule}' is calibrated for a-SiO2 only (no freezing window measured for "
                          f"{sys_.label}); use 'paper'")
    lo, hi = sys_.freeze_window_a
    if schedule == "window":
        f = WINDOW_FACTOR
    else:
        f1, alpha = sys_.matched_quench
        f = float(np.clip(f1 * float(rate_k_ps) ** -alpha, *MATCHED_FACTOR_RANGE))
    f = float(f"{f:.3g}")  # three significant digits, as recorded in the name
    s = with_window(BASE_SCHEDULES["paper"], lo, hi, f)
    return replace(s, name=f"{schedule}-w{lo:g}-{hi:g}x{f:g}", description=SCHEDULES[schedule].description)


#: the solver and number of network evaluations a noise-conditional model uses unless told otherwise
DEFAULT_SOLVER = "heun"
DEFAULT_EVALS = 200
SAMPLERS = ("auto", "paper", "heun", "pc", "ancestral")


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
            raise AmorphError("this model is told the noise level: use a solver (--sampler heun, pc or ancestral); the "
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
    return Solver(sampler, n)


def sampler_for(req: "GenerationRequest", rate_k_ps: float | None):
    """resolve_sampler for a request, reading only its model's config (no weights): what generate_structures
    will run for it (a Schedule or a Solver, with .name and .n_steps)."""
    from amorph_core.model.checkpoint import DEFAULT_MODELS, read_config

    sys_ = get_system(req.system)
    cfg = read_config(req.model or DEFAULT_MODELS.get(sys_.name))["config"]
    return resolve_sampler(req.schedule, req.sampler, bool(cfg.get("noise_conditional")), sys_.name, rate_k_ps)


#: the cooling rate (K/ps) whose displacement rate guidance extrapolates away from
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


def parse_seeds(text) -> tuple:
    """'0-5' -> (0..5); '1,4,9' -> (1, 4, 9); an int -> (int,)."""
    if isinstance(text, int):
        return (text,)
    if isinstance(text, (list, tuple)):
        return tuple(int(s) for s in text)
    from amorph_core.validation import MAX_SEEDS, seeds as check_seeds

    out = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if part.startswith("-"):  # a negative seed, or a range starting at one
                raise AmorphError(f"seeds must be whole numbers >= 0, got {text!r}")
            if "-" in part:
                a, b = (int(x) for x in part.split("-", 1))
                if b < a or b - a >= MAX_SEEDS:
                    raise AmorphError(f"seed range {part} must run upwards over at most {MAX_SEEDS} seeds")
                out.extend(range(a, b + 1))
            else:
                out.append(int(part))
        except ValueError:
            raise AmorphError(f"seeds must look like '0-5' or '1,4,9', got {text!r}") from None
        if len(out) > MAX_SEEDS:
            raise AmorphError(f"more than {MAX_SEEDS} seeds asked for in {text!r}")
    return check_seeds(out)


def build_starts(req: GenerationRequest, cutoff: float = 5.0) -> list:
    """The starting configurations (one per seed) for a request, after validating it."""
    from amorph_core.structures.density import check_rate, density_from_rate
    from amorph_core.structures.starts import porous_start, uniform_start
    from amorph_core.validation import check_generation_request

    check_generation_request(req)  # numbers, seeds, sizes and memory, before anything is built
    sys_ = get_system(req.system)
    rate = req.cooling_rate_k_ps
    if sys_.conditional:
        if rate is None:
            raise AmorphError(f"{sys_.label} generation needs a cooling rate (K/ps)")
        rate = check_rate(sys_.name, rate)
    elif rate is not None:
        warnings.warn(f"{sys_.label} model is not conditional: cooling rate {rate:g} K/ps is ignored",
                      AmorphWarning, stacklevel=2)
        rate = None
    density = req.density_g_cm3
    if density is None:
        density = density_from_rate(rate, sys_.name) if rate is not None else sys_.default_density_g_cm3
    starts = []
    for seed in req.seeds:
        if req.pore_radius_a is not None:
            lz_over_lx = float(req.aspect[2]) / float(req.aspect[0]) if req.aspect else 1.0
            wall = density if req.wall_density_g_cm3 is None else req.wall_density_g_cm3  # 0 is refused, not replaced
            atoms = porous_start(sys_.name, pore_radius_a=req.pore_radius_a, wall_density_g_cm3=wall,
                                 n_atoms=None if req.box is not None else req.n_atoms, box=req.box,
                                 lz_over_lx=lz_over_lx, lattice=req.pore_lattice, seed=seed)
        else:
            atoms = uniform_start(sys_.name, n_atoms=req.n_atoms, box=req.box,
                                  density_g_cm3=None if (req.box is not None and req.n_atoms is not None) else density,
                                  aspect=req.aspect, seed=seed)
        lengths = atoms.cell.lengths()
        if lengths.min() < 2 * cutoff:
            raise AmorphError(
                f"box {lengths[0]:.1f} x {lengths[1]:.1f} x {lengths[2]:.1f} Å is too small: every length must be "
                f">= {2 * cutoff:g} Å (twice the model cutoff); use more atoms")
        if rate is not None:
            atoms.info["cooling_rate_k_ps"] = float(rate)
        starts.append(atoms)
    return starts


def _file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


#: inference paths of Generator (see Generator.__init__)
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
        self.model_sha = _file_sha(resolve_model_dir(name) / "model.pt")
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
    def for_request(cls, req: "GenerationRequest") -> "Generator":
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

    def batch_state(self, atoms_list):
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
            cond = torch.tensor([math.log10(a.info["cooling_rate_k_ps"]) for a in atoms_list],
                                dtype=torch.float32, device=dev)
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


def _plan_batches(starts, device, max_atoms):
    if max_atoms is None:
        max_atoms = 200_000 if device.startswith("cuda") else 1
    batches, cur, n = [], [], 0
    for i, a in enumerate(starts):
        if cur and n + len(a) > max_atoms:
            batches.append(cur)
            cur, n = [], 0
        cur.append(i)
        n += len(a)
    if cur:
        batches.append(cur)
    return batches


def _to_atoms(start, positions):
    a = start.copy()
    a.positions = positions
    a.wrap()
    return a


#: where generate_structures keeps unfinished trajectories (under the output directory)
PARTIAL_DIR = ".partial"


def _partial_key(req: GenerationRequest, gen: Generator, schedule, seeds) -> tuple:
    """(key, identity): what must match for a saved trajectory to be continued; the key names its files."""
    import json

    ident = {k: v for k, v in request_dict(req).items() if k not in ("seeds", "device", "mode", "max_atoms_per_batch",
                                                                      "model")}
    ident.update(seeds=list(seeds), model_sha256_16=gen.model_sha, schedule=schedule.name, n_steps=schedule.n_steps,
                 device_type=gen.device.split(":")[0], amorph_version=__version__)
    text = json.dumps(ident, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16], json.loads(text)


def _save_partial(stem: Path, ident, step, state, gen_states, elapsed_s) -> None:
    """positions (Å), noise-generator states, step and elapsed seconds as tensors (.pt, no pickled objects), and
    the identity (+ step, for people) as JSON; each file written atomically. The .pt alone says where the run
    is, so a crash between the two writes cannot pair positions with another step."""
    import io
    import json

    import torch

    from amorph_core.fileio import atomic_write

    tensors = {"positions": state.positions.detach().cpu(), "step": torch.tensor(int(step)),
               "elapsed_s": torch.tensor(float(elapsed_s), dtype=torch.float64),
               **{f"gen{k}": g.cpu() for k, g in enumerate(gen_states)}}
    buf = io.BytesIO()
    torch.save(tensors, buf)
    atomic_write(stem.with_suffix(".pt"), buf.getvalue())
    atomic_write(stem.with_suffix(".json"), json.dumps({**ident, "step": int(step)}, indent=1))


def _load_partial(stem: Path, ident, state, n_gens):
    """(step, positions, generator states, elapsed_s) of a saved trajectory matching ident, or None."""
    import json

    import torch

    js, pt = stem.with_suffix(".json"), stem.with_suffix(".pt")
    if not (js.exists() and pt.exists()):
        return None
    try:
        meta = json.loads(js.read_text())
        tensors = torch.load(pt, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise AmorphError(f"unfinished trajectory {pt} cannot be read ({type(exc).__name__}: "
                          f"{str(exc).splitlines()[0][:120]}); delete {stem}.* to start again") from None
    if {k: meta.get(k) for k in ident} != ident:
        return None
    pos = tensors.get("positions")
    gens = [tensors.get(f"gen{k}") for k in range(n_gens)]
    if pos is None or tuple(pos.shape) != tuple(state.positions.shape) or any(g is None for g in gens) \
            or "step" not in tensors or "elapsed_s" not in tensors:
        raise AmorphError(f"unfinished trajectory {pt} does not fit this request; delete {stem}.* to start again")
    return (int(tensors["step"]), pos.to(state.positions.device, state.positions.dtype), gens,
            float(tensors["elapsed_s"]))


def output_path(out_dir, system: str, atoms, seed: int) -> Path:
    """Where generate_structures writes the structure of one seed (atoms: its start, with cooling_rate_k_ps)."""
    rate = atoms.info.get("cooling_rate_k_ps")
    tag = f"_{rate:g}Kps" if rate is not None else ""
    return Path(out_dir) / f"{system}{tag}_{len(atoms)}at_seed{seed}.extxyz"


def _finished(path: Path, atoms, seed: int, gen: Generator, schedule, req: GenerationRequest) -> bool:
    """Whether path holds this seed's finished structure of the same request, model and schedule (start:
    atoms), so that a resumed run need not make it again."""
    from amorph_core.structures.io import read_structure

    if not path.exists():
        return False
    try:
        done = read_structure(path)
    except Exception:  # unreadable (not ours): made again
        return False
    info, rate = done.info, atoms.info.get("cooling_rate_k_ps")
    return (int(info.get("seed", -1)) == seed and info.get("model_sha256_16") == gen.model_sha
            and info.get("schedule") == schedule.name and int(info.get("n_steps", -1)) == schedule.n_steps
            and (rate is None or abs(float(info.get("cooling_rate_k_ps", -1.0)) - rate) <= 1e-9 * rate)
            and len(done) == len(atoms) and np.allclose(done.cell.array, atoms.cell.array, atol=1e-6)
            and float(info.get("rate_guidance", 0.0)) == float(req.rate_guidance)
            and bool(info.get("tf32", False)) == (gen.tf32 and gen.device.startswith("cuda")))


def generate_structures(req: GenerationRequest, out_dir, progress=None, cancel=None, entropy_every: int = 0,
                        generator: Generator | None = None, checkpoint_every: int = 0, resume: bool = True) -> list:
    """Denoise one structure per seed and write each as extxyz into out_dir as soon as it is done.

    progress(event: dict) receives {"kind": "progress", "index", "seed", "step", "n_steps", "entropy_nats",
    "elapsed_s"} every entropy_every (or 50) steps, {"kind": "done", "index", "seed", "path"} per structure,
    {"kind": "resumed", "seeds", "step"} per batch continued from a saved trajectory and {"kind": "cancelled",
    "step"} on cancel. Returns the paths written (those finished before a cancel).
    checkpoint_every > 0: each batch's unfinished trajectory is saved under out_dir/.partial every that many
    steps and on cancel; with resume, a later call with the same request, model, schedule and device type
    continues it from there (on a CPU exactly the same trajectory), and batches whose structures are already in
    out_dir (same seed, model, schedule; reported as "done" events with "existing": True) are not made again.
    Finished batches delete their saved trajectory.
    Raises AmorphError for invalid requests or non-finite model output (finished files are kept).
    """
    from amorph_core.diffusion import SamplerCancelled
    from amorph_core.structures.io import write_structure
    from amorph_core.validation import output_dir

    sys_ = get_system(req.system)
    output_dir(out_dir, "output folder")  # before the model loads
    gen = generator or Generator.for_request(req)
    gen.check_guidance(req.rate_guidance)
    starts = build_starts(req, gen.cfg.cutoff)
    schedule = resolve_sampler(req.schedule, req.sampler, gen.noise_conditional, sys_.name,
                               starts[0].info.get("cooling_rate_k_ps"))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    progress = progress or (lambda ev: None)
    every = entropy_every if entropy_every and entropy_every > 0 else 50
    paths = []
    for batch in _plan_batches(starts, gen.device, req.max_atoms_per_batch):
        group = [starts[i] for i in batch]
        seeds = [int(a.info["seed"]) for a in group]
        targets = [output_path(out_dir, sys_.name, a, sd) for a, sd in zip(group, seeds)]
        if resume and checkpoint_every > 0 and all(_finished(t, a, sd, gen, schedule, req)
                                                    for t, a, sd in zip(targets, group, seeds)):
            for i, sd, t in zip(batch, seeds, targets):
                paths.append(t)
                progress({"kind": "done", "index": i, "seed": sd, "path": str(t), "existing": True})
            continue
        state = gen.batch_state(group)
        gens = gen.generators(seeds)
        key, ident = _partial_key(req, gen, schedule, seeds)
        stem = out_dir / PARTIAL_DIR / f"{sys_.name}_{len(group)}x{len(group[0])}at_seed{seeds[0]}_{key}"
        start_step, before_s = 0, 0.0
        loaded = _load_partial(stem, ident, state, len(gens)) if (resume and checkpoint_every > 0) else None
        if loaded is not None:
            start_step, pos0, gstates, before_s = loaded
            state = replace(state, positions=pos0)
            for g, st in zip(gens, gstates):
                g.set_state(st)
            progress({"kind": "resumed", "seeds": seeds, "step": start_step, "n_steps": schedule.n_steps})
        predict = gen.predictor(state, req.rate_guidance)
        t0 = time.perf_counter()

        def save(step, st, gstates, _stem=stem, _ident=ident, _t0=t0, _before=before_s):
            _save_partial(_stem, _ident, step, st, gstates, _before + time.perf_counter() - _t0)

        def callback(step, n_steps, st, elapsed, _group=group, _batch=batch):
            ent = [None] * len(_group)
            if entropy_every and entropy_every > 0:
                from amorph_core.analysis.entropy import information_entropy

                pos = st.positions.detach().cpu().numpy()
                for k, a in enumerate(_group):
                    ent[k] = information_entropy(_to_atoms(a, pos[st.ptr[k]:st.ptr[k + 1]]))
            for k, i in enumerate(_batch):
                progress({"kind": "progress", "index": i, "seed": seeds[k], "step": step, "n_steps": n_steps,
                          "entropy_nats": ent[k], "elapsed_s": elapsed})

        resume_kw = dict(start_step=start_step, checkpoint=save if checkpoint_every > 0 else None,
                         checkpoint_every=int(checkpoint_every))
        try:
            with gen.sampling():
                state = _denoise(gen, state, predict, schedule, gens, req, callback=callback, every=every,
                                 cancel=cancel, **resume_kw)
        except SamplerCancelled as exc:
            if checkpoint_every > 0 and exc.step > start_step:
                save(exc.step, exc.state, exc.generator_states)
            progress({"kind": "cancelled", "step": exc.step})
            return paths
        except FloatingPointError as exc:
            raise AmorphError(f"the model produced non-finite positions ({exc}); {len(paths)} finished "
                              f"structure(s) kept in {out_dir}") from None
        elapsed = before_s + time.perf_counter() - t0
        pos = state.positions.detach().cpu().numpy()
        for k, i in enumerate(batch):
            a = _to_atoms(group[k], pos[state.ptr[k]:state.ptr[k + 1]])
            a.info.update({
                "model": gen.model_name, "model_sha256_16": gen.model_sha, "schedule": schedule.name,
                "n_steps": schedule.n_steps, "network_evals": getattr(schedule, "evals_used", schedule.n_steps),
                "sampler": getattr(schedule, "kind", "paper"), "device": gen.device, "amorph_version": __version__,
                # on a CPU the sums' order, so the glass, depends on the thread count: recorded with the seed
                **({"torch_threads": gen.torch.get_num_threads()} if gen.device == "cpu" else {}),
                "generation_time_s": round(elapsed / len(batch), 3),
                "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            })
            if req.density_g_cm3 is not None:
                a.info["requested_density_g_cm3"] = float(req.density_g_cm3)
            if gen.tf32 and gen.device.startswith("cuda"):
                a.info["tf32"] = True
            if start_step:
                a.info["resumed_from_step"] = start_step
            if req.rate_guidance:
                a.info["rate_guidance"] = float(req.rate_guidance)
                a.info["rate_guidance_pivot_k_ps"] = GUIDANCE_PIVOT_K_PS
            path = targets[k]
            write_structure(a, path, "extxyz")  # atomic: never half a file under the final name
            paths.append(path)
            progress({"kind": "done", "index": i, "seed": seeds[k], "path": str(path)})
        for suffix in (".pt", ".json"):
            stem.with_suffix(suffix).unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # only if no other batch's trajectory is kept there
            stem.parent.rmdir()
    return paths


def _denoise(gen: Generator, state, predict, schedule, gens, req: GenerationRequest, **loop_kw):
    """Run the request's sampler (a Schedule: the paper's; a Solver: diffusion.solvers) on one batch."""
    from amorph_core.diffusion import GraphCaptureError, run_sampler
    from amorph_core.diffusion.solvers import Solver, run_solver

    if isinstance(schedule, Solver):
        return run_solver(state, predict, schedule, gens, **loop_kw)
    try:
        return run_sampler(state, predict, schedule.sigmas(), gens, **loop_kw)
    except GraphCaptureError as exc:  # nothing stepped yet: the per-step path instead
        warnings.warn(f"whole-step CUDA graph failed ({exc}); running step by step", AmorphWarning, stacklevel=3)
        gen.whole_step = False
        return run_sampler(state, gen.predictor(None, req.rate_guidance), schedule.sigmas(), gens, **loop_kw)


def request_dict(req: GenerationRequest) -> dict:
    d = asdict(req)
    d["schedule"] = str(d["schedule"]) if not isinstance(d["schedule"], (str, int)) else d["schedule"]
    return d
