"""Measured costs shipped under assets/: what a glass costs to make, by generation and by MD.

- assets/generation_estimate.json (benchmarks/bench_generation_estimate.py): the per-atom-step cost model of
  generation, t = n_steps (a + b n_atoms) per structure, fitted per device; estimate_generation_s applies it.
- assets/generation_cost.json (python -m amorph_core.calibration.generation_cost): measured generation times.
- assets/md/cost_table.json (benchmarks/bench_md.py): projected melt-quench MD cost per rate and size.

Each reader returns the parsed JSON, or None when the file is not in this installation (nothing is made up);
a file that is there but not JSON is an AmorphError naming it.
"""
from __future__ import annotations

import json
from pathlib import Path

from amorph_core.errors import AmorphError

ASSETS = Path(__file__).resolve().parents[1] / "assets"


def _read_json_asset(relpath: str, path=None):
    """A JSON file under assets/ (or at path), None if it is not there; AmorphError if it is not JSON."""
    p = Path(path) if path else ASSETS / relpath
    if not p.exists():
        return None
    try:
        return json.loads(p.read_text())
    except ValueError as exc:
        raise AmorphError(f"{p} is not valid JSON ({exc})") from None


def read_generation_estimate(path=None):
    """The measured per-atom-step generation cost (assets/generation_estimate.json, written by
    benchmarks/bench_generation_estimate.py) or None if absent."""
    return _read_json_asset("generation_estimate.json", path)


def estimate_generation_s(n_atoms: int, n_steps: int, n_structures: int = 1, device: str = "cpu",
                          table: dict | None = None) -> float | None:
    """Seconds to generate n_structures glasses of n_atoms with n_steps denoising steps on device ('cpu' or
    'cuda'), from the measured cost model t = n_steps (a + b n_atoms) per structure (a: s/step, b: s per
    atom-step; table: read_generation_estimate()); None when nothing was measured for that device."""
    table = table if table is not None else read_generation_estimate()
    fit = ((table or {}).get("devices") or {}).get("cuda" if str(device).startswith("cuda") else "cpu")
    if not fit:
        return None
    per_step = float(fit["seconds_per_step"]) + float(fit["seconds_per_atom_step"]) * int(n_atoms)
    return per_step * int(n_steps) * max(1, int(n_structures))


def read_generation_cost(path=None):
    """Measured generation times (assets/generation_cost.json, made by
    python -m amorph_core.calibration.generation_cost) or None if absent."""
    return _read_json_asset("generation_cost.json", path)


def read_cost_table(path=None):
    """The measured MD cost table (assets/md/cost_table.json) or None if it is not there."""
    return _read_json_asset("md/cost_table.json", path)
