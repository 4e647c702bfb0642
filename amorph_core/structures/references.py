"""Registry of reference MD glasses shipped in assets/reference/<system>/ (manifest.json + extxyz.gz).

Train/validation split (documented, and respected by training): for every cooling rate, sample 5 is
held out for validation; samples 0-4 are for training. Every structure carries its cooling rate,
sample id, density and provenance in atoms.info.
"""
from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

from amorph_core.errors import AmorphError

ASSETS = Path(__file__).resolve().parents[2] / "assets"
REFERENCE_DIR = ASSETS / "reference"
VALIDATION_SAMPLES = (5,)


def reference_manifest(system: str = "sio2") -> dict:
    """The manifest of a system's reference set: provenance, licence and one entry per glass."""
    path = REFERENCE_DIR / system / "manifest.json"
    if not path.exists():
        raise AmorphError(f"no reference glasses shipped for system '{system}' (looked for {path})")
    return json.loads(path.read_text())


@lru_cache(maxsize=8)
def _load(system: str):
    from ase.io import read

    man = reference_manifest(system)
    out = []
    for entry in man["structures"]:
        atoms = read(str(REFERENCE_DIR / system / entry["file"]), format="extxyz")
        atoms.info.update({k: v for k, v in entry.items() if k != "file"})
        atoms.info["system"] = system
        out.append(atoms)
    return tuple(out)


def reference_rates(system: str = "sio2") -> list:
    """Sorted distinct cooling rates (K/ps) of the reference glasses."""
    return sorted({e.get("cooling_rate_k_ps") for e in reference_manifest(system)["structures"]},
                  key=lambda r: (r is None, r))


def nearest_rate(system: str, rate_k_ps: float) -> float:
    """The reference cooling rate nearest to rate_k_ps on a log scale."""
    rates = [r for r in reference_rates(system) if r is not None]
    if not rates:
        raise AmorphError(f"reference set of '{system}' has no cooling rates")
    return min(rates, key=lambda r: abs(math.log10(r) - math.log10(rate_k_ps)))


def reference_glasses(system: str = "sio2", rate_k_ps: float | None = None, split: str | None = None,
                      nearest: bool = False) -> list:
    """Reference glasses of a system, optionally at one cooling rate (K/ps) and one split.

    split: None (all), "train" or "validation". With nearest=True the closest reference rate is used.
    Returned structures are copies: callers may modify them.
    """
    if split not in (None, "train", "validation"):
        raise AmorphError(f"split must be 'train' or 'validation', got {split!r}")
    glasses = _load(system)
    if rate_k_ps is not None:
        if rate_k_ps <= 0:
            raise AmorphError(f"cooling rate must be positive (K/ps), got {rate_k_ps}")
        target = nearest_rate(system, rate_k_ps) if nearest else rate_k_ps
        glasses = [a for a in glasses
                   if a.info.get("cooling_rate_k_ps") is not None
                   and math.isclose(a.info["cooling_rate_k_ps"], target, rel_tol=1e-6)]
        if not glasses:
            raise AmorphError(
                f"no reference glasses of '{system}' at {rate_k_ps:g} K/ps "
                f"(available: {', '.join(f'{r:g}' for r in reference_rates(system))} K/ps)"
            )
    if split is not None:
        glasses = [a for a in glasses if a.info.get("split") == split]
    return [a.copy() for a in glasses]
