"""Periodic neighbour graphs for a batch of structures, built on the tensors' device: vesin-torch's cell list, or all
pairs by minimum image (a few thousand atoms on a GPU: faster, the same edges)."""
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


#: 'auto' uses the dense minimum-image list on CUDA up to this many atoms per structure (benchmarks/bench_neighbors.py)
DENSE_MAX_ATOMS = 4500
#: pairs per chunk of the dense list (bounds its temporary memory: ~4 bytes x 3 per pair)
DENSE_CHUNK_PAIRS = 2 ** 24
NEIGHBOR_METHODS = ("auto", "vesin", "dense")


def dense_ok(cell: torch.Tensor, cutoff: float) -> bool:
    """True if the minimum-image convention finds every neighbour within cutoff (Å): an orthorhombic cell
    (rows along x, y, z) whose lengths all exceed 2 x cutoff, so each pair has at most one image in range."""
    c = cell.detach().to("cpu", torch.float64)
    off = c - torch.diag(torch.diagonal(c))
    return bool((off == 0).all()) and bool((torch.diagonal(c) > 2.0 * float(cutoff) + 1e-6).all())


def _near(xr: torch.Tensor, x: torch.Tensor, lengths: torch.Tensor, c2: float) -> torch.Tensor:
    """(R, N) bool: the minimum-image distance from each row atom xr (R, 3) to each atom x (N, 3) is below
    sqrt(c2); lengths (3,) Å of an orthorhombic cell."""
    r2 = None
    for k in range(3):
        d = x[None, :, k] - xr[:, None, k]
        d = d - lengths[k] * torch.round(d / lengths[k])
        r2 = d * d if r2 is None else r2 + d * d
    return r2 < c2


def dense_pairs(pts: torch.Tensor, cell: torch.Tensor, cutoff: float, chunk_pairs: int = DENSE_CHUNK_PAIRS):
    """(i, j, shift) of every ordered pair i != j closer than cutoff (Å) under the minimum-image convention,
    in lexicographic (i, j) order; vec = r_j - r_i + shift @ cell. Requires dense_ok(cell, cutoff).
    All pairs are tested (O(N^2) work, no sort): on a GPU this beats a cell list for a few thousand atoms."""
    n = int(pts.shape[0])
    lengths = torch.diagonal(cell).detach()
    x = pts.detach()
    c2 = float(cutoff) ** 2
    rows = max(1, int(chunk_pairs) // max(n, 1))
    ii, jj = [], []
    for r0 in range(0, n, rows):
        r1 = min(n, r0 + rows)
        mask = _near(x[r0:r1], x, lengths, c2)
        diag = torch.arange(r0, r1, device=x.device)
        mask[diag - r0, diag] = False  # no self pairs (with lengths > 2 cutoff no self image is in range)
        i, j = torch.nonzero(mask, as_tuple=True)
        ii.append(i + r0)
        jj.append(j)
    if not ii:  # no atoms
        e = torch.zeros(0, dtype=torch.long, device=x.device)
        return e, e, torch.zeros((0, 3), dtype=torch.int32, device=x.device)
    i = torch.cat(ii) if len(ii) > 1 else ii[0]
    j = torch.cat(jj) if len(jj) > 1 else jj[0]
    s = -torch.round((x[j] - x[i]) / lengths)
    return i, j, s.to(torch.int32)


def resolve_methods(positions: torch.Tensor, cells: torch.Tensor, ptr: list, cutoff: float,
                    method: str = "auto") -> tuple:
    """The neighbour-list method ('vesin' or 'dense') of each structure of a batch for method 'auto', 'vesin' or
    'dense' (see periodic_graph). Reads the cells on the host: for fixed cells, resolve once and pass the result
    to periodic_graph. Raises ValueError for 'dense' on a cell where minimum image would miss neighbours."""
    if method not in NEIGHBOR_METHODS:
        raise ValueError(f"method must be one of {NEIGHBOR_METHODS}, got {method!r}")
    if method == "vesin":
        return ("vesin",) * (len(ptr) - 1)
    out = []
    for b in range(len(ptr) - 1):
        ok = dense_ok(cells[b], cutoff)
        if method == "dense" and not ok:
            raise ValueError(f"the dense neighbour list needs an orthorhombic cell longer than "
                             f"2 x cutoff = {2 * cutoff:g} Å in every direction")
        use = method == "dense" or (positions.is_cuda and ptr[b + 1] - ptr[b] <= DENSE_MAX_ATOMS and ok)
        out.append("dense" if use else "vesin")
    return tuple(out)


def periodic_graph(positions: torch.Tensor, cells: torch.Tensor, ptr: list, cutoff: float,
                   order: str = "key", method="auto"):
    """Full neighbour list within cutoff (Å) for each structure of a batch.

    positions (N, 3) Å; cells (B, 3, 3) Å, rows are lattice vectors; ptr: B+1 atom offsets (python ints).
    Returns (src, dst, vec): edge j->i with vec = r_j + shift - r_i (Å), in lexicographic order of
    (dst, src, shift) within each structure (so dst is sorted over the whole batch). vesin's GPU list comes in
    a varying order; a fixed order makes the floating-point sums, hence the sampled structure, reproducible.
    order: 'key' (one sort on a packed key) or 'argsort5' (the former five stable argsorts; same result).
    method: 'vesin' (cell list, any cell), 'dense' (all pairs, minimum image: orthorhombic cells longer than
    2 x cutoff; the same edges in the same order), 'auto' (dense on CUDA where it applies and a structure has
    at most DENSE_MAX_ATOMS atoms, else vesin), or resolve_methods' per-structure tuple.
    """
    methods = resolve_methods(positions, cells, ptr, cutoff, method) if isinstance(method, str) else tuple(method)
    nl = None
    srcs, dsts, vecs = [], [], []
    for b in range(len(ptr) - 1):
        a, z = ptr[b], ptr[b + 1]
        pts = positions[a:z]
        cell = cells[b]
        if methods[b] == "dense":
            i, j, s = dense_pairs(pts, cell, cutoff)
        else:
            if nl is None:
                from vesin_torch import NeighborList

                nl = NeighborList(cutoff=float(cutoff), full_list=True, sorted=True)
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


def static_capacity(n_edges: int, margin: float = 0.15, granularity: float = 0.04) -> int:
    """Fixed edge capacity for a structure whose neighbour list has n_edges now: n_edges plus a margin for the
    list to grow as the structure changes, on bucket_size's grid (stateless: the same count, the same size)."""
    return bucket_size(int(math.ceil(int(n_edges) * (1.0 + float(margin)))) + 64, granularity)


def _self_free_mask(pts: torch.Tensor, lengths: torch.Tensor, c2: float) -> torch.Tensor:
    """(n, n) bool: pairs i != j of one structure closer than sqrt(c2) by minimum image."""
    mask = _near(pts, pts, lengths, c2)
    mask.fill_diagonal_(False)
    return mask


def dense_edge_counts(positions: torch.Tensor, cells: torch.Tensor, ptr, cutoff: float) -> list:
    """Each structure's number of edges within cutoff (Å) by minimum image in its orthorhombic cell (B, 3, 3)
    (python ints: reads the device)."""
    x = positions.detach()
    lengths = cells.diagonal(dim1=1, dim2=2)
    return [int(_self_free_mask(x[int(ptr[b]):int(ptr[b + 1])], lengths[b], float(cutoff) ** 2).sum())
            for b in range(len(ptr) - 1)]


def dense_graph_static(positions: torch.Tensor, cells: torch.Tensor, ptr, cutoff: float, capacities):
    """The dense list of periodic_graph in fixed-size buffers, with no host synchronisation (so a whole denoising
    step can be one CUDA graph). positions (N, 3) Å; cells (B, 3, 3) Å, orthorhombic (dense_ok);
    ptr B+1 atom offsets; capacities: the edge capacity of each structure (static_capacity).

    Returns (src, dst, vec, edge_ptr, counts): sum(capacities) edges, the real ones first in periodic_graph's
    order (dst, then src) with its vectors, then dummy edges k -> k of length cutoff + 1 Å (zero messages, as
    pad_edges); edge_ptr (N+1,) CSR offsets of the real edges; counts (B,) each structure's true edge count.
    Where counts > capacities the list is truncated: the caller must check and grow the capacities.
    Needs torch.nonzero_static (on CUDA from torch 2.6; with an older torch the capture fails and the sampler
    falls back to stepping with host synchronisation)."""
    x = positions.detach()
    lengths = cells.diagonal(dim1=1, dim2=2)
    dev = x.device
    c2 = float(cutoff) ** 2
    B = len(ptr) - 1
    ii, jj, rows = [], [], []
    for b in range(B):
        a, z = int(ptr[b]), int(ptr[b + 1])
        pts = x[a:z]
        mask = _self_free_mask(pts, lengths[b], c2)
        rows.append(mask.sum(1))
        # row/column indices in row-major order, padded with -1: fixed shape (on CUDA: torch >= 2.6)
        idx = torch.nonzero_static(mask, size=int(capacities[b]), fill_value=-1)
        ii.append(idx[:, 0] + a)
        jj.append(idx[:, 1] + a)
    row_counts = torch.cat(rows) if B > 1 else rows[0]
    counts = torch.stack([r.sum() for r in rows])
    caps = torch.stack([torch.full((), int(c), dtype=torch.long, device=dev) for c in capacities])  # no H2D copy
    used = torch.minimum(counts, caps)  # a truncated structure keeps its first `cap` edges (flagged by counts)
    i_all = torch.cat(ii) if B > 1 else ii[0]
    j_all = torch.cat(jj) if B > 1 else jj[0]
    total = int(sum(int(c) for c in capacities))
    p = torch.arange(total, device=dev)
    real_end = torch.cumsum(used, 0)
    b_of = torch.searchsorted(real_end, p, right=True)  # structure of output slot p; B: padding
    bc = b_of.clamp(max=B - 1)
    cap_start = torch.cumsum(caps, 0) - caps
    take = cap_start[bc] + (p - (real_end - used)[bc])
    real = b_of < B
    take = torch.where(real, take, torch.zeros_like(take))
    n_atoms = x.shape[0]
    k = (p - real_end[-1]) % max(n_atoms, 1)
    dst = torch.where(real, i_all[take], k)
    src = torch.where(real, j_all[take], k)
    d = positions[src] - positions[dst]
    L = lengths[bc]
    s = -torch.round(d.detach() / L)
    vec = d + s * L
    far = torch.zeros_like(vec)
    far[:, 0] = float(cutoff) + 1.0
    vec = torch.where(real[:, None], vec, far)
    edge_ptr = torch.cat([torch.zeros(1, dtype=torch.long, device=dev), torch.cumsum(row_counts, 0)])
    edge_ptr = edge_ptr.clamp(max=real_end[-1])  # truncated (flagged) lists: garbage, but in bounds
    return src, dst, vec, edge_ptr, counts
