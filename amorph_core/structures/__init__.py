"""Structures: I/O through ase, the reference-glass registry, starting configurations, density regression."""
from amorph_core.structures.io import read_structure, write_structure, structure_to_bytes, validate_atoms
from amorph_core.structures.references import reference_glasses, reference_rates, reference_manifest
from amorph_core.structures.starts import uniform_start, porous_start, box_from_density
from amorph_core.structures.density import density_from_rate, fit_density_regression, density_g_cm3

__all__ = [
    "read_structure", "write_structure", "structure_to_bytes", "validate_atoms",
    "reference_glasses", "reference_rates", "reference_manifest",
    "uniform_start", "porous_start", "box_from_density",
    "density_from_rate", "fit_density_regression", "density_g_cm3",
]
