"""The denoiser is exactly E(3)-equivariant, permutation-equivariant, periodic and batch-consistent."""
import numpy as np
import pytest
import torch

from amorph_core.model import load_model, save_checkpoint
from amorph_core.model.graph import periodic_graph
from tests.helpers_equivariance import assert_o3_equivariant, predict, random_structure, tiny_model


@pytest.fixture(scope="module", params=[(True, True, 2, False, None), (False, False, 1, False, None),
                                        (True, False, 1, False, None), (True, True, 1, True, None),
                                        (True, True, 2, "masked", None), (True, True, 2, "masked", 0.0),
                                        (False, False, 1, False, 0.5)],
                ids=["conditional-speciesSC-radial2", "unconditional", "conditional-linearSC", "species-linears",
                     "species-linears-masked", "noise-conditional", "noise-conditional-edm-unconditional"])
def model(request):
    cond, ssc, rl, sl, sigma_data = request.param
    kind = {"species_linears_kind": "masked"} if sl == "masked" else {}
    noise = {} if sigma_data is None else {"noise_conditional": True, "sigma_data": sigma_data}
    return tiny_model(torch.float64, conditional=cond, species_self_connection=ssc, radial_layers=rl,
                      species_linears=bool(sl), **kind, **noise)


def test_species_linears_grown_from_a_trained_model(tmp_path):
    """with_species_linears keeps the function exactly (each element's linear starts as the shared one); then
    each element's linear acts on its own atoms only; the grown checkpoint saves and loads."""
    from amorph_core.model.denoiser import SpeciesLinear, with_species_linears

    m = tiny_model(torch.float64, species_self_connection=True, radial_layers=2)
    g = with_species_linears(m)
    assert g.cfg.species_linears and g.cfg.species_linears_kind == "masked"
    pos, cell, sp = random_structure(seed=9)
    assert torch.equal(predict(g, pos, cell, sp), predict(m, pos, cell, sp))
    assert sum(p.numel() for p in g.parameters()) > sum(p.numel() for p in m.parameters())
    with pytest.raises(ValueError, match="already"):
        with_species_linears(g)
    lin = g.blocks[1].linear_pre
    assert isinstance(lin, SpeciesLinear)
    x = torch.randn(len(sp), lin.lins[0].irreps_in.dim, dtype=torch.float64)
    onehot = torch.nn.functional.one_hot(sp, 2).double()
    before = lin(x, onehot)
    with torch.no_grad():
        lin.lins[1].weight.add_(1.0)
    after = lin(x, onehot)
    assert torch.equal(after[sp == 0], before[sp == 0]) and not torch.allclose(after[sp == 1], before[sp == 1])
    save_checkpoint(tmp_path / "g", g)
    g2, _ = load_model(tmp_path / "g")
    assert g2.cfg.species_linears_kind == "masked"
    assert torch.allclose(predict(g2.double(), pos, cell, sp), predict(g, pos, cell, sp), atol=1e-6)


def test_output_is_nontrivial(model):
    pos, cell, sp = random_structure()
    out = predict(model, pos, cell, sp)
    assert out.shape == (len(pos), 3) and out.abs().mean() > 1e-4


@pytest.mark.parametrize("improper", [False, True], ids=["rotation", "rotoinversion"])
def test_e3_equivariance(model, improper):
    pos, cell, sp = random_structure()
    assert_o3_equivariant(model, pos, cell, sp, seed=3, improper=improper)


def test_translation_and_wrapping_invariance(model):
    pos, cell, sp = random_structure(seed=1)
    out = predict(model, pos, cell, sp)
    shifted = pos + torch.tensor([3.3, -1.2, 7.7], dtype=pos.dtype)
    frac = shifted @ torch.linalg.inv(cell)
    wrapped = (frac - torch.floor(frac)) @ cell
    # also move some atoms by whole lattice vectors (outside the box)
    moved = wrapped.clone()
    moved[::3] += cell[0] - 2 * cell[2]
    for p in (shifted, wrapped, moved):
        assert torch.allclose(predict(model, p, cell, sp), out, atol=1e-9)


def test_permutation_equivariance(model):
    pos, cell, sp = random_structure(seed=2)
    perm = torch.randperm(len(pos), generator=torch.Generator().manual_seed(0))
    out = predict(model, pos, cell, sp)
    outp = predict(model, pos[perm], cell, sp[perm])
    assert torch.allclose(outp, out[perm], atol=1e-9)


def test_batched_equals_one_by_one(model):
    structs = [random_structure(n=n, length=L, seed=s) for n, L, s in [(40, 10.5, 4), (70, 12.0, 5), (55, 11.0, 6)]]
    rates = torch.tensor([-1.0, 0.0, 2.0], dtype=torch.float64)
    pos = torch.cat([s[0] for s in structs])
    cells = torch.stack([s[1] for s in structs])
    sp = torch.cat([s[2] for s in structs])
    ptr = [0] + list(np.cumsum([len(s[0]) for s in structs]))
    batch = torch.repeat_interleave(torch.arange(3), torch.tensor([len(s[0]) for s in structs]))
    sigmas = torch.tensor([0.05, 0.3, 1.7], dtype=torch.float64)
    src, dst, vec = periodic_graph(pos, cells, ptr, model.cfg.cutoff)
    out = model(sp, src, dst, vec, batch, rates, None, sigmas)
    for k, s in enumerate(structs):
        single = predict(model, *s, log10_rate=float(rates[k]), sigma=float(sigmas[k]))
        assert torch.allclose(out[ptr[k]:ptr[k + 1]], single, atol=1e-9)


def test_conditioning_changes_output_only_when_conditional(model):
    pos, cell, sp = random_structure(seed=7)
    a = predict(model, pos, cell, sp, log10_rate=-1.0)
    b = predict(model, pos, cell, sp, log10_rate=2.0)
    if model.cfg.conditional:
        assert (a - b).abs().max() > 1e-6
    else:
        assert torch.allclose(a, b)


def test_noise_level_changes_output_only_when_noise_conditional(model):
    pos, cell, sp = random_structure(seed=9)
    a, b = (predict(model, pos, cell, sp, sigma=s) for s in (0.02, 1.0))
    if model.cfg.noise_conditional:
        assert (a - b).abs().max() > 1e-6
    else:
        assert torch.equal(a, b)


def test_noise_conditioning_grown_from_a_noise_blind_model(tmp_path):
    """A grown model is the same function until trained (new projections start at zero), keeps every weight,
    and becomes sigma-dependent once those projections move; it round-trips through a checkpoint."""
    from amorph_core.model.denoiser import with_noise_conditioning

    blind = tiny_model(torch.float64, species_linears=True, species_linears_kind="masked")
    grown = with_noise_conditioning(blind)
    pos, cell, sp = random_structure(seed=10)
    for s in (0.01, 0.4, 2.0):
        assert torch.equal(predict(grown, pos, cell, sp, sigma=s), predict(blind, pos, cell, sp))
    with pytest.raises(ValueError):
        with_noise_conditioning(grown)
    with pytest.raises(ValueError):
        with_noise_conditioning(blind, sigma_data=0.5)
    with torch.no_grad():
        for proj in grown.noise_proj:
            proj.weight.add_(0.1)
    assert (predict(grown, pos, cell, sp, sigma=0.01) - predict(grown, pos, cell, sp, sigma=2.0)).abs().max() > 1e-6
    save_checkpoint(tmp_path / "g", grown)
    g2, _ = load_model(tmp_path / "g")
    assert g2.cfg.noise_conditional
    assert torch.allclose(predict(g2.double(), pos, cell, sp, sigma=0.2), predict(grown, pos, cell, sp, sigma=0.2),
                          atol=1e-6)


def test_checkpoint_roundtrip(tmp_path, model):
    save_checkpoint(tmp_path / "m", model, {"note": "test"})
    m2, doc = load_model(tmp_path / "m")
    assert doc["meta"]["note"] == "test"
    pos, cell, sp = random_structure(seed=8)
    # weights are stored as saved (float64 here) and loaded into a float32 model: compare at float32 precision
    assert torch.allclose(predict(m2.double(), pos, cell, sp), predict(model, pos, cell, sp), atol=1e-6)
    import json
    assert json.loads((tmp_path / "m" / "config.json").read_text())["config"]["conditional"] == model.cfg.conditional


def test_checkpoint_of_other_system_is_refused(tmp_path, model):
    from amorph_core.errors import AmorphError
    save_checkpoint(tmp_path / "m", model)
    with pytest.raises(AmorphError, match="trained for system"):
        load_model(tmp_path / "m", system="cuzr")

