"""Ring statistics of the Si-O network with matscipy's shortest-path ring search.

Definition (written into the output): a ring is a shortest-path ring (Franzblau, PRB 44, 4925, 1991;
matscipy.rings): a closed path in the Si-O bond graph (bonds = Si-O pairs closer than 2.0 Å) that
cannot be shortcut by any path through the graph. Ring size is counted by the number of Si atoms
(= number of nodes / 2). Other definitions (King, Guttman, primitive; the paper used RINGS) agree up to
5-membered rings and give somewhat different counts above.

matscipy's search stores the all-pairs graph-distance matrix (N x N int32), so memory grows as 4 N^2 bytes:
the size is checked against the available memory before starting, and an AmorphError is raised instead of
an out-of-memory crash.
"""
from __future__ import annotations


import numpy as np

from amorph_core.analysis.bonds import BOND_CUTOFF_A
from amorph_core.analysis.neighbors import check_periodic
from amorph_core.errors import AmorphError

DEFINITION = ("shortest-path rings (Franzblau 1991; matscipy.rings) in the Si-O bond graph "
              "(bond: Si-O distance < {cutoff:g} Å), size = number of Si per ring")


def available_memory_bytes() -> int:
    """MemAvailable from /proc/meminfo (bytes); a conservative 2 GiB where it cannot be read."""
    from amorph_core.validation import available_memory_bytes as free

    return free("cpu") or 2 * 1024 ** 3


def ring_memory_estimate_bytes(n_nodes: int) -> int:
    """Peak memory (bytes) of matscipy's ring search on n_nodes atoms: the N x N int32 distance matrix
    plus a 10% allowance for the bond lists and search buffers."""
    return int(4 * n_nodes * n_nodes * 1.1) + 64 * 1024 ** 2


def ring_statistics(atoms, cutoff_a: float = BOND_CUTOFF_A, max_size_si: int = 12, former: str = "Si",
                    anion: str = "O", max_memory_bytes: int | None = None) -> dict:
    """Shortest-path ring statistics of the former-anion network, counted by number of formers (Si).

    Returns counts[n] (rings with n Si, n = 1..max_size_si), rings per Si, fraction of all rings, and the
    ring definition. Raises AmorphError if the estimated memory exceeds max_memory_bytes (default: half of
    the memory available now).
    """
    from matscipy.neighbours import neighbour_list
    from matscipy.rings import distances_on_graph, find_sp_rings

    check_periodic(atoms)
    symbols = np.array(atoms.get_chemical_symbols())
    keep = np.flatnonzero((symbols == former) | (symbols == anion))
    n_f = int(np.sum(symbols == former))
    if n_f == 0 or len(keep) == n_f:
        raise AmorphError(f"ring statistics need {former} and {anion} atoms")
    limit = max_memory_bytes if max_memory_bytes is not None else available_memory_bytes() // 2
    need = ring_memory_estimate_bytes(len(keep))
    if need > limit:
        raise AmorphError(
            f"ring statistics on {len(keep)} atoms would need about {need / 1024 ** 3:.1f} GiB (matscipy keeps "
            f"an N x N distance matrix) but only {limit / 1024 ** 3:.1f} GiB is allowed here: skip rings "
            f"(--no-rings) or analyse a smaller structure (up to ~{int((limit / 4.4) ** 0.5):,} atoms)")
    sub = atoms[keep] if len(keep) < len(atoms) else atoms
    from ase.data import atomic_numbers
    zf, za = atomic_numbers[former], atomic_numbers[anion]
    i, j, D = neighbour_list("ijD", sub, {(zf, za): cutoff_a, (za, zf): cutoff_a})
    if len(i) == 0:
        raise AmorphError(f"no {former}-{anion} bonds shorter than {cutoff_a:g} Å: no network to find rings in")
    dist = distances_on_graph(i, j)
    max_nodes = 2 * int(max_size_si)
    raw = np.asarray(find_sp_rings(i, j, D, dist, max_nodes), dtype=np.int64)
    del dist
    counts = np.zeros(max_size_si + 1, dtype=np.int64)
    for length, c in enumerate(raw):
        if c and length % 2 == 0 and 0 < length // 2 <= max_size_si:
            counts[length // 2] += c
    odd = int(sum(c for length, c in enumerate(raw) if length % 2))
    total = int(counts.sum())
    sizes = list(range(1, max_size_si + 1))
    return {
        "definition": DEFINITION.format(cutoff=cutoff_a),
        "bond_cutoff_a": float(cutoff_a),
        "max_size_si": int(max_size_si),
        "sizes_si": sizes,
        "counts": [int(counts[n]) for n in sizes],
        "rings_per_si": [float(counts[n] / n_f) for n in sizes],
        "fraction": [float(counts[n] / total) if total else 0.0 for n in sizes],
        "total_rings": total,
        "odd_length_rings": odd,  # 0 in a pure Si-O graph (only Si-O bonds are links)
        "n_si": n_f,
    }
