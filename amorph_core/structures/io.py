"""Structure I/O. Everything goes through ase.io; LAMMPS data files are accepted (atom types -> elements by the
type map of the glass system: `GlassSystem.lammps_type_map`; files without element names are read with
systems.DEFAULT_LAMMPS_SYSTEM's, the DM2 silica files' type 1 = O, type 2 = Si). Uploaded files (bytes from a
user: read_upload) are read the same way, within size limits, and formats that could unpickle are refused."""
from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path

import numpy as np
from ase import Atoms

from amorph_core.errors import AmorphError, strip_exception_names
from amorph_core.fileio import atomic_write
from amorph_core.systems import DEFAULT_LAMMPS_SYSTEM, SYSTEMS, get_system, known_elements

#: output formats offered for download: key -> (ase format, file suffix)
EXPORT_FORMATS = {
    "extxyz": ("extxyz", ".extxyz"),
    "lammps-data": ("lammps-data", ".data"),
    "cif": ("cif", ".cif"),
    "poscar": ("vasp", ".vasp"),
}
#: upload limits (read_upload)
MAX_UPLOAD_MB = 50
MAX_UPLOAD_ATOMS = 200_000
#: upload extensions never accepted (formats that may unpickle)
REFUSED_SUFFIXES = {".pkl", ".pickle", ".npy", ".npz", ".pt", ".pth", ".joblib", ".dill", ".db"}


def lammps_species_order(symbols) -> list:
    """Elements in LAMMPS type order: by the type map of the system holding them all, else alphabetically."""
    present = set(symbols)
    for s in SYSTEMS.values():
        if present and present <= set(s.lammps_type_map.values()):
            order = [el for _, el in sorted(s.lammps_type_map.items())]
            return [el for el in order if el in present]
    return sorted(present)


def _looks_like_lammps_data(path: Path) -> bool:
    try:
        with open(path, "r", errors="replace") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    return "xlo xhi" in head and "atoms" in head


def _read_lammps_data(path: Path, type_map: dict | None) -> Atoms:
    from ase.io.lammpsdata import read_lammps_data

    text = open(path, errors="replace").read()
    style = "charge" if "Atoms # charge" in text else ("atomic" if "Atoms # atomic" in text else None)
    styles = [style] if style else ["charge", "atomic", "full"]
    last = None
    for st in styles:
        try:
            atoms = read_lammps_data(str(path), atom_style=st, units="real" if "units = real" in text else "metal")
            break
        except Exception as exc:  # try the next atom style
            last = exc
    else:
        raise AmorphError(f"{path.name}: looks like a LAMMPS data file but could not be read "
                          f"({_reader_message(last)})")
    types = atoms.arrays.get("type")
    if types is not None and (type_map or set(atoms.get_chemical_symbols()) - known_elements()):
        tm = type_map or get_system(DEFAULT_LAMMPS_SYSTEM).lammps_type_map
        try:
            atoms.set_chemical_symbols([tm[int(t)] for t in types])
        except KeyError as exc:
            raise AmorphError(f"{path.name}: LAMMPS atom type {exc} has no element (map: {tm})") from None
    for key in ("type", "id", "mmcharges", "initial_charges", "mol-id", "travel"):
        if key in atoms.arrays and key not in ("numbers", "positions"):
            del atoms.arrays[key]
    return atoms


def validate_atoms(atoms: Atoms, name: str = "structure", need_cell: bool = True) -> Atoms:
    """Check that atoms is a usable periodic structure (validation.check_structure); raise AmorphError saying
    what is wrong."""
    from amorph_core.validation import check_structure

    return check_structure(atoms, name, need_cell=need_cell)


def _reader_message(exc: Exception) -> str:
    """A reader's failure in words a user can act on: its own message where that is one (a short ValueError
    naming the problem), a plain description where the reader tripped over its own internals."""
    if isinstance(exc, UnicodeDecodeError):
        return "binary content where text was expected"
    if isinstance(exc, KeyError):
        return "unknown element symbol or atom type"
    text = str(exc).splitlines()[0].strip() if str(exc).strip() else ""
    internals = ("local variable", "literal", "array", "shape", "np.", "index", "object", "attribute", "NoneType",
                 "tuple")
    if isinstance(exc, ValueError) and text and len(text) <= 120 and not any(w in text for w in internals):
        return text
    return "malformed or truncated file"


def read_structure(path, format: str | None = None, index=-1, type_map: dict | None = None,
                   need_cell: bool = True) -> Atoms:
    """Read one structure from any file ase reads, or a LAMMPS data file; raise AmorphError if unusable."""
    from ase.io import read

    path = Path(path)
    if not path.exists():
        raise AmorphError(f"{path}: no such file")
    if path.is_dir():
        raise AmorphError(f"{path}: is a directory, not a structure file")
    if not path.is_file():
        raise AmorphError(f"{path}: is not a regular file (a pipe, socket or device)")
    if path.stat().st_size == 0:
        raise AmorphError(f"{path.name}: file is empty")
    fmt = format
    if fmt in (None, "lammps-data", "lammps", "data") and (fmt or _looks_like_lammps_data(path)):
        atoms = validate_atoms(_read_lammps_data(path, type_map), path.name, need_cell=need_cell)
        atoms.wrap()  # keep positions wrapped in the cell (checked finite and non-degenerate first)
        return atoms
    else:
        try:
            atoms = read(str(path), index=index, format=fmt)
        except Exception as exc:
            raise AmorphError(f"{path.name}: not a structure file that can be read ({_reader_message(exc)})") from None
        if isinstance(atoms, list):
            if not atoms:
                raise AmorphError(f"{path.name}: contains no structures")
            atoms = atoms[-1]
    return validate_atoms(atoms, path.name, need_cell=need_cell)


def read_upload(name: str, data: bytes, max_mb: float = MAX_UPLOAD_MB, max_atoms: int = MAX_UPLOAD_ATOMS) -> Atoms:
    """Read an uploaded structure file (any format ase reads, or LAMMPS data) from its bytes.

    Written to a private temp file with the upload's suffix and read with read_structure; formats that
    could unpickle are refused. Raises AmorphError saying what is wrong, naming the upload (never the temp file)
    and no Python class.
    """
    name = os.path.basename(str(name or "upload"))
    suffix = "".join(Path(name).suffixes[-2:]).lower() if name.endswith(".gz") else Path(name).suffix.lower()
    if Path(name).suffix.lower() in REFUSED_SUFFIXES:
        raise AmorphError(f"{name}: {Path(name).suffix} files are not accepted (they could run code when "
                          f"loaded); upload extxyz, CIF, POSCAR, LAMMPS data or another text format ase reads")
    if len(data) > max_mb * 1e6:
        raise AmorphError(f"{name}: file is {len(data) / 1e6:.1f} MB; the limit is {max_mb:g} MB")
    if not data:
        raise AmorphError(f"{name}: file is empty")
    fd, tmp = tempfile.mkstemp(suffix=suffix or ".dat", prefix="amorph-upload-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        try:
            atoms = read_structure(tmp)
        except Exception as exc:  # the message names the upload, not the temp file, and no Python class
            msg = str(exc).replace(tmp, name).replace(os.path.basename(tmp), name)
            raise AmorphError(strip_exception_names(msg).strip() or "unexpected problem (no details)") from None
    finally:
        os.unlink(tmp)
    if len(atoms) > max_atoms:
        raise AmorphError(f"{name}: {len(atoms)} atoms; the app accepts at most {max_atoms}")
    atoms.info.setdefault("source", name)
    return atoms


def _metadata_comment(atoms: Atoms) -> str:
    meta = {}
    for k, v in atoms.info.items():
        if isinstance(v, np.generic):  # ase reads extxyz numbers back as numpy scalars
            v = v.item()
        if isinstance(v, (str, int, float, bool)):
            meta[k] = v
    return "amorph " + json.dumps(meta, sort_keys=True)


def _lammps_export(atoms: Atoms) -> dict:
    """ase write_lammps_data arguments for a structure, and its type map and charges recorded in atoms.info
    (the file's first line): a Masses section with element comments (ase and LAMMPS read the elements back),
    types in the system's LAMMPS type order (lammps_species_order; a-SiO2: 1 = O, 2 = Si as in the DM2 files),
    and for a system with a charged potential (a-SiO2: BJP) atom_style charge with its charges, so that
    `read_data` works with the shipped potential (amorph_core.md)."""
    symbols = atoms.get_chemical_symbols()
    order = lammps_species_order(symbols)
    atoms.info["lammps_types"] = " ".join(f"{i + 1}={el}" for i, el in enumerate(order))
    style = "atomic"
    system = next((sy for sy in SYSTEMS.values() if set(order) <= set(sy.elements)), None)
    charges = dict(system.charges) if system is not None else {}
    if charges and set(order) <= set(charges):
        atoms.set_initial_charges([charges[el] for el in symbols])
        atoms.info["lammps_charges"] = " ".join(f"{el}={charges[el]:g}" for el in order)
        style = "charge"
    atoms.info["lammps_atom_style"] = style
    return {"atom_style": style, "specorder": order, "masses": True, "units": "metal"}


def structure_to_bytes(atoms: Atoms, fmt: str = "extxyz") -> bytes:
    """Serialise a structure for download; generation parameters are embedded where the format allows."""
    if fmt not in EXPORT_FORMATS:
        raise AmorphError(f"unknown export format '{fmt}' (choose from {', '.join(EXPORT_FORMATS)})")
    from ase.io import write
    from ase.io.formats import ioformats

    ase_fmt, _ = EXPORT_FORMATS[fmt]
    atoms = atoms.copy()
    binary = ioformats[ase_fmt].isbinary
    buf = io.BytesIO() if binary else io.StringIO()
    kwargs = {}
    if ase_fmt == "lammps-data":
        kwargs = _lammps_export(atoms)
    if ase_fmt == "vasp":
        kwargs = {"direct": True, "sort": True}
    write(buf, atoms, format=ase_fmt, **kwargs)
    data = buf.getvalue()
    if isinstance(data, str):
        data = data.encode()
    if ase_fmt in ("lammps-data", "vasp"):
        # the first line of LAMMPS data and POSCAR files is a free comment: put the parameters there
        first, rest = data.split(b"\n", 1)
        data = _metadata_comment(atoms).encode() + b"\n" + rest
    elif ase_fmt == "cif":
        data = b"# " + _metadata_comment(atoms).encode() + b"\n" + data
    return data


def write_structure(atoms: Atoms, path, fmt: str | None = None) -> Path:
    """Write atoms to path atomically (temp file + rename), format from fmt or the suffix."""
    path = Path(path)
    if fmt is None:
        suffix = path.suffix.lower()
        fmt = {".extxyz": "extxyz", ".xyz": "extxyz", ".data": "lammps-data", ".lmp": "lammps-data",
               ".cif": "cif", ".vasp": "poscar", ".poscar": "poscar"}.get(suffix, "extxyz")
    return atomic_write(path, structure_to_bytes(atoms, fmt))


def plain_info(atoms) -> dict:
    """atoms.info with numpy scalars turned into Python numbers; arrays and objects left out."""
    out = {}
    for k, v in atoms.info.items():
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, (str, int, float, bool)):
            out[k] = v
    return out
