"""UI-agnostic background jobs for the app (no Streamlit): the job manager and the app's job runners.

- amorph_core.jobs.kinds: JobKind (a runner, its lane, isolated or not) and atomic_write_json.
- amorph_core.jobs.manager: job states, JobManager (a FIFO queue per lane, progress events, cancel,
  resume, status.json on disk), get_manager, the child-process machinery of isolated jobs.
- amorph_core.jobs.runners: one runner per job kind (generate, analyze, compare, refine, moduli) and
  DEFAULT_KINDS, the kinds every JobManager knows; generate_job_params / generate_job_request, how a generation
  (GenerationRequest + RunOptions) is stored as a job and read back.

The names below are the public API (``from amorph_core.jobs import get_manager, JobManager, FINAL``).
"""
from amorph_core.jobs.kinds import JobKind, atomic_write_json
from amorph_core.jobs.manager import (ANY, CANCELLED, DONE, FAILED, FINAL, INTERRUPTED, MAX_TRACE_POINTS, QUEUED,
                                      RUNNING, SAVE_INTERVAL_S, STATUS_FILE, JobManager, default_jobs_dir, get_manager,
                                      gpu_count)
from amorph_core.jobs.runners import DEFAULT_KINDS, generate_job_params, generate_job_request

__all__ = [
    "QUEUED", "RUNNING", "DONE", "CANCELLED", "FAILED", "INTERRUPTED", "FINAL", "ANY", "STATUS_FILE",
    "SAVE_INTERVAL_S", "MAX_TRACE_POINTS", "JobKind", "JobManager", "get_manager", "gpu_count", "default_jobs_dir",
    "atomic_write_json", "DEFAULT_KINDS", "generate_job_params", "generate_job_request",
]
