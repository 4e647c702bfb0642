"""Test helpers (e3nn/nequip style): random periodic structures and checks of equivariance, permutation,
periodic wrapping and batched == one-by-one for a displacement model."""
from __future__ import annotations

import numpy as np
import torch

from amorph_core.model.graph import periodic_graph


#: a tiny denoiser configuration for CPU tests
TINY = dict(num_blocks=2, hidden_scalars=8, hidden_vectors=4, radial_hidden=8, num_bessel=6,
            avg_num_neighbors=20.0)


def tiny_model(dtype=torch.float32, **overrides):
    """A tiny Denoiser with random non-zero weights everywhere (e3nn initialises some paths small), in eval mode."""
    from amorph_core.model import Denoiser, DenoiserConfig

    torch.manual_seed(0)
    m = Denoiser(DenoiserConfig(**{**TINY, **overrides})).to(dtype).eval()
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return m


def random_structure(n=60, length=11.0, n_species=2, seed=0, cell=None):
    rng = np.random.default_rng(seed)
    cell = np.diag([length, length * 1.1, length * 0.95]) if cell is None else np.asarray(cell)
    frac = rng.random((n, 3))
    pos = frac @ cell
    species = rng.integers(0, n_species, n)
    return (torch.tensor(pos, dtype=torch.float64), torch.tensor(cell, dtype=torch.float64),
            torch.tensor(species))


def predict(model, pos, cell, species, log10_rate=0.0, sigma=0.3):
    """The model's displacement for one structure (sigma, Å: the noise level, used by noise-conditional models)."""
    src, dst, vec = periodic_graph(pos, cell[None], [0, len(pos)], model.cfg.cutoff)
    rate = torch.tensor([log10_rate], dtype=pos.dtype)
    return model(species, src, dst, vec, None, rate, None, torch.tensor([sigma], dtype=pos.dtype))


def random_orthogonal(seed=0, improper=False):
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    if np.linalg.det(q) < 0:
        q[:, 0] *= -1
    if improper:
        q = -q
    return torch.tensor(q, dtype=torch.float64)


def assert_o3_equivariant(model, pos, cell, species, seed=0, improper=False, atol=1e-9):
    """f(x R^T) == f(x) R^T for the rotated (or rotated+inverted) periodic structure."""
    R = random_orthogonal(seed, improper)
    out = predict(model, pos, cell, species)
    out_rot = predict(model, pos @ R.T, cell @ R.T, species)
    err = (out_rot - out @ R.T).abs().max().item()
    assert err < atol, f"equivariance error {err:g}"
    return err
