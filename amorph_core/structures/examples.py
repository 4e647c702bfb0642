"""Shipped example glasses: assets/examples/<set>/*.extxyz, each set with a README on its provenance (the model,
schedule and device that made it). Listed from the files' extxyz headers, without reading the atoms."""
from __future__ import annotations

from pathlib import Path

from amorph_core.errors import AmorphError
from amorph_core.structures.references import ASSETS

EXAMPLES_DIR = ASSETS / "examples"


def _extxyz_header(path: Path) -> tuple[int, dict]:
    """(atom count, the key=value comment line as a dict) from the first two lines of an extxyz file."""
    from ase.io.extxyz import key_val_str_to_dict

    with open(path) as fh:
        n_atoms = int(fh.readline())
        return n_atoms, key_val_str_to_dict(fh.readline())


def example_rows(system: str = "sio2", examples_dir=None) -> list:
    """Shipped example glasses of a system as result rows like the job manager's ({'path', 'params', 'seed',
    'job_id', 'example_set'}), sorted by cooling rate (K/ps) then seed; [] when none ship. A file whose header
    cannot be read is an AmorphError naming it."""
    root = Path(examples_dir) if examples_dir else EXAMPLES_DIR
    rows = []
    for f in sorted(root.glob("*/*.extxyz")):
        try:
            n_atoms, h = _extxyz_header(f)
        except (OSError, ValueError, KeyError) as exc:
            raise AmorphError(f"shipped example {f} is not a readable extxyz file ({exc})") from None
        if h.get("system") != system:
            continue
        rate, dens, seed = h.get("cooling_rate_k_ps"), h.get("density_g_cm3"), h.get("seed")
        params = {"system": system, "cooling_rate_k_ps": float(rate) if rate is not None else None,
                  "n_atoms": n_atoms, "schedule": h.get("schedule"), "model_sha256_16": h.get("model_sha256_16"),
                  "density_g_cm3": float(dens) if dens is not None else None}
        rows.append({"path": str(f), "params": params, "seed": int(seed) if seed is not None else None,
                     "job_id": f"example:{f.parent.name}", "example_set": f.parent.name})
    return sorted(rows, key=lambda r: (r["params"]["cooling_rate_k_ps"] or 0.0, r["seed"] or 0))
