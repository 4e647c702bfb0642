"""QUESTS information entropy of atomic environments (paper A.6, A.8; Schwalbe-Koda et al. 2025).

Descriptors: QUESTS k-nearest-neighbour descriptors (k = 32 neighbours, 5 Å cutoff, species-agnostic).
Entropy H = -(1/n) sum_i log[(1/n) sum_j K_h(X_i, X_j)] with a Gaussian kernel of bandwidth h = 0.015 1/Å,
in nats. Delta entropy of an environment Y against a set {X}: dH(Y|X) = -log sum_i K_h(Y, X_i) (nats;
<= 0 when Y lies inside the support of X). Overlap of A on B: the fraction of A's environments with
dH(A_i | B) < eps, eps = 1e-5 nats, the threshold of QUESTS' README and `quests overlap` (the paper's
"<= 0" up to round-off). Overlaps are not symmetric: P(A|B) != P(B|A).

The first call in a process JIT-compiles QUESTS' numba kernels (tens of seconds on a small CPU; cached on
disk by numba afterwards): `warm_up()` pays it explicitly.
"""
from __future__ import annotations

import time
import warnings

import numpy as np

from amorph_core.analysis.neighbors import check_periodic
from amorph_core.errors import AmorphError

K_NEIGHBORS = 32
CUTOFF_A = 5.0
BANDWIDTH = 0.015
OVERLAP_EPS = 1e-5
DEFINITION = (f"QUESTS descriptors k={K_NEIGHBORS}, cutoff {CUTOFF_A:g} Å; Gaussian kernel h={BANDWIDTH:g} 1/Å; "
              f"entropy in nats; overlap(A|B) = fraction of A's environments with dH(A_i|B) < {OVERLAP_EPS:g}")


def descriptors(atoms, k: int = K_NEIGHBORS, cutoff_a: float = CUTOFF_A) -> np.ndarray:
    """QUESTS descriptor matrix (n_atoms x (2k-1)) of one periodic structure."""
    from quests.descriptor import get_descriptors

    check_periodic(atoms)
    if len(atoms) < 2:
        raise AmorphError("QUESTS entropy needs at least 2 atoms")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return get_descriptors([atoms], k=k, cutoff=cutoff_a)


def _x(obj, k, cutoff_a):
    return obj if isinstance(obj, np.ndarray) else descriptors(obj, k, cutoff_a)


def information_entropy(obj, h: float = BANDWIDTH, k: int = K_NEIGHBORS, cutoff_a: float = CUTOFF_A) -> float:
    """Information entropy (nats) of a structure (ase.Atoms) or a descriptor matrix."""
    from quests.entropy import entropy

    return float(entropy(_x(obj, k, cutoff_a), h=h))


def delta_entropy(test, reference, h: float = BANDWIDTH, k: int = K_NEIGHBORS,
                  cutoff_a: float = CUTOFF_A) -> np.ndarray:
    """Per-environment delta entropy dH(test_i | reference) in nats (array over test's atoms); +inf where the
    kernel sum underflows (an environment far outside the reference's support)."""
    from quests.entropy import delta_entropy as _de

    with np.errstate(divide="ignore"):
        return np.asarray(_de(_x(test, k, cutoff_a), _x(reference, k, cutoff_a), h=h))


def overlap(test, reference, eps: float = OVERLAP_EPS, h: float = BANDWIDTH, k: int = K_NEIGHBORS,
            cutoff_a: float = CUTOFF_A) -> float:
    """Overlap of test on reference: fraction of test's environments with dH(test_i|reference) < eps."""
    return float(np.mean(delta_entropy(test, reference, h, k, cutoff_a) < eps))


def overlap_matrix(set_a: list, set_b: list, eps: float = OVERLAP_EPS, h: float = BANDWIDTH,
                   k: int = K_NEIGHBORS, cutoff_a: float = CUTOFF_A) -> list:
    """M[i][j] = overlap(set_a[i] | set_b[j]); items are Atoms or descriptor matrices."""
    xa = [_x(a, k, cutoff_a) for a in set_a]
    xb = xa if set_b is set_a else [_x(b, k, cutoff_a) for b in set_b]
    return [[overlap(x, y, eps, h) for y in xb] for x in xa]


def offdiagonal_mean(matrix) -> float | None:
    """Mean of a square matrix without its diagonal (for A|A matrices where the diagonal is 1 by definition)."""
    m = np.asarray(matrix, float)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] < 2:
        return None
    return float(m[~np.eye(len(m), dtype=bool)].mean())


def warm_up() -> float:
    """Compile QUESTS' numba kernels on a tiny structure; returns the seconds spent."""
    from ase import Atoms

    t = time.perf_counter()
    rng = np.random.default_rng(0)
    a = Atoms("Si" * 40, positions=rng.random((40, 3)) * 8.0, cell=[8.0] * 3, pbc=True)
    x = descriptors(a)
    information_entropy(x)
    delta_entropy(x[:5], x)
    return time.perf_counter() - t
