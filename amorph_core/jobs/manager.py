"""UI-agnostic background jobs: a FIFO queue per lane, progress events, cancel, results on disk.

A job is a named runner called in a worker thread as ``runner(params, out_dir, progress, cancel)``:
``params`` is a JSON-able dict, ``out_dir`` the job's folder for result files, ``progress(event)`` takes
dicts such as ``{"kind": "progress", "index", "seed", "step", "n_steps", "entropy_nats", "elapsed_s"}`` and
``{"kind": "done", "index", "seed", "path"}`` (a finished result file), and ``cancel`` is a
``threading.Event`` the runner polls to stop early, keeping what it finished. The runner may return a list of
result paths and/or a JSON-able dict (``summary``).

Each lane has one worker thread, so jobs of a lane run one at a time and the others wait in a visible queue;
the "gpu" lane has one worker per GPU of the host, one on a CPU-only host. With several GPUs each gpu-lane job
runs in a child process that sees only its worker's GPU (recorded in the job as "gpu"), so that jobs on
different GPUs share no CUDA state (a CUDA graph being captured for one would fail the other's calls).
Every job has a folder ``<jobs_dir>/<job_id>/`` with ``status.json``,
rewritten atomically (temp file + rename) at every state change and at most once a second during
progress, so a crash or restart never leaves a half-written status. On start-up a manager reloads the
folders it finds; jobs that were queued or running when the previous process died become "interrupted",
and the results they had written stay listed.

The jobs folder is ``AMORPH_JOBS_DIR`` if set, else ``~/.amorph/jobs``. The app's job kinds and their runners
are in amorph_core.jobs.runners.
"""
from __future__ import annotations

import json
import os
import queue
import secrets
import shutil
import threading
import time
import traceback
from pathlib import Path
from typing import Callable

from amorph_core.errors import AmorphError
from amorph_core.jobs.kinds import JobKind, atomic_write_json  # noqa: F401  (JobKind: part of this module's API)

#: job states; FINAL states never change again
QUEUED, RUNNING, DONE, CANCELLED, FAILED, INTERRUPTED = (
    "queued", "running", "done", "cancelled", "failed", "interrupted")
FINAL = (DONE, CANCELLED, FAILED, INTERRUPTED)
#: list_jobs/list_results owner filter meaning "every owner's jobs"
ANY = object()
STATUS_FILE = "status.json"
#: seconds between status.json rewrites while a job reports progress
SAVE_INTERVAL_S = 1.0
#: entropy points kept per sample in the status (older ones are thinned)
MAX_TRACE_POINTS = 400


def default_jobs_dir() -> Path:
    """The jobs folder: $AMORPH_JOBS_DIR, else ~/.amorph/jobs."""
    env = os.environ.get("AMORPH_JOBS_DIR")
    return Path(env).expanduser() if env else Path.home() / ".amorph" / "jobs"


def _child_main(module: str, name: str, params: dict, out_dir: str, q, cancel, gpu: int | None = None) -> None:
    """Entry point of an isolated job's child process: run the runner, send events and the outcome on q.
    gpu: the index (among the parent's visible GPUs) of the one GPU this child sees."""
    import importlib

    if gpu is not None:  # before anything starts CUDA: the child sees only its lane's GPU (torch, OpenMM)
        visible = [d for d in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if d.strip()]
        os.environ["CUDA_VISIBLE_DEVICES"] = visible[gpu] if gpu < len(visible) else str(gpu)

    try:
        runner = getattr(importlib.import_module(module), name)
        ret = runner(params, Path(out_dir), lambda ev: q.put(("event", ev)), cancel)
        q.put(("result", json.loads(json.dumps(ret, default=str))))
    except AmorphError as exc:
        q.put(("amorph_error", str(exc), ""))
    except BaseException as exc:  # reported to the parent, which records it
        q.put(("error", f"{type(exc).__name__}: {exc}", traceback.format_exc()))


def _signal_name(code: int) -> str:
    import signal

    try:
        return f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
    except ValueError:
        return f"exit code {code}"


def gpu_count() -> int:
    """CUDA GPUs this process sees (0 without CUDA or torch)."""
    try:
        import torch
    except ImportError:
        return 0
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _single_thread_blas() -> None:
    """OpenBLAS (pthreads) called from a worker thread while torch's OpenMP pool is active can hang
    ("Detect OpenMP Loop"); jobs use one BLAS thread (the heavy parts are torch, numba and vesin)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(limits=1, user_api="blas")


class JobManager:
    """Runs jobs in background threads, one at a time per lane, and keeps their status on disk.

    Thread-safe; meant to be created once per server process (the app keeps it in st.cache_resource).
    """

    def __init__(self, jobs_dir=None, kinds: dict | None = None, gpu_lanes: int | None = None):
        """kinds: job kinds added to (or replacing) the app's (amorph_core.jobs.runners.DEFAULT_KINDS);
        gpu_lanes: workers of the "gpu" lane (None: one per GPU of the host, at least one)."""
        from amorph_core.jobs.runners import DEFAULT_KINDS

        self.gpu_lanes = max(1, int(gpu_lanes if gpu_lanes is not None else gpu_count()))
        self.jobs_dir = Path(jobs_dir) if jobs_dir is not None else default_jobs_dir()
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        self.kinds = dict(DEFAULT_KINDS)
        self.kinds.update(kinds or {})
        self._lock = threading.RLock()
        self._jobs: dict[str, dict] = {}
        self._cancel: dict[str, threading.Event] = {}
        self._last_save: dict[str, float] = {}
        self._queues: dict[str, queue.Queue] = {}
        self._workers: dict[str, list] = {}
        self._closed = False
        self._load_existing()

    # ----------------------------------------------------------------- registry
    def register(self, name: str, runner: Callable, lane: str = "gpu", isolate: bool = False) -> None:
        """Add or replace a job kind."""
        with self._lock:
            self.kinds[name] = JobKind(name, runner, lane, isolate)

    # ----------------------------------------------------------------- persistence
    def _job_dir(self, job_id: str) -> Path:
        return self.jobs_dir / job_id

    def _save(self, job_id: str, force: bool = True) -> None:
        now = time.monotonic()
        with self._lock:  # written under the lock: whoever sees a state in memory finds it on disk too
            if not force and now - self._last_save.get(job_id, 0.0) < SAVE_INTERVAL_S:
                return
            self._last_save[job_id] = now
            d = self._job_dir(job_id)
            if d.exists():
                atomic_write_json(d / STATUS_FILE, self._jobs[job_id])

    def _load_existing(self) -> None:
        for status in sorted(self.jobs_dir.glob(f"*/{STATUS_FILE}")):
            try:
                job = json.loads(status.read_text())
                job_id = job["id"]
            except (OSError, ValueError, KeyError, TypeError):
                continue  # unreadable status: leave the folder alone, do not list it
            if job.get("state") not in FINAL:
                job["state"] = INTERRUPTED
                job["error"] = "the server stopped while this job was queued or running"
                job["finished"] = job.get("finished") or time.time()
                self._jobs[job_id] = job
                self._save(job_id)
            else:
                self._jobs[job_id] = job

    # ----------------------------------------------------------------- submit / cancel
    def submit(self, kind: str, params: dict, label: str = "", owner: str | None = None) -> str:
        """Queue a job of a registered kind; returns its id. params must be JSON-able."""
        if self._closed:
            raise AmorphError("the job manager is shut down")
        if kind not in self.kinds:
            raise AmorphError(f"unknown job kind '{kind}' (known: {', '.join(sorted(self.kinds))})")
        try:
            params = json.loads(json.dumps(params))
        except (TypeError, ValueError) as exc:
            raise AmorphError(f"job parameters must be JSON-able: {exc}") from None
        job_id = time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)
        lane = self.kinds[kind].lane
        job = {
            "id": job_id, "kind": kind, "lane": lane, "label": label or kind, "owner": owner,
            "params": params, "state": QUEUED, "created": time.time(), "started": None, "finished": None,
            "error": None, "results": [], "summary": None, "samples": {}, "fraction": 0.0, "eta_s": None,
        }
        (self._job_dir(job_id)).mkdir(parents=True, exist_ok=False)
        with self._lock:
            self._jobs[job_id] = job
            self._cancel[job_id] = threading.Event()
            self._save(job_id)
            q = self._lane_queue(lane)
        q.put(job_id)
        return job_id

    def _lane_queue(self, lane: str) -> queue.Queue:
        """The lane's queue, its worker thread started on first use (call with the lock held)."""
        q = self._queues.get(lane)
        if q is None:
            q = self._queues[lane] = queue.Queue()
            n = self.gpu_lanes if lane == "gpu" else 1
            self._workers[lane] = [threading.Thread(target=self._worker, args=(lane, k if n > 1 else None),
                                                    name=f"amorph-jobs-{lane}{k if n > 1 else ''}", daemon=True)
                                   for k in range(n)]
            for t in self._workers[lane]:
                t.start()
        return q

    def _job(self, job_id: str) -> dict:
        """The job record (call with the lock held); AmorphError if there is no such job."""
        job = self._jobs.get(job_id)
        if job is None:
            raise AmorphError(f"no job '{job_id}'")
        return job

    def cancel(self, job_id: str) -> bool:
        """Ask a job to stop; a queued job is cancelled at once. Returns False if already finished."""
        with self._lock:
            job = self._job(job_id)
            if job["state"] in FINAL:
                return False
            ev = self._cancel.get(job_id)
            if ev is not None:
                ev.set()
            if job["state"] == QUEUED:
                job["finished"] = time.time()
                job["state"] = CANCELLED
            self._save(job_id)
        return True

    def can_resume(self, job_id: str) -> bool:
        """Whether resume(job_id) would be accepted now."""
        with self._lock:
            job = self._jobs.get(job_id)
            return job is not None and self._resume_refusal(job) is None

    def _resume_refusal(self, job: dict) -> str | None:
        """Why resume would be refused (None: it would be accepted); call with the lock held."""
        kind = self.kinds.get(job["kind"])
        if kind is None or not kind.resumable:
            return f"jobs of kind '{job['kind']}' cannot be resumed; submit a new one"
        if job["state"] not in (CANCELLED, INTERRUPTED, FAILED):
            return f"only a cancelled, interrupted or failed job can be resumed (this one is {job['state']})"
        if job["state"] == FAILED and not job.get("retryable", False):
            return ("this job failed in a way that would repeat (its request or the code refused it); "
                    "fix the request and submit a new one")
        if self._closed:
            return "the job manager is shut down"
        return None

    def resume(self, job_id: str) -> None:
        """Queue a cancelled, interrupted or failed job of a resumable kind again, in its own folder: it keeps
        its finished results and continues its saved trajectories (generate: every 250 steps and at a cancel)."""
        with self._lock:
            job = self._job(job_id)
            why = self._resume_refusal(job)
            if why is not None:
                raise AmorphError(why)
            job.update(state=QUEUED, error=None, finished=None, started=None, eta_s=None, stage=None,
                       queued=time.time(), resumed=int(job.get("resumed", 0)) + 1, dismissed=False)
            job.pop("traceback", None)
            job.pop("retryable", None)
            self._cancel[job_id] = threading.Event()
            self._save(job_id)
            q = self._lane_queue(job["lane"])
        q.put(job_id)

    def dismiss(self, job_id: str) -> None:
        """Hide a finished job from job lists (list_jobs(dismissed=False)); its result files stay listed."""
        with self._lock:
            job = self._job(job_id)
            if job["state"] not in FINAL:
                raise AmorphError("cancel the job before dismissing it")
            job["dismissed"] = True
            self._save(job_id)

    def delete(self, job_id: str) -> None:
        """Remove a finished job and its files."""
        with self._lock:
            job = self._job(job_id)
            if job["state"] not in FINAL:
                raise AmorphError("cancel the job before deleting it")
            del self._jobs[job_id]
        shutil.rmtree(self._job_dir(job_id), ignore_errors=True)

    # ----------------------------------------------------------------- worker
    def _worker(self, lane: str, gpu: int | None = None) -> None:
        """Run the lane's jobs one after another; gpu: this worker's index among the gpu lanes (None with one)."""
        _single_thread_blas()
        own_gpu = gpu is not None and gpu_count() > 0  # several GPUs: every job in a process seeing only its GPU
        q = self._queues[lane]
        while True:
            job_id = q.get()
            if job_id is None:
                return
            with self._lock:
                job = self._jobs.get(job_id)
                if job is None or job["state"] != QUEUED:
                    continue
                job["state"] = RUNNING
                job["started"] = time.time()
                if gpu is not None:
                    job["gpu"] = gpu
                cancel = self._cancel[job_id]
                kind = self.kinds[job["kind"]]
                runner = self._run_isolated(kind, job_id, gpu) if kind.isolate or own_gpu else kind.runner
                params = json.loads(json.dumps(job["params"]))
            self._save(job_id)
            out_dir = self._job_dir(job_id)
            try:
                ret = runner(params, out_dir, lambda ev, _j=job_id: self._on_event(_j, ev), cancel)
                with self._lock:
                    paths, summary = self._split_return(ret)
                    known = {r["path"] for r in job["results"]}
                    for p in paths:
                        if str(p) not in known:
                            job["results"].append({"index": len(job["results"]), "seed": None, "path": str(p)})
                    if summary is not None:
                        job["summary"] = summary
                    job["fraction"] = 1.0 if not cancel.is_set() else job["fraction"]
                    job["eta_s"] = None
                    job["finished"] = time.time()
                    job["state"] = CANCELLED if cancel.is_set() else DONE
                    self._save(job_id)
            except AmorphError as exc:  # the request was refused: running it again fails the same way
                with self._lock:
                    job["error"], job["finished"] = str(exc), time.time()
                    job["state"] = CANCELLED if cancel.is_set() else FAILED
                    job["retryable"] = False
                    self._save(job_id)
            except Exception as exc:  # keep the worker alive; record what happened
                with self._lock:
                    job["error"] = f"internal error: {type(exc).__name__}: {exc}"
                    job["traceback"] = traceback.format_exc()
                    job["finished"] = time.time()
                    job["state"] = FAILED
                    # out of memory may pass once other jobs end; any other crash would repeat
                    job["retryable"] = isinstance(exc, MemoryError) or "OutOfMemory" in type(exc).__name__
                    self._save(job_id)

    def _run_isolated(self, kind: JobKind, job_id: str, gpu: int | None = None) -> Callable:
        """A runner that runs kind.runner in a spawned child process, relaying events and cancel."""
        import multiprocessing as mp

        def run(params, out_dir, progress, cancel):
            ctx = mp.get_context("spawn")
            q, child_cancel = ctx.Queue(), ctx.Event()
            import importlib

            # the module's current function: Streamlit may have re-imported this module since the manager was
            # made, and pickle (spawn) refuses a function that is not the one the module now holds
            target = importlib.import_module(__name__)._child_main
            proc = ctx.Process(target=target, daemon=True, name=f"amorph-job-{job_id}",
                               args=(kind.runner.__module__, kind.runner.__name__, params, str(out_dir), q,
                                     child_cancel, gpu))
            proc.start()
            outcome = None
            while True:
                if cancel.is_set():
                    child_cancel.set()
                try:
                    msg = q.get(timeout=0.2)
                except queue.Empty:
                    if not proc.is_alive():
                        try:
                            msg = q.get(timeout=1.0)  # anything sent just before exiting
                        except queue.Empty:
                            break
                    else:
                        continue
                if msg[0] == "event":
                    progress(msg[1])
                else:
                    outcome = msg
                    break
            proc.join(30)
            if outcome is None:
                raise AmorphError(f"the {kind.name} process died ({_signal_name(proc.exitcode or 0)}) without a "
                                  f"result: the structure may be unphysical (e.g. overlapping atoms) or a native "
                                  f"library crashed; results written so far are kept")
            if outcome[0] == "result":
                return outcome[1]
            if outcome[0] == "amorph_error":
                raise AmorphError(outcome[1])
            raise RuntimeError(f"{outcome[1]}\n--- in the job process ---\n{outcome[2]}")

        return run

    @staticmethod
    def _split_return(ret):
        if ret is None:
            return [], None
        if isinstance(ret, dict):
            return list(ret.get("paths", [])), ret.get("summary", {k: v for k, v in ret.items() if k != "paths"})
        return [str(p) for p in ret], None

    def _on_event(self, job_id: str, ev: dict) -> None:
        """Fold one progress event into the job's status."""
        kind = ev.get("kind")
        with self._lock:
            job = self._jobs[job_id]
            if kind == "progress":
                idx = str(ev.get("index", 0))
                s = job["samples"].setdefault(idx, {"seed": ev.get("seed"), "step": 0, "n_steps": None,
                                                     "entropy": []})
                s["step"] = int(ev.get("step", 0))
                s["n_steps"] = ev.get("n_steps")
                if ev.get("entropy_nats") is not None:
                    s["entropy"].append([s["step"], float(ev["entropy_nats"])])
                    if len(s["entropy"]) > MAX_TRACE_POINTS:
                        s["entropy"] = s["entropy"][::2]
                self._update_eta(job)
                force = False
            elif kind == "done":
                if str(ev["path"]) not in {r["path"] for r in job["results"]}:  # a resumed job reports kept ones again
                    job["results"].append({"index": ev.get("index"), "seed": ev.get("seed"),
                                           "path": str(ev["path"])})
                s = job["samples"].setdefault(str(ev.get("index", 0)), {"seed": ev.get("seed"), "step": 0,
                                                                          "n_steps": None, "entropy": []})
                if s.get("n_steps"):
                    s["step"] = s["n_steps"]
                s["done"] = True
                self._update_eta(job)
                force = True
            elif kind == "resumed":
                job["stage"] = f"continuing a saved trajectory at step {ev.get('step')}/{ev.get('n_steps')}"
                force = True
            else:
                job["stage"] = ev.get("message", ev.get("kind"))
                force = False
        self._save(job_id, force=force)

    @staticmethod
    def _update_eta(job: dict) -> None:
        n = int(job["params"].get("n_samples") or len(job["params"].get("seeds") or []) or 1)
        n = max(n, len(job["samples"]))
        frac = 0.0
        for s in job["samples"].values():
            if s.get("done"):
                frac += 1.0
            elif s.get("n_steps"):
                frac += min(1.0, s["step"] / s["n_steps"])
        frac /= n
        job["fraction"] = frac
        elapsed = time.time() - (job["started"] or time.time())
        job["eta_s"] = elapsed * (1 - frac) / frac if frac > 0.005 else None

    # ----------------------------------------------------------------- queries
    def get(self, job_id: str) -> dict:
        """A snapshot (deep copy) of one job's status, plus its queue position (0 = running/finished)."""
        with self._lock:
            job = self._job(job_id)
            snap = json.loads(json.dumps(job, default=str))
            snap["queue_position"] = self._queue_position(job)
        return snap

    def _queue_position(self, job: dict) -> int:
        if job["state"] != QUEUED:
            return 0

        def since(j):  # when a job was last put in its queue (a resumed job: at its resume)
            return j.get("queued", j["created"])

        ahead = [j for j in self._jobs.values() if j["lane"] == job["lane"]
                 and j["state"] in (QUEUED, RUNNING) and since(j) <= since(job)]
        workers = self.gpu_lanes if job["lane"] == "gpu" else 1  # the running jobs of all but one worker
        return len(ahead) - min(workers - 1, sum(j["state"] == RUNNING for j in ahead))

    def list_jobs(self, states=None, kind: str | None = None, owner=ANY, dismissed: bool | None = None) -> list:
        """Snapshots of all jobs, newest first, optionally filtered by state(s), kind, owner (a workspace id;
        ANY: every owner's) and whether they were dismissed (None: either)."""
        with self._lock:
            ids = [j["id"] for j in self._jobs.values()
                   if (states is None or j["state"] in states) and (kind is None or j["kind"] == kind)
                   and (owner is ANY or j.get("owner") == owner)
                   and (dismissed is None or bool(j.get("dismissed")) == dismissed)]
        snaps = [self.get(i) for i in ids]
        return sorted(snaps, key=lambda j: j["created"], reverse=True)

    def queue(self, lane: str = "gpu") -> list:
        """Running and queued jobs of a lane in the order they run."""
        jobs = [j for j in self.list_jobs(states=(QUEUED, RUNNING)) if j["lane"] == lane]
        return sorted(jobs, key=lambda j: (j["state"] != RUNNING, j["created"]))

    def list_results(self, kind: str | None = "generate", owner=ANY) -> list:
        """Result files that exist on disk, one dict per file with the job's parameters, newest first (of one
        owner's jobs unless owner is ANY)."""
        rows = []
        for job in self.list_jobs(kind=kind, owner=owner):
            for r in job["results"]:
                if Path(r["path"]).exists():
                    rows.append({"job_id": job["id"], "label": job["label"], "state": job["state"],
                                 "index": r.get("index"), "seed": r.get("seed"), "path": r["path"],
                                 "params": job["params"], "finished": job["finished"]})
        return rows

    def wait(self, job_id: str, timeout: float | None = None, poll_s: float = 0.05) -> dict:
        """Block until a job is final (or timeout seconds pass); returns its snapshot."""
        t0 = time.monotonic()
        while True:
            snap = self.get(job_id)
            if snap["state"] in FINAL or (timeout is not None and time.monotonic() - t0 > timeout):
                return snap
            time.sleep(poll_s)

    def shutdown(self, cancel_running: bool = True, timeout: float = 10.0) -> None:
        """Stop the workers (cancelling jobs if asked) and wait for them."""
        self._closed = True
        if cancel_running:
            for job in self.list_jobs(states=(QUEUED, RUNNING)):
                self.cancel(job["id"])
        for q in self._queues.values():
            q.put(None)
        for lane, threads in self._workers.items():
            for _ in threads[1:]:  # one stop per worker (the loop above put one)
                self._queues[lane].put(None)
            for t in threads:
                t.join(timeout)


_MANAGERS: dict = {}
_MANAGERS_LOCK = threading.Lock()


def get_manager(jobs_dir=None) -> JobManager:
    """The process-wide JobManager for a jobs folder (created on first use)."""
    key = str(Path(jobs_dir).resolve() if jobs_dir is not None else default_jobs_dir().resolve())
    with _MANAGERS_LOCK:
        if key not in _MANAGERS:
            _MANAGERS[key] = JobManager(key)
        return _MANAGERS[key]
