"""Amorph: generate and validate amorphous materials with a cooling-rate-conditioned diffusion model.

Implements Yang & Schwalbe-Koda, "A generative diffusion model for amorphous materials" (2025).
"""
from amorph_core.errors import AmorphError

__version__ = "0.1.0"
__all__ = ["AmorphError", "__version__"]
