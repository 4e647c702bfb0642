"""Periodic neighbour graphs for a batch of structures, built on the tensors' device with vesin-torch."""
from __future__ import annotations

import torch


def periodic_graph(positions: torch.Tensor, cells: torch.Tensor, ptr: list, cutoff: float):
    """Full neighbour list within cutoff (Å) for each structure of a batch.

    positions (N, 3) Å; cells (B, 3, 3) Å, rows are lattice vectors; ptr: B+1 atom offsets (python ints).
    Returns (src, dst, vec): edge j->i with vec = r_j + shift - r_i (Å), in lexicographic order of
    (dst, src, shift) within each structure. vesin's GPU list comes in a varying order; a fixed order makes
    the floating-point sums, hence the sampled structure, reproducible.
    """
    from vesin_torch import NeighborList

    nl = NeighborList(cutoff=float(cutoff), full_list=True, sorted=True)
    srcs, dsts, vecs = [], [], []
    for b in range(len(ptr) - 1):
        a, z = ptr[b], ptr[b + 1]
        pts = positions[a:z]
        cell = cells[b]
        i, j, s = nl.compute(points=pts.detach(), box=cell.detach(), periodic=True, quantities="ijS")
        order = torch.arange(len(i), device=i.device)
        for key in (s[:, 2], s[:, 1], s[:, 0], j, i):  # least significant first; stable sorts
            order = order[torch.argsort(key[order], stable=True)]
        i, j, s = i[order], j[order], s[order]
        vec = pts[j] - pts[i] + s.to(pts.dtype) @ cell
        srcs.append(j + a)
        dsts.append(i + a)
        vecs.append(vec)
    return torch.cat(srcs), torch.cat(dsts), torch.cat(vecs)
