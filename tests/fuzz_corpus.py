"""A corpus of broken (and a few valid) structure files for the fuzz suite: each a (file name, text) pair
written on demand, covering what users feed `amorph analyze` and `amorph md` by mistake."""
from __future__ import annotations

import io

import numpy as np
from ase import Atoms
from ase.io import write
from ase.spacegroup import crystal


def cristobalite(repeat: int = 2) -> Atoms:
    """beta-cristobalite SiO2 (2.33 g/cm3), 24 atoms per 7.16 Å cell, repeated."""
    return crystal(["Si", "O"], basis=[(0, 0, 0), (0.125, 0.125, 0.125)], spacegroup=227,
                   cellpar=[7.16] * 3 + [90] * 3).repeat(repeat)


def extxyz(atoms: Atoms) -> str:
    buf = io.StringIO()
    write(buf, atoms, format="extxyz")
    return buf.getvalue()


def _xyz(symbols, pos, lattice, pbc='T T T'):
    lat = " ".join(str(x) for x in np.ravel(lattice))
    lines = [str(len(symbols)), f'Lattice="{lat}" Properties=species:S:1:pos:R:3 pbc="{pbc}"']
    lines += [f"{s} {p[0]} {p[1]} {p[2]}" for s, p in zip(symbols, pos)]
    return "\n".join(lines) + "\n"


def _lammps(box, atoms_lines, n=None, types=2, style="atomic"):
    n = len(atoms_lines) if n is None else n
    lo, hi = box
    return (f"LAMMPS data\n\n{n} atoms\n{types} atom types\n\n{lo} {hi} xlo xhi\n{lo} {hi} ylo yhi\n"
            f"{lo} {hi} zlo zhi\n\nMasses\n\n1 15.999\n2 28.085\n\nAtoms # {style}\n\n" + "\n".join(atoms_lines) + "\n")


def broken_files() -> list:
    """[(name, text)] of files every reader must refuse with a clear error."""
    good = extxyz(cristobalite(2))
    lines = good.splitlines()
    sym3 = ["Si", "O", "O"]
    pos3 = [[0, 0, 0], [1.6, 0, 0], [0, 1.6, 0]]
    rng = np.random.default_rng(0)
    many = rng.random((60, 3)) * 9
    out = [
        ("empty.extxyz", ""),
        ("blank.extxyz", "\n\n\n"),
        ("words.txt", "this is not a structure\njust words\n"),
        ("binary.extxyz", "\x00\x01\x02\xff" * 50),
        ("truncated.extxyz", "\n".join(lines[: len(lines) // 2]) + "\n"),
        ("cut_mid_line.extxyz", "\n".join(lines[:-1] + [lines[-1].rsplit(" ", 2)[0]]) + "\n"),
        ("cut_last_lines.extxyz", "\n".join(lines[:-3]) + "\n"),
        ("second_frame_truncated.extxyz", good + "\n".join(lines[:50]) + "\n"),
        ("count_too_big.extxyz", "\n".join(["999"] + lines[1:]) + "\n"),
        ("count_negative.extxyz", "\n".join(["-5"] + lines[1:]) + "\n"),
        ("count_word.extxyz", "\n".join(["many"] + lines[1:]) + "\n"),
        ("nan_pos.extxyz", _xyz(sym3, [[0, 0, 0], ["nan", 0, 0], [1, 1, 1]], np.eye(3) * 6)),
        ("inf_pos.extxyz", _xyz(sym3, [[0, 0, 0], ["inf", 0, 0], [1, 1, 1]], np.eye(3) * 6)),
        ("nan_cell.extxyz", _xyz(sym3, pos3, [["nan", 0, 0], [0, 6, 0], [0, 0, 6]])),
        ("inf_cell.extxyz", _xyz(sym3, pos3, [["inf", 0, 0], [0, 6, 0], [0, 0, 6]])),
        ("zero_cell.extxyz", _xyz(sym3, pos3, np.zeros((3, 3)))),
        ("flat_cell.extxyz", _xyz(sym3, pos3, [[6, 0, 0], [0, 6, 0], [0, 0, 0]])),
        ("tiny_volume.extxyz", _xyz(sym3, pos3, np.eye(3) * 1e-3)),
        ("near_zero_volume.extxyz", _xyz(sym3 * 20, many, [[9, 0, 0], [0, 9, 0], [0, 0, 1e-4]])),
        ("skewed_dense.extxyz", _xyz(sym3 * 20, many, [[9, 0, 0], [8.99, 0.01, 0], [0, 0, 9]])),
        ("no_lattice.xyz", "3\n\nSi 0 0 0\nO 1.6 0 0\nO 0 1.6 0\n"),
        ("iron.extxyz", _xyz(["Fe", "O", "O"], pos3, np.eye(3) * 6)),
        ("unknown_symbol.extxyz", _xyz(["Xx", "O", "O"], pos3, np.eye(3) * 6)),
        ("mixed_systems.extxyz", _xyz(["Si", "O", "Cu"], pos3, np.eye(3) * 6)),
        ("coincident.extxyz", _xyz(["Si", "O", "O"] * 8, np.vstack([[[1, 1, 1]] * 2, rng.random((22, 3)) * 6.5]),
                                   np.eye(3) * 6.5)),
        ("one_atom_big_box.extxyz", _xyz(["Si"], [[0, 0, 0]], np.eye(3) * 40)),
        ("sparse.extxyz", _xyz(sym3, pos3, np.eye(3) * 30)),
        ("dense.extxyz", _xyz(sym3 * 20, many * 0.3, np.eye(3) * 2.7)),
        ("huge_coords.extxyz", _xyz(sym3, [[0, 0, 0], [1e308, 0, 0], [1, 1, 1]], np.eye(3) * 6)),
        ("lammps_zero_box.data", _lammps((0, 0), ["1 2 0 0 0", "2 1 1.6 0 0", "3 1 0 1.6 0"])),
        ("lammps_nan_box.data", _lammps((0, "nan"), ["1 2 0 0 0", "2 1 1.6 0 0", "3 1 0 1.6 0"])),
        ("lammps_no_atoms.data", _lammps((0, 6), [], n=3).replace("Atoms # atomic\n\n", "")),
        ("lammps_truncated.data", _lammps((0, 6), ["1 2 0 0 0"], n=3)),
        ("lammps_bad_type.data", _lammps((0, 6), ["1 7 0 0 0", "2 1 1.6 0 0", "3 1 0 1.6 0"], types=7)),
        ("lammps_word.data", _lammps((0, 6), ["1 2 x 0 0", "2 1 1.6 0 0", "3 1 0 1.6 0"])),
        ("cif_garbage.cif", "data_x\n_cell_length_a 5\n_cell_length_b\nloop_\n_atom_site_label\n"),
        ("poscar_garbage.vasp", "comment\n1.0\n5 0 0\n0 5\n"),
    ]
    return out


def write_corpus(folder) -> list:
    """Write broken_files() into folder; returns their paths."""
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in broken_files():
        p = folder / name
        p.write_text(text, errors="surrogateescape") if "\x00" not in text else p.write_bytes(text.encode("latin-1"))
        paths.append(p)
    return paths
