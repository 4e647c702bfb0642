"""Molecular dynamics for Amorph: BJP silica and Cu-Zr EAM on LAMMPS (CPU) and OpenMM (GPU). See docs/md.md.

Public API (units: eV, Å, ps, K, GPa):
    melt_quench(system, n_atoms, rate_k_ps, seed, engine='auto', out_dir=..., progress=, cancel=) -> Atoms
    refine(atoms, engine='auto', ...) -> Atoms
    elastic_moduli(atoms, engine='auto', progress=None, cancel=None) -> dict(K_GPa, G_GPa, E_GPa, poisson, C_GPa..)
    elastic_moduli_md(atoms, engine='auto', temperature_k=300) -> the same at temperature (NVT stress averages)
    tensile_test(atoms, engine='auto', ...) -> dict(strain, stress_gpa, peak_stress_gpa, ...)
    nve_drift(atoms, ...) -> dict(drift_ev_atom_ns, ...)
    cost_table(as_frame=True) -> pandas.DataFrame (or dict) of projected melt-quench cost per rate
    make_engine(potential, engine) -> engine with energy_forces / stress / minimize / simulation

Modules: engines (make_engine), engine_openmm / engine_lammps, potentials, cell, relax (FIRE, collapse checks),
stages (run_stages, Cancelled), quench (melt-quench), refinement, mechanics (moduli, tensile, NVE drift).
"""
from __future__ import annotations

from amorph_core.errors import AmorphError
from amorph_core.md.engines import cuda_present, make_engine  # noqa: F401
from amorph_core.md.mechanics import elastic_moduli, elastic_moduli_md, nve_drift, tensile_test  # noqa: F401
from amorph_core.md.potentials import (BJPPotential, EAMFSPotential, LJPotential, build_potential,  # noqa: F401
                                       get_potential, potential_for)
from amorph_core.md.quench import MeltQuench, melt_quench, random_start  # noqa: F401
from amorph_core.md.refinement import refine  # noqa: F401
from amorph_core.md.stages import Cancelled  # noqa: F401


def cost_table(as_frame: bool = True):
    """Projected cost of one full melt-quench per device, size and cooling rate, from measured MD speed
    (assets/md/cost_table.json, made by benchmarks/bench_md.py, read by amorph_core.costs). Columns: device, engine,
    hardware, n_atoms, cooling_rate_k_ps, steps, s_per_step, hours, unit ('core_h' or 'gpu_h')."""
    from amorph_core.costs import read_cost_table

    data = read_cost_table()
    if data is None:
        raise AmorphError("MD cost table missing (assets/md/cost_table.json); run benchmarks/bench_md.py")
    if not as_frame:
        return data
    import pandas as pd
    return pd.DataFrame(data["rows"])
