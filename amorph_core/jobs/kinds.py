"""What a job kind is (JobKind) and how job files are written: shared by the manager and the runners."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from amorph_core.fileio import atomic_write


def atomic_write_json(path: Path, data) -> None:
    """Write JSON to path via a temp file in the same folder and os.replace (never half-written)."""
    atomic_write(path, json.dumps(data, indent=1, default=str))


@dataclass(frozen=True)
class JobKind:
    """A kind of job: the runner callable, the lane whose single worker runs it, and whether it runs in a
    child process (isolate: a crash in native code then fails the job instead of killing the server;
    the runner must be a module-level function)."""

    name: str
    runner: Callable
    lane: str = "gpu"
    isolate: bool = False
    resumable: bool = False  # a stopped job can be queued again into its folder and continue there (resume)
