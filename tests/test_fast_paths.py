"""Fast inference paths: one-key edge ordering, padded edge lists, per-atom segment sums, Generator modes."""
import numpy as np
import pytest
import torch
from ase.io import read

from amorph_core.generate import GenerationRequest, Generator, generate_structures
from amorph_core.model.graph import (bucket_size, edge_order, edge_order_argsort, edge_ptr, pad_edges,
                                     periodic_graph)
from tests.helpers_equivariance import random_structure, tiny_model

@pytest.fixture(scope="module")
def model():
    return tiny_model(conditional=True)


def _batch(dtype=torch.float32):
    structs = [random_structure(n=n, length=L, seed=s) for n, L, s in [(40, 10.5, 4), (70, 12.0, 5)]]
    pos = torch.cat([s[0] for s in structs]).to(dtype)
    cells = torch.stack([s[1] for s in structs]).to(dtype)
    sp = torch.cat([s[2] for s in structs])
    ptr = [0, 40, 110]
    batch = torch.repeat_interleave(torch.arange(2), torch.tensor([40, 70]))
    return pos, cells, sp, ptr, batch, torch.tensor([-1.0, 2.0], dtype=dtype)


def test_one_key_order_equals_five_argsorts():
    gen = torch.Generator().manual_seed(0)
    for n, e in [(50, 3000), (3, 40), (1000, 20000)]:
        i = torch.randint(0, n, (e,), generator=gen)
        j = torch.randint(0, n, (e,), generator=gen)
        s = torch.randint(-2, 3, (e, 3), generator=gen, dtype=torch.int32)
        # make (i, j, s) unique, as in a neighbour list, then shuffle
        trip = torch.unique(torch.cat([i[:, None], j[:, None], s.long()], 1), dim=0)
        trip = trip[torch.randperm(len(trip), generator=gen)]
        i, j, s = trip[:, 0], trip[:, 1], trip[:, 2:].to(torch.int32)
        assert torch.equal(edge_order(i, j, s, n), edge_order_argsort(i, j, s))
    # the same graph from both orderings, and dst sorted over the batch
    pos, cells, sp, ptr, batch, rate = _batch()
    a = periodic_graph(pos, cells, ptr, 5.0)
    b = periodic_graph(pos, cells, ptr, 5.0, order="argsort5")
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert torch.all(a[1][1:] >= a[1][:-1])
    # vesin's order does not matter: a shuffled list sorts back to the same edges
    perm = torch.randperm(len(a[0]), generator=gen)
    s_fake = torch.zeros(len(perm), 3, dtype=torch.int32)
    o = edge_order(a[1][perm], a[0][perm], s_fake, 110)
    assert torch.equal(a[1][perm][o], a[1])


def test_dense_list_equals_vesin():
    """The all-pairs minimum-image list gives vesin's edges, shifts and vectors in the same order: on a batch
    of random boxes, a reference glass, a non-cubic box, and positions outside the cell."""
    from amorph_core.model.graph import dense_ok, dense_pairs
    from amorph_core.structures.references import reference_glasses

    structs = [random_structure(n=n, length=L, seed=s) for n, L, s in [(40, 10.6, 4), (90, 12.0, 5)]]
    cases = [(torch.cat([s[0] for s in structs]), torch.stack([s[1] for s in structs]), [0, 40, 130])]
    g = reference_glasses("sio2", 1.0)[0]
    gp, gc = torch.tensor(g.positions, dtype=torch.float32), torch.tensor(np.array(g.cell), dtype=torch.float32)
    cases.append((gp, gc[None], [0, len(g)]))
    gen = torch.Generator().manual_seed(1)
    box = torch.diag(torch.tensor([10.2, 13.0, 21.7]))
    rp = torch.rand(300, 3, generator=gen) * torch.diagonal(box)
    cases.append((rp, box[None], [0, 300]))
    far = rp + torch.randint(-3, 4, rp.shape, generator=gen).float() * torch.diagonal(box)  # not wrapped
    cases.append((far, box[None], [0, 300]))
    for p, c, pt in cases:
        a = periodic_graph(p, c, pt, 5.0, method="vesin")
        b = periodic_graph(p, c, pt, 5.0, method="dense")
        assert len(a[0]) > 0 and torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
        assert torch.allclose(a[2], b[2], atol=1e-4)
        # small chunks (many nonzero calls) give the same list
        i, j, s = dense_pairs(p[pt[0]:pt[1]], c[0], 5.0, chunk_pairs=977)
        assert torch.equal(j + pt[0], b[0][:len(j)]) and torch.equal(i + pt[0], b[1][:len(i)])
    i, j, s = dense_pairs(torch.zeros((0, 3)), box, 5.0)  # no atoms, no edges
    assert len(i) == len(j) == len(s) == 0
    # where minimum image would miss neighbours the dense list refuses; 'auto' on a CPU stays with vesin
    assert dense_ok(box, 5.0) and not dense_ok(box, 5.2)
    tric = box.clone()
    tric[1, 0] = 1.0
    assert not dense_ok(tric, 5.0)
    with pytest.raises(ValueError, match="orthorhombic"):
        periodic_graph(rp, tric[None], [0, 300], 5.0, method="dense")
    with pytest.raises(ValueError, match="method"):
        periodic_graph(rp, box[None], [0, 300], 5.0, method="cells")
    # resolved once per batch (the sampler's fixed cells): 'auto' keeps vesin on a CPU; a resolved tuple is obeyed
    from amorph_core.model.graph import resolve_methods
    p, c, pt = cases[0]
    assert resolve_methods(p, c, pt, 5.0, "auto") == ("vesin", "vesin")
    assert resolve_methods(p, c, pt, 5.0, "dense") == ("dense", "dense")
    mixed = periodic_graph(p, c, pt, 5.0, method=("dense", "vesin"))
    ref = periodic_graph(p, c, pt, 5.0, method="vesin")
    assert torch.equal(mixed[0], ref[0]) and torch.equal(mixed[1], ref[1])


def test_bucket_size():
    for n in (1, 999, 1024, 1025, 99_902, 1_600_000):
        b = bucket_size(n)
        assert b >= n and b - n < max(1024, 0.04 * n)
        assert bucket_size(b) == b
    assert bucket_size(99_000) == bucket_size(99_001)  # same bucket: no new shapes for small changes


def test_bessel_basis_is_exactly_zero_beyond_cutoff(model):
    r = torch.tensor([5.0, 5.0 + 1e-6, 6.0, 7.5, 100.0])
    assert torch.all(model.radial(r) == 0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_padded_and_segment_sum_equal_unpadded(model, dtype):
    m = model.to(dtype)
    pos, cells, sp, ptr, batch, rate = _batch(dtype)
    src, dst, vec = periodic_graph(pos, cells, ptr, m.cfg.cutoff)
    n = len(pos)
    ref = m(sp, src, dst, vec, batch, rate)
    ep = edge_ptr(dst, n)
    assert ep[0] == 0 and ep[-1] == len(src) and torch.equal(ep[1:] - ep[:-1], torch.bincount(dst, minlength=n))
    seg = m(sp, src, dst, vec, batch, rate, edge_ptr=ep)
    cap = bucket_size(len(src)) + 777
    ps, pd, pv = pad_edges(src, dst, vec, cap, m.cfg.cutoff, n)
    assert len(ps) == cap and torch.equal(ps[:len(src)], src)
    pad_index_add = m(sp, ps, pd, pv, batch, rate)          # dummy edges summed (exact zeros) by index_add
    pad_seg = m(sp, ps, pd, pv, batch, rate, edge_ptr=ep)  # dummy edges outside every segment
    # CPU sums are sequential in edge order: adding exact zeros at the end changes nothing
    assert torch.equal(seg, ref), (seg - ref).abs().max()
    assert torch.equal(pad_index_add, ref), (pad_index_add - ref).abs().max()
    assert torch.equal(pad_seg, ref), (pad_seg - ref).abs().max()
    m.float()


def small(**kw):
    base = dict(system="sio2", cooling_rate_k_ps=1.0, n_atoms=192, seeds=(3,), schedule=8, device="cpu")
    base.update(kw)
    return GenerationRequest(**base)


@pytest.fixture(scope="module")
def eager_positions(tmp_path_factory):
    g = Generator("sio2", None, "cpu")
    return read(generate_structures(small(), tmp_path_factory.mktemp("eager"), generator=g)[0]).positions


@pytest.mark.parametrize("mode", ["segment", "graph"])
def test_generator_modes_reproducible_and_match_eager(tmp_path, mode, eager_positions):
    g = Generator("sio2", None, "cpu", mode=mode)
    a = read(generate_structures(small(), tmp_path / "a", generator=g)[0]).positions
    b = read(generate_structures(small(), tmp_path / "b", generator=g)[0]).positions
    assert np.array_equal(a, b)
    # on the CPU, the segment sum and the padded list give the eager path's numbers
    assert np.abs(a - eager_positions).max() < 1e-4


def test_bad_mode():
    from amorph_core.errors import AmorphError
    with pytest.raises(AmorphError):
        Generator("sio2", None, "cpu", mode="warp")


@pytest.mark.slow
def test_compile_mode_compiles_without_fallback(tmp_path, eager_positions):
    """torch.compile traces the whole model (no e3nn Irreps object in forward: dynamo cannot guard them) and
    the edge dimension is dynamic: one compilation serves every padded size."""
    import warnings

    from amorph_core.errors import AmorphWarning

    g = Generator("sio2", None, "cpu", mode="compile")
    with warnings.catch_warnings():
        warnings.simplefilter("error", category=AmorphWarning)  # raised on a fallback to eager
        a = read(generate_structures(small(), tmp_path / "a", generator=g)[0]).positions
    assert g.forward is not g.model
    b = read(generate_structures(small(), tmp_path / "b", generator=g)[0]).positions
    assert np.array_equal(a, b)
    assert np.abs(a - eager_positions).max() < 1e-3


def test_bench_sampler_quick_on_cpu(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    r = subprocess.run([sys.executable, str(root / "benchmarks" / "bench_sampler.py"), str(tmp_path), "--quick",
                        "--device", "cpu", "--modes", "old,eager,graph", "--steps", "2"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    res = json.loads((tmp_path / "bench_sampler.json").read_text())
    assert set(res["paths"]) == {"old", "eager", "graph"}
    assert all("ms_per_step" in e for e in res["paths"].values()), res["paths"]
    assert res["best_repro_max_abs_diff_a"] == 0.0
    assert res["full_schedule"]["steps"] == 6 and res["batch"]["best"]["ms_per_step"] > 0


def test_bench_neighbors_quick_on_cpu(tmp_path):
    """The device benchmark of the neighbour lists runs end to end (tiny sizes) and finds the same edges."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    r = subprocess.run([sys.executable, str(root / "benchmarks" / "bench_neighbors.py"), str(tmp_path), "--quick",
                        "--device", "cpu"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    res = json.loads((tmp_path / "bench_neighbors.json").read_text())
    assert len(res["list_alone"]) == 3
    assert all(e["same_edges_same_order"] and e["dense_ms"] > 0 for e in res["list_alone"].values())
    assert res["full_schedule"]["eager max_abs_dx_vesin_vs_auto_a"] == 0.0


def test_static_dense_list_equals_padded_list():
    """dense_graph_static (fixed capacities, no host sync) gives periodic_graph's edges, vectors and CSR offsets
    followed by pad_edges' dummy edges; an outgrown capacity is reported by counts and stays in bounds."""
    from amorph_core.model.graph import dense_edge_counts, dense_graph_static, static_capacity

    structs = [random_structure(n=n, length=L, seed=s) for n, L, s in [(40, 10.6, 4), (90, 12.0, 5), (60, 11.0, 6)]]
    pos = torch.cat([s[0] for s in structs])
    cells = torch.stack([s[1] for s in structs])
    ptr = [0, 40, 130, 190]
    src, dst, vec = periodic_graph(pos, cells, ptr, 5.0, method="dense")
    counts = [int(((dst >= ptr[b]) & (dst < ptr[b + 1])).sum()) for b in range(3)]
    caps = [static_capacity(c) for c in counts]
    assert all(c >= 1.15 * n for c, n in zip(caps, counts))
    s2, d2, v2, ep, cnt = dense_graph_static(pos, cells, ptr, 5.0, caps)
    assert cnt.tolist() == counts and len(s2) == sum(caps)
    assert dense_edge_counts(pos, cells, ptr, 5.0) == counts
    ps, pd, pv = pad_edges(src, dst, vec, sum(caps), 5.0, len(pos))
    assert torch.equal(s2, ps) and torch.equal(d2, pd) and torch.equal(v2, pv)
    assert torch.equal(ep, edge_ptr(dst, len(pos)))
    small_caps = [c - 100 for c in counts]  # truncated: flagged, indices and offsets in bounds
    s3, d3, v3, ep3, cnt3 = dense_graph_static(pos, cells, ptr, 5.0, small_caps)
    assert (cnt3 > torch.tensor(small_caps)).all() and len(s3) == sum(small_caps)
    assert int(s3.min()) >= 0 and int(s3.max()) < len(pos) and int(ep3[-1]) <= len(s3)


def test_whole_step_equals_per_step_and_recovers_capacity(tmp_path):
    """The whole-step path (one CUDA graph per step on a GPU; run eagerly here) gives the per-step path's
    structure; when a capacity is outgrown mid-run the steps since the last check are redone with larger
    capacities, with the same result."""
    from amorph_core.diffusion import run_sampler
    from amorph_core.diffusion.sampler import StaticPredictor
    from amorph_core.generate import build_starts

    req = small(seeds=(3, 4))
    starts = build_starts(req)
    sig = [0.6, 0.4, 0.3, 0.2, 0.1, 0.05, 0.0, 0.0]
    ref = Generator("sio2", None, "cpu", mode="graph")
    st = ref.batch_state(starts)
    assert not ref.uses_whole_step(st)  # 'auto' on a CPU: per step
    with ref.sampling():
        a = run_sampler(st, ref.predictor(st), sig, ref.generators([3, 4])).positions
    g = Generator("sio2", None, "cpu", mode="graph", whole_step=True)
    p = g.predictor(st)
    assert getattr(p, "capturable", False) and getattr(StaticPredictor, "capturable")
    with g.sampling():
        b = run_sampler(st, p, sig, g.generators([3, 4])).positions
    assert torch.equal(a, b)
    caps0 = p.caps
    p.caps = tuple(c // 2 for c in p.caps)  # force an overflow: detected at the first check, redone
    with g.sampling():
        c = run_sampler(st, p, sig, g.generators([3, 4]), check_finite_every=3).positions
    assert all(x > y // 2 for x, y in zip(p.caps, caps0)) and torch.equal(a, c)
    assert g.predictor(st).caps == caps0  # a later run starts from the original capacities again
    # end to end through generate_structures (seed and parameters recorded as on the per-step path)
    x = read(generate_structures(small(), tmp_path / "ws", generator=g)[0])
    y = read(generate_structures(small(), tmp_path / "ps", generator=ref)[0])
    assert np.array_equal(x.positions, y.positions) and x.info["seed"] == 3
    with pytest.raises(Exception, match="whole_step"):
        Generator("sio2", None, "cpu", whole_step="yes")


def test_bench_whole_step_quick_on_cpu(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    r = subprocess.run([sys.executable, str(root / "benchmarks" / "bench_whole_step.py"), str(tmp_path), "--quick",
                        "--device", "cpu", "--repeats", "1"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    res = json.loads((tmp_path / "bench_whole_step.json").read_text())
    fs = res["full_schedule"]
    assert fs["graph whole-step"]["whole_step_used"] and not fs["graph per-step"]["whole_step_used"]
    assert fs["graph max_dx_per_step_vs_whole_step_a"] == 0.0
    assert res["batch"]["graph whole-step"]["ms_per_step"] > 0


def test_rate_guidance(tmp_path):
    """Rate guidance moves each step by d(rate) + w (d(rate) - d(1 K/ps)): the same numbers as two plain model
    calls, nothing at the pivot rate, the same on the whole-step path, and clear errors for bad w."""
    from amorph_core.errors import AmorphError
    from amorph_core.generate import build_starts

    g = Generator("sio2", None, "cpu", mode="graph")
    st = g.batch_state(build_starts(small(cooling_rate_k_ps=100.0)))
    d = g.predictor(st)(st)
    d0 = g.predictor(st)(type(st)(**{**st.__dict__, "cond": torch.zeros_like(st.cond)}))
    guided = g.predictor(st, 1.5)(st)
    assert torch.allclose(guided, d + 1.5 * (d - d0), atol=1e-6) and (guided - d).abs().max() > 1e-3
    ws = Generator("sio2", None, "cpu", mode="graph", whole_step=True)
    assert torch.allclose(ws.predictor(st, 1.5)(st), guided, atol=1e-6)
    at_pivot = g.batch_state(build_starts(small(cooling_rate_k_ps=1.0)))
    assert torch.equal(g.predictor(at_pivot, 2.0)(at_pivot), g.predictor(at_pivot)(at_pivot))
    for bad in (-0.5, 4.5, float("nan"), "strong"):
        with pytest.raises(AmorphError, match="rate guidance"):
            g.predictor(st, bad)
    with pytest.raises(AmorphError, match="conditional"):
        Generator("cuzr", None, "cpu").check_guidance(1.0)
    req = small(cooling_rate_k_ps=100.0, schedule=3, rate_guidance=1.5)
    a = read(generate_structures(req, tmp_path, generator=g)[0])
    assert a.info["rate_guidance"] == 1.5 and a.info["rate_guidance_pivot_k_ps"] == 1.0


def test_whole_step_mixed_sizes_and_cancel(tmp_path):
    """A batch of different sizes (one porous) on the whole-step path gives the per-step result; a cancel keeps the
    structures finished before it, as on the per-step path."""
    import threading

    from amorph_core.diffusion import run_sampler
    from amorph_core.generate import build_starts

    starts = build_starts(small(seeds=(5,))) + build_starts(small(n_atoms=240, seeds=(6,), pore_radius_a=3.0))
    sig = [0.5, 0.3, 0.1, 0.0]
    ref = Generator("sio2", None, "cpu", mode="graph")
    ws = Generator("sio2", None, "cpu", mode="graph", whole_step=True)
    st = ref.batch_state(starts)
    assert st.ptr == (0, 192, 432) and ws.uses_whole_step(st)
    with ref.sampling():
        a = run_sampler(st, ref.predictor(st), sig, ref.generators([5, 6])).positions
    with ws.sampling():
        b = run_sampler(st, ws.predictor(st), sig, ws.generators([5, 6])).positions
    assert torch.equal(a, b)
    cancel = threading.Event()
    events = []

    def progress(ev):
        events.append(ev)
        if ev["kind"] == "done":
            cancel.set()  # after the first batch

    req = small(seeds=(1, 2), schedule=6, max_atoms_per_batch=192)
    paths = generate_structures(req, tmp_path, progress=progress, cancel=cancel, generator=ws)
    assert len(paths) == 1 and events[-1]["kind"] == "cancelled"
