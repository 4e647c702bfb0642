"""The E(3)-equivariant denoiser (NequIP-style, e3nn), its periodic graph and checkpoints."""
from amorph_core.model.denoiser import Denoiser, DenoiserConfig
from amorph_core.model.graph import periodic_graph
from amorph_core.model.checkpoint import load_model, save_checkpoint, list_models, MODELS_DIR

__all__ = ["Denoiser", "DenoiserConfig", "periodic_graph", "load_model", "save_checkpoint", "list_models",
           "MODELS_DIR"]
