"""The periodic cell in the reduced form both MD engines take: lower-triangular rows (a along x, b in the xy
plane), OpenMM's reduced box and LAMMPS's restricted triclinic box."""
from __future__ import annotations

import numpy as np


def reduced_cell(atoms):
    """Cell in the reduced (lower-triangular rows) form of OpenMM and LAMMPS and the rotation R with r_new = R r_old."""
    cell = np.asarray(atoms.get_cell())
    if abs(cell[0, 1]) < 1e-12 and abs(cell[0, 2]) < 1e-12 and abs(cell[1, 2]) < 1e-12:
        return cell.copy(), np.eye(3)
    rcell, Q = atoms.cell.standard_form()
    return np.asarray(rcell), np.asarray(Q)
