"""Periodic neighbour graphs for a batch of structures, built on the tensors' device with vesin-torch."""
from __future__ import annotations

import math

import torch

#: shift components are offset by this before being packed into one key (|shift| <= SHIFT_MAX)
SHIFT_MAX = 32
_SHIFT_RANGE = 2 * SHIFT_MAX + 1


def edge_order(i: torch.Tensor, j: torch.Tensor, s: torch.Tensor, n_atoms: int) -> torch.Tensor:
    """Permutation that puts edges in lexicographic order of (i, j, s0, s1, s2): one sort on a unique int64
    key ((i * n + j) * R^3 + shift code), R = 2 * SHIFT_MAX + 1. The (i, j, shift) triples of a neighbour list
    are unique, so the order does not depend on the sort's stability or on the order the edges came in.
    No host synchronisation (the shift range is checked on the device)."""
    n = int(n_atoms)
    if n * n * _SHIFT_RANGE ** 3 >= 2 ** 63:  # would overflow int64 (> ~1.2e6 atoms per structure)
        return edge_order_argsort(i, j, s)
    s = s.to(torch.int64)
    if s.numel():
        torch._assert_async(s.abs().max() <= SHIFT_MAX)
    code = ((s[:, 0] + SHIFT_MAX) * _SHIFT_RANGE + (s[:, 1] + SHIFT_MAX)) * _SHIFT_RANGE + (s[:, 2] + SHIFT_MAX)
    key = (i.to(torch.int64) * n + j.to(torch.int64)) * _SHIFT_RANGE ** 3 + code
    return torch.argsort(key, stable=True)


def edge_order_argsort(i: torch.Tensor, j: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """The same permutation from five stable argsorts (least significant key first); the reference for
    edge_order and its fallback for huge structures."""
    order = torch.arange(len(i), device=i.device)
    for key in (s[:, 2], s[:, 1], s[:, 0], j, i):
        order = order[torch.argsort(key[order], stable=True)]
    return order


def periodic_graph(positions: torch.Tensor, cells: torch.Tensor, ptr: list, cutoff: float,
                   order: str = "key"):
    """Full neighbour list within cutoff (Å) for each structure of a batch.

    positions (N, 3) Å; cells (B, 3, 3) Å, rows are lattice vectors; ptr: B+1 atom offsets (python ints).
    Returns (src, dst, vec): edge j->i with vec = r_j + shift - r_i (Å), in lexicographic order of
    (dst, src, shift) within each structure (so dst is sorted over the whole batch). vesin's GPU list comes in
    a varying order; a fixed order makes the floating-point sums, hence the sampled structure, reproducible.
    order: 'key' (one sort on a packed key) or 'argsort5' (the former five stable argsorts; same result).
    """
    from vesin_torch import NeighborList

    nl = NeighborList(cutoff=float(cutoff), full_list=True, sorted=True)
    srcs, dsts, vecs = [], [], []
    for b in range(len(ptr) - 1):
        a, z = ptr[b], ptr[b + 1]
        pts = positions[a:z]
        cell = cells[b]
        i, j, s = nl.compute(points=pts.detach(), box=cell.detach(), periodic=True, quantities="ijS")
        perm = edge_order(i, j, s, z - a) if order == "key" else edge_order_argsort(i, j, s)
        i, j, s = i[perm], j[perm], s[perm]
        vec = pts[j] - pts[i] + s.to(pts.dtype) @ cell
        srcs.append(j + a)
        dsts.append(i + a)
        vecs.append(vec)
    if len(srcs) == 1:
        return srcs[0], dsts[0], vecs[0]
    return torch.cat(srcs), torch.cat(dsts), torch.cat(vecs)


def edge_ptr(dst: torch.Tensor, n_atoms: int) -> torch.Tensor:
    """CSR offsets (n_atoms + 1,) of edges sorted by dst: atom k's edges are edge_ptr[k]:edge_ptr[k+1].
    No host synchronisation."""
    nodes = torch.arange(n_atoms + 1, device=dst.device, dtype=dst.dtype)
    return torch.searchsorted(dst, nodes)


def bucket_size(n_edges: int, granularity: float = 0.02, minimum: int = 1024) -> int:
    """Padded edge count for n_edges: the smallest value >= n_edges on a fixed grid with a spacing of about
    `granularity` of n_edges (a multiple of a power of two, >= minimum). Stateless: the same n_edges always
    gives the same size, so padded shapes (hence kernels and their rounding) depend only on the current graph."""
    n = max(int(n_edges), 1)
    step = max(minimum, 2 ** int(math.floor(math.log2(max(n * granularity, 1)))))
    return int(math.ceil(n / step) * step)


def pad_edges(src, dst, vec, capacity: int, cutoff: float, n_atoms: int):
    """Append capacity - len(src) dummy edges whose length (cutoff + 1 Å) is beyond the cutoff, so the model's
    radial basis and therefore their messages are exactly zero. Dummy edges run k -> k for atoms
    k = 0, 1, 2, ... (round robin: no atom collects a long run of them). Returns (src, dst, vec)."""
    pad = int(capacity) - int(src.shape[0])
    if pad < 0:
        raise ValueError(f"capacity {capacity} < number of edges {src.shape[0]}")
    if pad == 0:
        return src, dst, vec
    k = torch.arange(pad, device=src.device, dtype=src.dtype) % int(n_atoms)
    far = torch.zeros((pad, 3), device=vec.device, dtype=vec.dtype)
    far[:, 0] = float(cutoff) + 1.0
    return torch.cat([src, k]), torch.cat([dst, k]), torch.cat([vec, far])
