"""Resuming: where each structure is written, whether it is already there, and the saved state of an unfinished
batch (positions and noise-generator states as tensors, its identity as JSON)."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from amorph_core import __version__
from amorph_core.errors import AmorphError

#: where generate_structures keeps unfinished trajectories (under the output directory)
PARTIAL_DIR = ".partial"


def _partial_key(req, gen, schedule, seeds) -> tuple:
    """(key, identity): what must match for a saved trajectory to be continued; the key names its files."""
    import json

    ident = {k: v for k, v in req.to_dict().items() if k not in ("seeds", "device", "mode", "max_atoms_per_batch",
                                                                      "model")}
    ident.update(seeds=list(seeds), model_sha256_16=gen.model_sha, schedule=schedule.name, n_steps=schedule.n_steps,
                 device_type=gen.device.split(":")[0], amorph_version=__version__)
    text = json.dumps(ident, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16], json.loads(text)


def _save_partial(stem: Path, ident, step, state, gen_states, elapsed_s) -> None:
    """positions (Å), noise-generator states, step and elapsed seconds as tensors (.pt, no pickled objects), and
    the identity (+ step, for people) as JSON; each file written atomically. The .pt alone says where the run
    is, so a crash between the two writes cannot pair positions with another step."""
    import io
    import json

    import torch

    from amorph_core.fileio import atomic_write

    tensors = {"positions": state.positions.detach().cpu(), "step": torch.tensor(int(step)),
               "elapsed_s": torch.tensor(float(elapsed_s), dtype=torch.float64),
               **{f"gen{k}": g.cpu() for k, g in enumerate(gen_states)}}
    buf = io.BytesIO()
    torch.save(tensors, buf)
    atomic_write(stem.with_suffix(".pt"), buf.getvalue())
    atomic_write(stem.with_suffix(".json"), json.dumps({**ident, "step": int(step)}, indent=1))


def _load_partial(stem: Path, ident, state, n_gens):
    """(step, positions, generator states, elapsed_s) of a saved trajectory matching ident, or None."""
    import json

    import torch

    js, pt = stem.with_suffix(".json"), stem.with_suffix(".pt")
    if not (js.exists() and pt.exists()):
        return None
    try:
        meta = json.loads(js.read_text())
        tensors = torch.load(pt, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise AmorphError(f"unfinished trajectory {pt} cannot be read ({type(exc).__name__}: "
                          f"{str(exc).splitlines()[0][:120]}); delete {stem}.* to start again") from None
    if {k: meta.get(k) for k in ident} != ident:
        return None
    pos = tensors.get("positions")
    gens = [tensors.get(f"gen{k}") for k in range(n_gens)]
    if pos is None or tuple(pos.shape) != tuple(state.positions.shape) or any(g is None for g in gens) \
            or "step" not in tensors or "elapsed_s" not in tensors:
        raise AmorphError(f"unfinished trajectory {pt} does not fit this request; delete {stem}.* to start again")
    return (int(tensors["step"]), pos.to(state.positions.device, state.positions.dtype), gens,
            float(tensors["elapsed_s"]))


def output_path(out_dir, system: str, rate_k_ps: float | None, n_atoms: int, seed: int) -> Path:
    """Where generate_structures writes the structure of one seed."""
    rate = rate_k_ps
    tag = f"_{rate:g}Kps" if rate is not None else ""
    return Path(out_dir) / f"{system}{tag}_{n_atoms}at_seed{seed}.extxyz"


def _finished(path: Path, atoms, seed: int, gen, schedule, req, rate: float | None) -> bool:
    """Whether path holds this seed's finished structure of the same request (conditioned on rate, K/ps), model
    and schedule (start: atoms), so that a resumed run need not make it again."""
    from amorph_core.structures.io import read_structure

    if not path.exists():
        return False
    try:
        done = read_structure(path)
    except Exception:  # unreadable (not ours): made again
        return False
    info = done.info
    return (int(info.get("seed", -1)) == seed and info.get("model_sha256_16") == gen.model_sha
            and info.get("schedule") == schedule.name and int(info.get("n_steps", -1)) == schedule.n_steps
            and (rate is None or abs(float(info.get("cooling_rate_k_ps", -1.0)) - rate) <= 1e-9 * rate)
            and len(done) == len(atoms) and np.allclose(done.cell.array, atoms.cell.array, atol=1e-6)
            and float(info.get("rate_guidance", 0.0)) == float(req.rate_guidance)
            and bool(info.get("tf32", False)) == (gen.tf32 and gen.device.startswith("cuda")))
