"""Spread generation over several processes (one per GPU) and hosts, and sweeps from a spec file.

The work of one or more GenerationRequests is planned once, globally and deterministically: each request's
structures are grouped into batches exactly as one process would group them (generate.plan_batches), and
whole batches are then dealt to the ranks. A batch therefore has the same members whatever the number of
processes, and each seed has its own noise stream, so the files are the same for 1, 2 or 64 processes (on GPUs
of one model; on a CPU with the same number of threads per process). Every rank writes the same per-structure
files into the same folder as `amorph generate` does on one device, and resume (finished files, trajectories
under .partial) works across runs with another number of processes.

Ranks come from the launcher's environment, RANK / WORLD_SIZE / LOCAL_RANK (torchrun, also across hosts with its
rendezvous; scripts/slurm_generate.sh maps SLURM_PROCID / SLURM_NTASKS / SLURM_LOCALID onto them). The ranks
never talk to each other: each one works out the same plan and does its share, so nothing beyond the launcher
is needed. Without a launcher, run_requests(procs=N) starts N local processes itself through torch's elastic
launcher (torch.distributed.launcher, what torchrun runs), one per GPU.
"""
from __future__ import annotations

import itertools
import json
import os
import signal
import sys
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from amorph_core.errors import AmorphError
from amorph_core.generate import GenerationRequest, RunOptions

#: the plan of a sweep, written into its output folder (by rank 0)
PLAN_FILE = "sweep.json"


@dataclass(frozen=True)
class Rank:
    """This process's place among the processes sharing a sweep; local: its index on its host (its GPU)."""

    rank: int = 0
    world: int = 1
    local: int = 0
    launched: bool = False  # started by a launcher (RANK and WORLD_SIZE set), even as its only process


def rank_from_env(env=None) -> Rank:
    """The Rank given by a launcher's RANK, WORLD_SIZE and LOCAL_RANK (torchrun, or a SLURM script mapping
    SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID onto them); Rank() when they are not set."""
    env = os.environ if env is None else env
    if "RANK" not in env or "WORLD_SIZE" not in env:
        return Rank()
    try:
        rank, world, local = int(env["RANK"]), int(env["WORLD_SIZE"]), int(env.get("LOCAL_RANK", 0))
    except ValueError:
        raise AmorphError(f"RANK, WORLD_SIZE and LOCAL_RANK must be whole numbers, got {env.get('RANK')!r}, "
                          f"{env.get('WORLD_SIZE')!r}, {env.get('LOCAL_RANK')!r}") from None
    if not (world >= 1 and 0 <= rank < world and local >= 0):
        raise AmorphError(f"need 0 <= RANK < WORLD_SIZE and LOCAL_RANK >= 0, got RANK={rank}, WORLD_SIZE={world}, "
                          f"LOCAL_RANK={local}")
    return Rank(rank, world, local, True)


# ------------------------------------------------------------------------------------------------ sweep specs
def expand_spec(spec: dict) -> list:
    """The GenerationRequests of a sweep spec: {"base": {fields}, "grid": {field: [values, ...]},
    "requests": [{fields}, ...]}. Every combination of the grid's values (in the file's order, the last field
    varying fastest) and then every entry of "requests" is one request, each on top of "base" (base alone: one
    request). Fields are those
    of GenerationRequest (cooling_rate_k_ps, n_atoms, box, density_g_cm3, seeds as "0-9" or a list, schedule,
    model, ...)."""
    if not isinstance(spec, dict):
        raise AmorphError("a sweep spec is a table (JSON object) with base, grid and/or requests")
    extra = sorted(set(spec) - {"base", "grid", "requests"})
    if extra:
        raise AmorphError(f"unknown section(s) {', '.join(extra)} in the sweep spec; use base, grid and requests")
    base = spec.get("base", {})
    grid = spec.get("grid", {})
    listed = spec.get("requests", [])
    if not isinstance(base, dict) or not isinstance(grid, dict) or not isinstance(listed, list):
        raise AmorphError("in a sweep spec, base and grid are tables and requests is a list of tables")
    for key, vals in grid.items():
        if not isinstance(vals, list) or not vals:
            raise AmorphError(f"grid field {key!r} must be a non-empty list of values, got {vals!r}")
    reqs = []
    if grid:
        keys = list(grid)
        for combo in itertools.product(*(grid[k] for k in keys)):
            point = dict(zip(keys, combo))
            reqs.append(GenerationRequest.from_dict({**base, **point}, f"grid point {point}"))
    for k, entry in enumerate(listed):
        if not isinstance(entry, dict):
            raise AmorphError(f"requests[{k}] must be a table of request fields, got {entry!r}")
        reqs.append(GenerationRequest.from_dict({**base, **entry}, f"requests[{k}]"))
    if not reqs and base:  # base alone: one request
        reqs.append(GenerationRequest.from_dict(base, "base"))
    if not reqs:
        raise AmorphError("the sweep spec asks for nothing: give base, grid and/or requests")
    return reqs


def load_spec(path) -> list:
    """The requests of a sweep spec file (.json or .toml); see expand_spec."""
    path = Path(path)
    if not path.is_file():
        raise AmorphError(f"sweep spec {path} not found")
    text = path.read_text()
    try:
        if path.suffix.lower() == ".toml":
            try:
                import tomllib
            except ImportError:  # Python 3.10
                raise AmorphError("TOML sweep specs need Python 3.11 or later; write the spec as JSON") from None
            spec = tomllib.loads(text)
        elif path.suffix.lower() == ".json":
            spec = json.loads(text)
        else:
            raise AmorphError(f"sweep spec {path} must be a .json or .toml file")
    except (ValueError, TypeError) as exc:  # json and tomllib decode errors are ValueErrors
        if isinstance(exc, AmorphError):
            raise
        raise AmorphError(f"sweep spec {path} cannot be read: {exc}") from None
    return expand_spec(spec)


# ------------------------------------------------------------------------------------------------ the plan
@dataclass(frozen=True)
class WorkUnit:
    """One batch of the global plan: request index, its seeds, and its atoms (the batch's atom budget)."""

    request: int
    seeds: tuple
    n_atoms: int
    n_steps: int

    @property
    def cost(self) -> int:
        return self.n_atoms * self.n_steps


def plan_units(requests, out_dir=None) -> list:
    """The batches (WorkUnits) of all requests, in order, as one process would make them. Validates every
    request first (AmorphError before any work) and, with out_dir, refuses two structures with one file name."""
    from amorph_core.generate import build_starts, output_path, plan_batches, resolve_device, sampler_for
    from amorph_core.systems import get_system

    units, targets = [], {}
    for r, req in enumerate(requests):
        starts = build_starts(req)
        schedule = sampler_for(req)
        rate = req.conditioning_rate(warn=False)
        for batch in plan_batches(starts, resolve_device(req.device), req.max_atoms_per_batch):
            units.append(WorkUnit(r, tuple(int(starts[i].info["seed"]) for i in batch),
                                  sum(len(starts[i]) for i in batch), schedule.n_steps))
            if out_dir is None:
                continue
            for i in batch:
                t = output_path(out_dir, get_system(req.system).name, rate, len(starts[i]),
                                int(starts[i].info["seed"]))
                if t in targets and targets[t] != r:
                    raise AmorphError(f"requests {targets[t] + 1} and {r + 1} of the sweep both write {t.name}; "
                                      "sweep such settings (density, schedule, ...) into separate output folders")
                targets[t] = r
    return units


def assign(units, world: int) -> list:
    """Deal whole units to `world` ranks: the largest first, each to the least loaded rank (lowest rank on a
    tie), so each rank's share is about equal. Returns, per rank, its unit indices in plan order."""
    loads = [0] * world
    shares = [[] for _ in range(world)]
    for u in sorted(range(len(units)), key=lambda k: (-units[k].cost, k)):
        r = min(range(world), key=lambda j: (loads[j], j))
        loads[r] += units[u].cost
        shares[r].append(u)
    return [sorted(s) for s in shares]


def _write_plan(requests, units, out_dir: Path) -> None:
    from amorph_core.fileio import atomic_write
    plan = {"requests": [q.to_dict() for q in requests],
            "batches": [{"request": u.request, "seeds": list(u.seeds), "atoms": u.n_atoms} for u in units]}
    atomic_write(out_dir / PLAN_FILE, json.dumps(plan, indent=1, default=str))


@contextmanager
def _warn_once(seen: set, show: bool = True):
    """Pass on the warnings raised inside whose message is not in seen, and add them to it (show=False: only
    add them). A request's warnings (e.g. a cooling rate outside the reference range) would come once per batch."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        if str(w.message) not in seen:
            seen.add(str(w.message))
            if show:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def run_share(requests, out_dir, rank: Rank = Rank(), run: RunOptions | None = None, progress=None, cancel=None,
              record: bool = False) -> list:
    """Generate this rank's share of the requests' batches into out_dir (see the module doc), each run with
    `run` (generate_structures' RunOptions); returns the paths of its finished structures. Events are
    generate_structures' with "index" the structure's place in its request's seeds and "request" the request's
    index. record: rank 0 writes the requests and the plan into
    out_dir/sweep.json."""
    from amorph_core.generate import Generator, generate_structures, resolve_device

    out_dir = Path(out_dir)
    seen = set()
    with _warn_once(seen, show=rank.rank == 0):
        units = plan_units(requests, out_dir)
    if record and rank.rank == 0:
        _write_plan(requests, units, out_dir)
    progress = progress or (lambda ev: None)
    gens, paths = {}, []
    for k in assign(units, rank.world)[rank.rank]:
        if cancel is not None and cancel.is_set():
            break
        u = units[k]
        req = requests[u.request]
        device = resolve_device(req.device)
        if device == "cuda":  # the current device: this rank's GPU (see _use_local_gpu)
            req = replace(req, device=device)
        key = (req.system, req.model, req.device, req.mode, req.tf32)
        if key not in gens:
            gens[key] = Generator.for_request(req)
        where = {sd: i for i, sd in enumerate(req.seeds)}

        def relay(ev, _u=u, _where=where):
            if "seed" in ev:
                ev = {**ev, "index": _where.get(ev["seed"], ev.get("index")), "request": _u.request}
            progress(ev)

        with _warn_once(seen):
            paths += generate_structures(replace(req, seeds=u.seeds, max_atoms_per_batch=u.n_atoms), out_dir,
                                         run, progress=relay, cancel=cancel, generator=gens[key])
    return paths


# ------------------------------------------------------------------------------------------------ processes
def visible_gpus() -> int:
    """CUDA GPUs this process may use (0 without CUDA)."""
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def parse_procs(text) -> int | None:
    """--procs: 'auto' -> None (one per visible GPU), else a whole number >= 1."""
    if text in (None, "auto"):
        return None
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise AmorphError(f"--procs must be 'auto' or a whole number >= 1, got {text!r}")
    return n


def default_procs(requests) -> int:
    """One process per visible GPU when the requests run on CUDA, else 1."""
    from amorph_core.generate import resolve_device

    if any(resolve_device(q.device) != "cuda" for q in requests):
        return 1
    return max(1, visible_gpus())


def _use_local_gpu(rank: Rank) -> None:
    """Make this rank's GPU (LOCAL_RANK of the host's visible GPUs) the current CUDA device, so that 'cuda'
    means it, and the files record the same device name whatever the rank."""
    n = visible_gpus()
    if n:
        import torch

        torch.cuda.set_device(rank.local % n)


def _cancel_on_signals() -> threading.Event:
    """An event set by SIGINT or SIGTERM (a launcher stopping its workers): the rank then stops at its next
    step, saving its trajectory (with checkpoint_every), and keeps its finished files."""
    cancel = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            signal.signal(sig, lambda *_: cancel.set())
        except ValueError:  # not the main thread
            pass
    return cancel


def _print_progress(rank: Rank):
    """A launched process's progress lines, tagged with its rank; each line one write (no interleaving)."""
    tag = f"[rank {rank.rank}/{rank.world}] " if rank.world > 1 else ""
    last = {}

    def say(text, stream):
        stream.write(f"{tag}{text}\n")
        stream.flush()

    def progress(ev):
        kind = ev["kind"]
        if kind == "done":
            last.clear()  # the next batch's steps are shown again
            say(f"{'kept' if ev.get('existing') else 'wrote'} {ev['path']} (seed {ev['seed']})", sys.stdout)
        elif kind == "progress" and ev["step"] % max(1, ev["n_steps"] // 10) == 0:
            if last.get("step") != ev["step"]:  # one line per step of a batch
                last["step"] = ev["step"]
                ent = f", entropy {ev['entropy_nats']:.3f} nats" if ev.get("entropy_nats") is not None else ""
                say(f"  step {ev['step']}/{ev['n_steps']} ({ev['elapsed_s']:.0f} s){ent}", sys.stderr)
        elif kind == "resumed":
            say(f"  seeds {','.join(map(str, ev['seeds']))}: continuing the saved trajectory at step "
                f"{ev['step']}/{ev['n_steps']}", sys.stderr)
        elif kind == "cancelled":
            say(f"cancelled at step {ev['step']}", sys.stderr)
    return progress


def _rank_main(requests, out_dir, options: dict):
    """One launched process: its share of the sweep. Returns ("ok", paths, cancelled) or ("error", message) so
    that the parent prints a user error as one line."""
    from amorph_core.cli import _format_warning

    warnings.formatwarning = _format_warning  # as on the command line: "warning: ..."
    rank = rank_from_env()
    options = dict(options)
    try:
        threads = options.pop("threads", None)
        if threads:
            import torch

            torch.set_num_threads(int(threads))
        _use_local_gpu(rank)
        cancel = _cancel_on_signals()
        paths = run_share(requests, out_dir, rank, progress=_print_progress(rank), cancel=cancel, **options)
        if cancel.is_set():  # the launcher is stopping (Ctrl-C): it reads no result now, so leave at once
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(130)
        return ("ok", [str(p) for p in paths], False)
    except AmorphError as exc:
        return ("error", f"rank {rank.rank}: {exc}")


def _launch_local(requests, out_dir, procs: int, **options) -> tuple:
    """Run the requests over `procs` local processes started by torch's elastic launcher (as torchrun
    --standalone --nproc-per-node procs), each its share on its own GPU; options: run_share's keywords and
    threads (torch CPU threads per process). Returns (paths, cancelled)."""
    import uuid

    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    config = LaunchConfig(min_nodes=1, max_nodes=1, nproc_per_node=int(procs), run_id=f"amorph-{uuid.uuid4().hex}",
                          rdzv_backend="c10d", rdzv_endpoint="localhost:0", max_restarts=0,
                          monitor_interval=0.5, start_method="spawn")
    from torch.distributed.elastic.multiprocessing.api import SignalException

    try:
        results = elastic_launch(config, _rank_main)(list(requests), str(out_dir), options)
    except SignalException:  # Ctrl-C / SIGTERM: the launcher passed it on and each process saved its trajectory
        return [], True
    paths, cancelled = [], False
    for r in sorted(results):
        res = results[r]
        if res[0] == "error":
            raise AmorphError(res[1])
        paths += res[1]
        cancelled |= res[2]
    return paths, cancelled


def run_requests(requests, out_dir, procs: int | None = None, progress=None, cancel=None, threads: int | None = None,
                 **options) -> tuple:
    """Generate every structure of the requests into out_dir, spread over processes: under a launcher (RANK and
    WORLD_SIZE set) this process's share; else over `procs` local processes (None: one per visible GPU when
    running on CUDA, else 1; 1 = here). threads: torch CPU threads per launched process (None: torch's
    default). options: run_share's (run: RunOptions, record); progress and cancel serve
    this process only (launched processes print their progress and stop on SIGINT / SIGTERM).
    Returns (paths written by this process and those it launched, cancelled)."""
    requests = list(requests)
    rank = rank_from_env()
    if rank.launched and procs not in (None, 1):
        raise AmorphError(f"already one of {rank.world} launched process(es) (RANK, WORLD_SIZE set): leave out "
                          "--procs")
    procs = 1 if rank.launched else (default_procs(requests) if procs is None else int(procs))
    if procs < 1:
        raise AmorphError(f"--procs must be >= 1, got {procs}")
    if procs > 1:
        with warnings.catch_warnings():  # rank 0 shows the requests' warnings
            warnings.simplefilter("ignore")
            n = len(plan_units(requests, out_dir))  # a bad request fails here, once, before any process starts
        if procs > n:  # a process without a batch would only load the model
            print(f"{n} batch(es) to make: {n} process(es)", file=sys.stderr)
            procs = n
    if procs > 1:
        return _launch_local(requests, out_dir, procs, threads=threads, **options)
    _use_local_gpu(rank)
    if rank.launched and cancel is not None:  # a launcher stops its processes with SIGTERM (torchrun, SLURM)
        try:
            signal.signal(signal.SIGTERM, lambda *_: cancel.set())
        except ValueError:  # not the main thread
            pass
    paths = run_share(requests, out_dir, rank, progress=progress, cancel=cancel, **options)
    return paths, bool(cancel is not None and cancel.is_set())
