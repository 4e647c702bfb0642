"""Checks at the boundary, shared by the CLI, the app and the core API: every user-facing number, seed, output
path and structure is checked once, before work starts, and every result once before it is reported.

Each check raises AmorphError with the parameter's name, the accepted range and its unit, and returns the value
in its clean form (a float, an int, a Path). Nothing here imports torch or streamlit.
"""
from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path

import numpy as np

from amorph_core.errors import AmorphError

#: seeds are 0 .. MAX_SEED (numpy and torch generators take them; the sampler adds an offset)
MAX_SEED = 2 ** 31 - 1
#: most structures (seeds) in one request
MAX_SEEDS = 10_000
#: largest rate guidance accepted (generate.Generator.check_guidance)
MAX_RATE_GUIDANCE = 4.0
#: most atoms in one structure read from a file
MAX_ATOMS_READ = 5_000_000
#: atoms closer than this (Å) coincide: angles and forces are undefined. Kept this small because a structure taken
#: from a short or early-stopped generation (a uniform random start, few steps) legitimately holds close pairs
MIN_DISTANCE_A = 0.01
#: atoms may lie this many cell lengths outside the cell (unwrapped MD output); beyond, the coordinates are garbage
MAX_CELLS_AWAY = 1000.0
#: accepted densities relative to the system's typical density (the same bounds as requested densities)
DENSITY_FACTORS = (0.2, 3.0)
#: generator memory per atom (bytes): the largest measured peak per atom (112,848 atoms, 29.1 GiB on an H100)
GENERATION_BYTES_PER_ATOM = 280_000


def _fmt(v) -> str:
    return f"{v:g}" if isinstance(v, float) or (isinstance(v, int) and abs(v) > 10 ** 12) else str(v)


def number(value, name: str, unit: str = "", *, lo=None, hi=None, lo_open: bool = False, hi_open: bool = False,
           integer: bool = False):
    """value as a finite float (or int with integer=True) within [lo, hi] (open ends with lo_open / hi_open)."""
    u = f" {unit}" if unit else ""
    positive = lo == 0 and lo_open or (integer and lo == 1 and not lo_open)
    kind = ("a positive " if positive else "a ") + ("whole number" if integer else "finite number")
    rng = []
    if lo is not None and not positive:
        rng.append(f"{'>' if lo_open else '>='} {_fmt(lo)}{u}")
    if hi is not None:
        rng.append(f"{'<' if hi_open else '<='} {_fmt(hi)}{u}")
    want = f"{name} must be {kind}" + (f" ({' and '.join(rng)})" if rng else (f" of {unit}" if unit else ""))
    if isinstance(value, bool):
        raise AmorphError(f"{want}, got {value!r}")
    try:
        if integer:
            if isinstance(value, float):
                if not (math.isfinite(value) and value == int(value)):
                    raise ValueError
                v = int(value)
            else:
                v = int(str(value).strip()) if isinstance(value, str) else int(value)
        else:
            v = float(value)
    except (TypeError, ValueError, OverflowError):
        raise AmorphError(f"{want}, got {value!r}") from None
    if not integer and not math.isfinite(v):
        raise AmorphError(f"{want}, got {value!r}")
    if lo is not None and (v < lo or (lo_open and v == lo)):
        raise AmorphError(f"{want}, got {_fmt(v)}")
    if hi is not None and (v > hi or (hi_open and v == hi)):
        raise AmorphError(f"{want}, got {_fmt(v)}")
    return v


def seed(value, name: str = "seed") -> int:
    """A random seed: a whole number 0..MAX_SEED."""
    return number(value, name, lo=0, hi=MAX_SEED, integer=True)


def seeds(values, name: str = "seeds") -> tuple:
    """A non-empty tuple of distinct valid seeds, at most MAX_SEEDS of them."""
    vals = tuple(values)
    if not vals:
        raise AmorphError(f"no {name} given: ask for at least one structure")
    if len(vals) > MAX_SEEDS:
        raise AmorphError(f"{len(vals)} {name} asked for; at most {MAX_SEEDS} in one request")
    out = tuple(seed(v, name[:-1] if name.endswith("s") else name) for v in vals)
    if len(set(out)) != len(out):
        raise AmorphError(f"{name} repeat a value: each seed gives one structure, so give each once")
    return out


# ------------------------------------------------------------------------------------------------ output paths
def _special(st) -> bool:
    return not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode))


def output_file(path, name: str = "output") -> Path:
    """An output file path that can be written (a new path or an existing regular file in an existing,
    writable folder); never a folder, FIFO, socket or device."""
    if path is None or str(path).strip() == "":
        raise AmorphError(f"{name}: empty file path")
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise AmorphError(f"{name} {p}: cannot use this path ({exc.strerror})") from None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise AmorphError(f"{name} {p}: is a folder; give a file name")
        if _special(st):
            raise AmorphError(f"{name} {p}: is not a regular file (a pipe, socket or device); give a file name")
        if not os.access(p, os.W_OK):
            raise AmorphError(f"{name} {p}: file is not writable")
    parent = p.parent
    if not parent.is_dir():
        raise AmorphError(f"{name} {p}: not a writable path: folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise AmorphError(f"{name} {p}: folder {parent} is not writable")
    return p


def output_dir(path, name: str = "output folder") -> Path:
    """An output folder: an existing writable folder, or a new one whose nearest existing parent is a writable
    folder (nothing is created here)."""
    if path is None or str(path).strip() == "":
        raise AmorphError(f"{name}: empty folder path")
    p = Path(path)
    if p.exists():
        if not p.is_dir():
            raise AmorphError(f"{name} {p}: exists and is not a folder")
        if not os.access(p, os.W_OK | os.X_OK):
            raise AmorphError(f"{name} {p}: folder is not writable")
        return p
    anc = p.parent
    while not anc.exists() and anc != anc.parent:
        anc = anc.parent
    if not anc.is_dir():
        raise AmorphError(f"{name} {p}: {anc} is a file, so the folder cannot be made")
    if not os.access(anc, os.W_OK | os.X_OK):
        raise AmorphError(f"{name} {p}: cannot make it inside {anc} (not writable)")
    return p


# ------------------------------------------------------------------------------------------------ structures
def cell_widths(cell) -> np.ndarray:
    """Perpendicular widths (Å) of a 3x3 cell (distance between opposite faces)."""
    cell = np.asarray(cell, float)
    vol = abs(np.linalg.det(cell))
    return np.array([vol / max(np.linalg.norm(np.cross(cell[(i + 1) % 3], cell[(i + 2) % 3])), 1e-300)
                     for i in range(3)])


def min_distance(atoms, cutoff_a: float) -> float:
    """Shortest interatomic distance (Å) under periodic boundaries if below cutoff_a, else inf."""
    from vesin import NeighborList

    if len(atoms) < 2 and min(cell_widths(atoms.cell.array)) >= cutoff_a:
        return float("inf")
    d = NeighborList(cutoff=float(cutoff_a), full_list=False).compute(
        points=np.asarray(atoms.get_positions(), float), box=np.asarray(atoms.cell.array, float), periodic=True,
        quantities="d")
    d = np.asarray(d[0] if isinstance(d, (tuple, list)) else d)
    return float(d.min()) if len(d) else float("inf")


def check_structure(atoms, name: str = "structure", need_cell: bool = True,
                    min_distance_a: float = MIN_DISTANCE_A):
    """Refuse a structure no analysis or MD can use: no atoms or too many, unknown elements, non-finite
    coordinates or cell, no 3D cell or a degenerate one, a density far from its system's (0.2..3x), atoms closer
    than min_distance_a (Å). Returns atoms (with pbc set when it has a cell)."""
    from amorph_core.structures.density import AMU_PER_A3_TO_G_CM3
    from amorph_core.systems import guess_system

    n = len(atoms)
    if n == 0:
        raise AmorphError(f"{name}: contains no atoms")
    if n > MAX_ATOMS_READ:
        raise AmorphError(f"{name}: {n} atoms; at most {MAX_ATOMS_READ} are accepted")
    pos = np.asarray(atoms.get_positions(), float)
    if pos.shape != (n, 3) or not np.all(np.isfinite(pos)):
        raise AmorphError(f"{name}: coordinates contain NaN or infinite values")
    try:
        sys_ = guess_system(atoms.get_chemical_symbols())  # names unknown elements
    except AmorphError as exc:
        raise AmorphError(f"{name}: {exc}") from None
    cell = np.asarray(atoms.cell.array, float)
    if not np.all(np.isfinite(cell)):
        raise AmorphError(f"{name}: the cell contains NaN or infinite values")
    if not need_cell and atoms.cell.rank < 3:
        return atoms
    vol = abs(float(np.linalg.det(cell)))
    if atoms.cell.rank < 3 or vol < 1e-6:
        raise AmorphError(
            f"{name}: has no periodic cell (3 lattice vectors are needed; an .xyz file without a Lattice= line "
            f"has none: use extxyz, CIF, POSCAR or LAMMPS data)")
    dens = float(atoms.get_masses().sum()) / vol * AMU_PER_A3_TO_G_CM3
    ref = sys_.default_density_g_cm3
    lo, hi = DENSITY_FACTORS[0] * ref, DENSITY_FACTORS[1] * ref
    if not lo <= dens <= hi:
        raise AmorphError(
            f"{name}: density {dens:.3g} g/cm3 (cell volume {vol:.4g} Å3 for {n} atoms) is impossible for "
            f"{sys_.label} (accepted {lo:.2f}..{hi:.2f} g/cm3): is the cell in Å and does it hold every atom?")
    frac = np.linalg.solve(cell.T, pos.T).T
    if np.abs(frac).max() > MAX_CELLS_AWAY:
        raise AmorphError(f"{name}: atoms lie more than {MAX_CELLS_AWAY:g} cell lengths outside the cell: are the "
                          "coordinates in Å, and is the cell the structure's?")
    if not all(atoms.pbc):
        atoms.pbc = True
    if min_distance_a:
        dmin = min_distance(atoms, min_distance_a)
        if dmin < min_distance_a:
            raise AmorphError(f"{name}: atoms {dmin:.3f} Å apart (< {min_distance_a:g} Å): overlapping atoms; "
                              "no analysis or MD is meaningful on them")
    return atoms


# ------------------------------------------------------------------------------------------------ results
def first_non_finite(obj, path: str = ""):
    """The path (e.g. 'summary.young_fit_gpa') of the first NaN or infinite number in a JSON-like object, or
    None if every number is finite."""
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return None
    if isinstance(obj, (float, int, np.floating, np.integer)):
        return None if math.isfinite(float(obj)) else (path or "value")
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in "fc" and not np.all(np.isfinite(obj)):
            return path or "value"
        return None
    if isinstance(obj, dict):
        items = obj.items()
    elif isinstance(obj, (list, tuple)):
        items = enumerate(obj)
    else:
        return None
    for k, v in items:
        bad = first_non_finite(v, f"{path}.{k}" if path else str(k))
        if bad is not None:
            return bad
    return None


def finite_result(obj, what: str = "result"):
    """obj, or AmorphError naming the first NaN or infinite number in it (a result is never reported with one)."""
    bad = first_non_finite(obj)
    if bad is not None:
        raise AmorphError(f"{what}: {bad} is not a finite number; the computation failed on this input and no "
                          "result is reported")
    return obj


def results_json(obj, what: str = "result") -> str:
    """obj as indented JSON after finite_result (strict JSON: no NaN or Infinity)."""
    return json.dumps(finite_result(obj, what), indent=1, allow_nan=False, default=_plain)


def _plain(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


def write_results(path, text: str, name: str = "--json") -> Path:
    """Write text atomically to path (checked by output_file); AmorphError (no traceback) if that fails."""
    from amorph_core.fileio import atomic_write

    p = output_file(path, name)
    try:
        return atomic_write(p, text)
    except OSError as exc:
        raise AmorphError(f"cannot write {p}: {exc.strerror or exc}") from None


# ------------------------------------------------------------------------------------------------ memory
def available_memory_bytes(device: str = "cpu") -> int | None:
    """Free memory (bytes) for work on device ('cpu' or 'cuda[:k]'): MemAvailable, or the GPU's total; None when
    unknown."""
    if str(device).startswith("cuda"):
        try:
            import torch

            idx = torch.device(device).index or 0
            return int(torch.cuda.get_device_properties(idx).total_memory)
        except Exception:  # noqa: BLE001 - unknown is allowed
            return None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def check_generation_memory(n_atoms: int, device: str = "cpu") -> None:
    """Refuse a structure whose estimated generator memory (GENERATION_BYTES_PER_ATOM) exceeds the device's."""
    need = int(n_atoms) * GENERATION_BYTES_PER_ATOM
    have = available_memory_bytes(device)
    if have is not None and need > have:
        raise AmorphError(
            f"{n_atoms} atoms need about {need / 2 ** 30:.1f} GiB to generate ({GENERATION_BYTES_PER_ATOM / 1e6:.2f} "
            f"MB per atom), more than the {have / 2 ** 30:.1f} GiB {'free' if device == 'cpu' else 'on the GPU'}: "
            "ask for fewer atoms or a smaller box")


def save_results(path, obj, what: str = "results", name: str = "--json") -> Path:
    """Write obj as strict JSON to path (results_json + write_results). If the write fails, the computed results
    are printed on stdout before the AmorphError, so nothing computed is lost."""
    text = results_json(obj, what)
    try:
        return write_results(path, text, name)
    except AmorphError as exc:
        print(text, flush=True)
        raise AmorphError(f"{exc}; the {what} were printed on stdout instead") from None


# ------------------------------------------------------------------------------------------------ generation
def predicted_atoms(req) -> int:
    """The number of atoms a GenerationRequest's start will hold (from n_atoms, or its box at the requested or
    typical density), computed without building it."""
    from amorph_core.structures.density import AMU_PER_A3_TO_G_CM3
    from amorph_core.structures.starts import _mass_amu
    from amorph_core.systems import get_system

    sys_ = get_system(req.system)
    if req.n_atoms is not None:
        return int(req.n_atoms)
    box = np.asarray(req.box, float)
    d = req.wall_density_g_cm3 if req.pore_radius_a is not None and req.wall_density_g_cm3 is not None \
        else req.density_g_cm3
    d = float(d) if d is not None else sys_.default_density_g_cm3
    unit = _mass_amu([el for el, c in sys_.formula.items() for _ in range(c)])
    with np.errstate(over="ignore"):
        n = d * float(np.prod(box)) / AMU_PER_A3_TO_G_CM3 / unit * sys_.atoms_per_formula
    return int(round(n)) if math.isfinite(n) and n < 1e15 else 10 ** 15


def check_generation_request(req) -> None:
    """Refuse a GenerationRequest before anything is built or loaded: seeds, sizes (atoms, box, aspect), densities,
    pore, guidance as numbers in range with their units, and a structure that fits the device's memory."""
    from amorph_core.systems import get_system

    get_system(req.system)
    seeds(req.seeds)
    if req.n_atoms is None and req.box is None:
        raise AmorphError("give the number of atoms or the box lengths (Å)")
    if req.n_atoms is not None:
        number(req.n_atoms, "number of atoms", lo=1, integer=True)
    for what, vals in (("box", req.box), ("aspect", req.aspect)):
        if vals is None:
            continue
        try:
            arr = [float(v) for v in vals]
        except (TypeError, ValueError):
            arr = []
        if len(arr) != 3 or not all(math.isfinite(v) and v > 0 for v in arr):
            unit = " in Å" if what == "box" else ""
            raise AmorphError(f"{what} must be three positive finite numbers Lx,Ly,Lz{unit}, got {vals!r}")
    if req.density_g_cm3 is not None:
        number(req.density_g_cm3, "density", "g/cm3", lo=0, lo_open=True)
    if req.cooling_rate_k_ps is not None:
        number(req.cooling_rate_k_ps, "cooling rate", "K/ps", lo=0, lo_open=True)
    if req.pore_radius_a is not None:
        number(req.pore_radius_a, "pore radius", "Å", lo=0, lo_open=True)
    if req.wall_density_g_cm3 is not None:
        if req.pore_radius_a is None:
            raise AmorphError("a wall density applies to porous starts only: give a pore radius (Å) too, or use the "
                              "density")
        number(req.wall_density_g_cm3, "wall density", "g/cm3", lo=0, lo_open=True)
    number(req.rate_guidance, "rate guidance", lo=0, hi=MAX_RATE_GUIDANCE)
    n = predicted_atoms(req)
    if n > MAX_ATOMS_READ:
        raise AmorphError(f"the request makes about {n:.3g} atoms per structure; at most {MAX_ATOMS_READ} are "
                          "accepted: use fewer atoms or a smaller box (Å)")
    device = str(req.device or "auto")
    if device == "auto":
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    check_generation_memory(n, device)
