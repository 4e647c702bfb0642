"""K-gap check (issue 3): two recipes found in public sources, on reference glass s0 of 1 K/ps (LAMMPS, CPU).

A  'realunits': the BJP table as a LAMMPS *units real* input carries it (kcal/mol numbers, e.g. A_SiSi 0.0276344,
   C_SiSi 580.030; the DM2 glasses were written with units real). Those numbers are the eV table x 23.0287, not
   x 23.0605, so relative to the Coulomb term every A and C is 0.138% smaller. Static moduli exactly as
   amorph_core.md.mechanics.elastic_moduli (0 K, relaxed, strain 1e-3) with that potential.
B  'amorphouspy': the elastic workflow of glasagent/amorphouspy (properties/elastic.py, workflows/elastic_mod.py):
   300 K NVT, cell made cubic at the same volume, +-1e-3 strain (central difference), 10 ps per strained state,
   stress averaged over the second half (5 ps), C11/C12/C44 averaged over components, K = (C11 + 2 C12)/3,
   G = Hill of (C11, C12, C44). Run with our elastic_moduli_md (NVT Nose-Hoover 0.1 ps, total stress incl.
   kinetic part); its 10-block standard errors give the noise of one such measurement (Monte Carlo).

Usage: OMP_NUM_THREADS=1 python benchmarks/kgap_recipes.py [A] [B]   -> benchmarks/results/md/kgap_recipes.json
"""
from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

from amorph_core.md import mechanics
from amorph_core.md.potentials import get_potential
from amorph_core.structures import reference_glasses

OUT = Path(__file__).parent / "results" / "md" / "kgap_recipes.json"

# kcal/mol table of a public LAMMPS 'units real' BJP input ("# Jakse potential", hybrid/overlay born 8.0
# coul/dsf 0.25 8.0, type 1 = O, type 2 = Si): (A kcal/mol, rho, sigma, C kcal/mol A^6, D)
REAL_TABLE = {("Si", "Si"): (0.0276344, 0.0460, 1.4408, 580.030, 0.0),
              ("Si", "O"): (0.16120, 0.1560, 2.5419, 1066.0667, 0.0),
              ("O", "O"): (0.276344, 0.2630, 3.6430, 1959.372, 0.0)}
QQR2E_REAL, QQR2E_METAL = 332.06371, 14.399645  # LAMMPS force->qqr2e: Coulomb constant in each unit system
KCAL_PER_EV = QQR2E_REAL / QQR2E_METAL  # so that short-range/Coulomb ratio is exactly that of the real-units run


def _save(res):
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(res, indent=1))


def amorphouspy_moduli(C):
    """amorphouspy.isotropic_moduli_from_Cij: component averages, K=(C11+2C12)/3, G Hill of cubic (C11,C12,C44)."""
    C = 0.5 * (np.asarray(C) + np.asarray(C).T)
    c11 = np.mean(np.diag(C)[:3]); c12 = np.mean([C[0, 1], C[0, 2], C[1, 2]]); c44 = np.mean(np.diag(C)[3:])
    K = (c11 + 2 * c12) / 3
    gv = (c11 - c12 + 3 * c44) / 5
    gr = 5 * c44 * (c11 - c12) / (4 * c44 + 3 * (c11 - c12))
    G = 0.5 * (gv + gr)
    return {"K": K, "G": G, "E": 9 * K * G / (3 * K + G), "nu": (3 * K - 2 * G) / (2 * (3 * K + G)),
            "C11": c11, "C12": c12, "C44": c44}


def part_a(atoms, res):
    born = {k: (A / KCAL_PER_EV, rho, sig, C / KCAL_PER_EV, D) for k, (A, rho, sig, C, D) in REAL_TABLE.items()}
    pot = dataclasses.replace(get_potential("sio2"), born=born)
    orig = mechanics.potential_for
    mechanics.potential_for = lambda a: pot
    try:
        t0 = time.time()
        r = mechanics.elastic_moduli(atoms, engine="lammps", strain=1e-3, fmax=1e-4)
    finally:
        mechanics.potential_for = orig
    r["born_params_ev"] = {f"{a}-{b}": v for (a, b), v in born.items()}
    r["kcal_per_ev_used"] = KCAL_PER_EV
    r["command"] = "OMP_NUM_THREADS=1 python benchmarks/kgap_recipes.py A"
    r["wall_s"] = time.time() - t0
    res["A_realunits_static"] = r
    _save(res)
    print("A", {k: round(r[k], 3) for k in ("K_GPa", "G_GPa", "E_GPa", "poisson", "fmax_residual_ev_a")}, flush=True)


def part_b(atoms, res):
    a = atoms.copy()
    L = a.get_volume() ** (1 / 3)
    a.set_cell([L, L, L], scale_atoms=True)  # amorphouspy: cubic cell of the same volume
    t0 = time.time()
    r = mechanics.elastic_moduli_md(a, engine="lammps", temperature_k=300.0, strain=1e-3, equil_ps=5.0,
                                    average_ps=5.0, sample_every=10, seed=12345)
    C, Csem = np.array(r["C_GPa"]), np.array(r["C_sem_GPa"])
    rng = np.random.default_rng(0)
    # unsymmetrised C is not stored; resample the symmetrised tensor with the sem of each column entry / sqrt(2)
    # for off-diagonals (two independent estimates averaged) and the full sem on the diagonal
    sem = np.where(np.eye(6, dtype=bool), Csem, 0.5 * np.hypot(Csem, Csem.T))
    draws = []
    for _ in range(4000):
        Z = rng.normal(size=(6, 6)); Z = np.triu(Z) + np.triu(Z, 1).T
        draws.append(amorphouspy_moduli(C + Z * sem))
    noise = {k: float(np.std([d[k] for d in draws])) for k in ("K", "G", "E", "nu")}
    r["amorphouspy_averaging"] = amorphouspy_moduli(C)
    r["one_run_noise_sd"] = noise
    r["command"] = "OMP_NUM_THREADS=1 python benchmarks/kgap_recipes.py B"
    r["wall_s"] = time.time() - t0
    res["B_amorphouspy_300K"] = r
    _save(res)
    print("B", {k: round(r[k], 3) for k in ("K_GPa", "G_GPa", "E_GPa", "poisson")}, r["amorphouspy_averaging"],
          noise, flush=True)


def main(argv):
    parts = [p.upper() for p in argv] or ["A", "B"]
    res = json.loads(OUT.read_text()) if OUT.exists() else {}
    atoms = reference_glasses("sio2", 1.0)[0]
    res["glass"] = atoms.info.get("source")
    if "A" in parts:
        part_a(atoms, res)
    if "B" in parts:
        part_b(atoms, res)


if __name__ == "__main__":
    main(sys.argv[1:])
