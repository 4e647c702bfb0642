"""MD engine choice: make_engine is the one place that picks and imports an engine (md.engine_openmm for OpenMM,
md.engine_lammps for LAMMPS); cuda_present says whether OpenMM sees a CUDA GPU."""
from __future__ import annotations

from amorph_core.errors import AmorphError


def cuda_present() -> bool:
    from amorph_core.md.engine_openmm import cuda_available
    return cuda_available()


def make_engine(pot, engine: str = "auto", precision: str = "mixed"):
    """Engine for potential pot: 'openmm' (CUDA if present, else CPU), 'openmm-cpu', 'lammps', or 'auto'
    (OpenMM on CUDA when a GPU is present, LAMMPS on the CPU otherwise)."""
    e = str(engine).lower()
    if e == "auto":
        e = "openmm" if cuda_present() else "lammps"
    if e in ("openmm", "openmm-cuda", "gpu"):
        from amorph_core.md.engine_openmm import OpenMMEngine
        if not cuda_present():
            raise AmorphError(f"MD engine '{engine}' runs OpenMM on a CUDA GPU and none is available here; use "
                              "'openmm-cpu' or 'lammps' (or 'auto')")
        return OpenMMEngine(pot, "CUDA", precision)
    if e in ("openmm-cpu",):
        from amorph_core.md.engine_openmm import OpenMMEngine
        return OpenMMEngine(pot, "CPU", precision)
    if e in ("openmm-reference",):
        from amorph_core.md.engine_openmm import OpenMMEngine
        return OpenMMEngine(pot, "Reference", precision)
    if e in ("lammps", "cpu"):
        from amorph_core.md.engine_lammps import LammpsEngine
        return LammpsEngine(pot)
    raise AmorphError(f"unknown MD engine '{engine}' (auto, openmm, openmm-cpu, lammps)")
