"""Atomic file writes: a temp file in the same folder, fsync, then rename, so a crash or cancel never
leaves a half-written result."""
from __future__ import annotations

import os
import threading
from pathlib import Path


def atomic_write(path, data) -> Path:
    """Write bytes or str to path atomically; returns the path."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    for attempt in range(3):  # another process sharing the folder may remove it once empty (generate's .partial)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fh = open(tmp, "wb")
            break
        except FileNotFoundError:
            if attempt == 2:
                raise
    with fh:
        fh.write(data.encode() if isinstance(data, str) else data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path
