"""Running MD in logged, checkpointed, cancellable stages, the frame of every long protocol.

Every long protocol takes progress(fraction, info) and cancel() callbacks, writes a JSON-lines log as it goes
into out_dir and can resume from the checkpoint it writes there. Units: K, ps, fs, K/ps, GPa, Å."""
from __future__ import annotations

import json
import time
from pathlib import Path

from amorph_core.errors import AmorphError
from amorph_core.fileio import atomic_write


class Cancelled(AmorphError):
    """Raised when a protocol's cancel() callback returned True; partial results stay in out_dir."""


#: most MD steps one protocol call runs (1 µs at 1 fs): beyond that, the request is a mistake or months of work
MAX_MD_STEPS = 1_000_000_000


def cancel_check(cancel):
    """cancel (None, a threading.Event or a callable) as a callable that returns True once the run must stop."""
    if cancel is None:
        return lambda: False
    if hasattr(cancel, "is_set"):
        return cancel.is_set
    return cancel


def fresh_output_dir(out_dir, log_name: str):
    """out_dir as a Path (created) with its old log file removed, or None when no out_dir is given."""
    if not out_dir:
        return None
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / log_name).unlink(missing_ok=True)
    return out


def append_log(path, rec):
    """Append rec as one JSON line to the file at path."""
    with open(path, "a") as fh:
        fh.write(json.dumps(rec) + "\n")


def run_stages(sim, stages, out_dir=None, progress=None, cancel=None, report_every: int = 1000,
               checkpoint_every: int = 50000, start=(0, 0), meta=None):
    """Drive sim through stages [(name, steps, T0, T1, npt)] in chunks; log thermo to out_dir/log.jsonl,
    checkpoint to out_dir/checkpoint.{bin,json}; returns the list of thermo records."""
    cancel = cancel_check(cancel)
    total = sum(s[1] for s in stages)
    done_before = sum(s[1] for s in stages[:start[0]]) + start[1]
    out = Path(out_dir) if out_dir else None
    recs = []
    t0 = time.time()
    done = done_before
    for si in range(start[0], len(stages)):
        name, n, ta, tb, npt = stages[si]
        k = start[1] if si == start[0] else 0
        while k < n:
            m = min(report_every, n - k)
            t_a = ta + (tb - ta) * k / n
            t_b = ta + (tb - ta) * (k + m) / n
            sim.advance(m, t_a, t_b, npt)
            k += m
            done += m
            rec = {"stage": name, **sim.thermo(), "T_target": t_b, "wall_s": time.time() - t0}
            recs.append(rec)
            if out:
                append_log(out / "log.jsonl", rec)
            if progress:
                progress(done / total, rec)
            if out and checkpoint_every and (done // checkpoint_every) != ((done - m) // checkpoint_every):
                try:  # atomic: a kill mid-write leaves the previous checkpoint whole
                    atomic_write(out / "checkpoint.bin", sim.checkpoint())
                    atomic_write(out / "checkpoint.json", json.dumps({"stage": si, "step": k, **(meta or {})}))
                except AmorphError:
                    pass
            if cancel():
                raise Cancelled(f"cancelled at {done}/{total} steps (stage {name}); partial log in {out}")
    return recs
