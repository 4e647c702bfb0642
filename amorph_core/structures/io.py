"""Structure I/O. Everything goes through ase.io; LAMMPS data files (type 1 = O, type 2 = Si) are accepted."""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from ase import Atoms

from amorph_core.errors import AmorphError
from amorph_core.fileio import atomic_write

#: default LAMMPS type -> element map (the DM2 silica files)
LAMMPS_TYPES_SIO2 = {1: "O", 2: "Si"}
#: output formats offered for download: key -> (ase format, file suffix)
EXPORT_FORMATS = {
    "extxyz": ("extxyz", ".extxyz"),
    "lammps-data": ("lammps-data", ".data"),
    "cif": ("cif", ".cif"),
    "poscar": ("vasp", ".vasp"),
}


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
        raise AmorphError(f"{path.name}: looks like a LAMMPS data file but could not be read ({last})")
    types = atoms.arrays.get("type")
    if types is not None and (type_map or set(atoms.get_chemical_symbols()) - {"Si", "O", "Cu", "Zr"}):
        tm = type_map or LAMMPS_TYPES_SIO2
        try:
            atoms.set_chemical_symbols([tm[int(t)] for t in types])
        except KeyError as exc:
            raise AmorphError(f"{path.name}: LAMMPS atom type {exc} has no element (map: {tm})") from None
    # unwrap-independent: keep positions wrapped in the cell
    atoms.wrap()
    for key in ("type", "id", "mmcharges", "initial_charges", "mol-id", "travel"):
        if key in atoms.arrays and key not in ("numbers", "positions"):
            del atoms.arrays[key]
    return atoms


def validate_atoms(atoms: Atoms, name: str = "structure", need_cell: bool = True) -> Atoms:
    """Check that atoms is a usable periodic structure; raise AmorphError saying what is wrong."""
    if len(atoms) == 0:
        raise AmorphError(f"{name}: contains no atoms")
    pos = atoms.get_positions()
    if not np.all(np.isfinite(pos)):
        raise AmorphError(f"{name}: coordinates contain NaN or infinite values")
    if need_cell:
        cell = atoms.cell
        if cell.rank < 3 or abs(cell.volume) < 1e-6:
            raise AmorphError(
                f"{name}: has no periodic cell (3 lattice vectors are needed; an .xyz file "
                f"without a Lattice= line has none: use extxyz, CIF, POSCAR or LAMMPS data)"
            )
        if not all(atoms.pbc):
            atoms.pbc = True
    return atoms


def read_structure(path, format: str | None = None, index=-1, type_map: dict | None = None,
                   need_cell: bool = True) -> Atoms:
    """Read one structure from any file ase reads, or a LAMMPS data file; raise AmorphError if unusable."""
    from ase.io import read

    path = Path(path)
    if not path.exists():
        raise AmorphError(f"{path}: no such file")
    if path.is_dir():
        raise AmorphError(f"{path}: is a directory, not a structure file")
    if path.stat().st_size == 0:
        raise AmorphError(f"{path.name}: file is empty")
    fmt = format
    if fmt in (None, "lammps-data", "lammps", "data") and (fmt or _looks_like_lammps_data(path)):
        atoms = _read_lammps_data(path, type_map)
    else:
        try:
            atoms = read(str(path), index=index, format=fmt)
        except Exception as exc:
            raise AmorphError(
                f"{path.name}: not a structure file ase can read ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else 'unrecognised format'})"
            ) from None
        if isinstance(atoms, list):
            if not atoms:
                raise AmorphError(f"{path.name}: contains no structures")
            atoms = atoms[-1]
    return validate_atoms(atoms, path.name, need_cell=need_cell)


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
    types ordered O, Si (the DM2 files' 1 = O, 2 = Si) then alphabetically, and for a-SiO2 atom_style charge
    with the BJP charges, so that `read_data` works with the shipped potential (amorph_core.md)."""
    order = sorted(set(atoms.get_chemical_symbols()), key=lambda s: ({"O": 1, "Si": 2}.get(s, 3), s))
    atoms.info["lammps_types"] = " ".join(f"{i + 1}={el}" for i, el in enumerate(order))
    style = "atomic"
    if set(order) <= {"Si", "O"}:
        from amorph_core.md.potentials import BJPPotential

        charges = BJPPotential().charges
        atoms.set_initial_charges([charges[el] for el in atoms.get_chemical_symbols()])
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
