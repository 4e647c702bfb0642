"""Atomic file writes: a temp file in the same folder, fsync, then rename, so a crash or cancel never
leaves a half-written result. Only a new path or a regular file is replaced: never a folder, FIFO or device."""
from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

from amorph_core.errors import AmorphError


def atomic_write(path, data) -> Path:
    """Write bytes or str to path atomically; returns the path."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        raise AmorphError(f"{path}: not a regular file (a folder, pipe or device): not replaced")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    for attempt in range(3):  # another process sharing the folder may remove it once empty (generate's .partial)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fh = open(tmp, "wb")
            break
        except FileNotFoundError:
            if attempt == 2:
                raise
    try:
        with fh:
            fh.write(data.encode() if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:  # a full disk, a cancel: no temp file left behind
        tmp.unlink(missing_ok=True)
        raise
    return path
