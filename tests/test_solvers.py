"""Solvers for noise-conditional denoisers (diffusion.solvers): correct on a problem with a known answer,
deterministic or seeded, batch-independent, resumable, and wired into generate_structures."""
import threading

import numpy as np
import pytest
import torch

from amorph_core.diffusion.sampler import BatchState, SamplerCancelled
from amorph_core.diffusion.solvers import Solver, run_solver
from amorph_core.errors import AmorphError

CENTER, L = 500.0, 1000.0


def gaussian_batch(n_structures=2, n_atoms=1500, s_data=1.0, sigma_max=2.5, seed=0):
    """Atoms whose clean positions are N(CENTER, s_data^2) per coordinate in a huge cell (wrapping never acts),
    started from that law convolved with N(0, sigma_max^2): the start law of the probability-flow ODE."""
    g = torch.Generator().manual_seed(seed)
    n = n_structures * n_atoms
    pos = CENTER + (s_data ** 2 + sigma_max ** 2) ** 0.5 * torch.randn((n, 3), generator=g, dtype=torch.float64)
    cells = torch.eye(3, dtype=torch.float64).repeat(n_structures, 1, 1) * L
    batch = torch.repeat_interleave(torch.arange(n_structures), n_atoms)
    return BatchState(pos, cells, torch.zeros(n, dtype=torch.long), batch,
                      tuple(range(0, n + 1, n_atoms)), None)


def exact_denoiser(s_data=1.0, calls=None):
    """The optimal displacement for Gaussian data: x - E[x0 | x] = sigma^2 / (s^2 + sigma^2) (x - CENTER)."""
    def predict(state, sigma):
        if calls is not None:
            calls.append(sigma)
        return sigma ** 2 / (s_data ** 2 + sigma ** 2) * (state.positions - CENTER)
    return predict


def gens(seeds):
    return [torch.Generator().manual_seed(s) for s in seeds]


@pytest.mark.parametrize("solver", [Solver("heun", 25), Solver("heun", 41, churn=10.0), Solver("pc", 201),
                                    Solver("ancestral", 200)], ids=["heun", "heun-churn", "pc", "ancestral"])
def test_solvers_sample_the_data_law_with_the_exact_denoiser(solver):
    """With the exact denoiser of Gaussian data, the samples have the data's spread (1 Å), not the start's
    (2.7 Å); a wrong sign or scale of the score or of the Langevin step fails this."""
    state = gaussian_batch()
    out = run_solver(state, exact_denoiser(), solver, gens([0, 1]))
    sd = float((out.positions - CENTER).std())
    assert abs(sd - 1.0) < 0.06, sd


def test_heun_counts_its_evaluations_and_is_deterministic():
    calls = []
    solver = Solver("heun", 25)
    a = run_solver(gaussian_batch(), exact_denoiser(calls=calls), solver, gens([0, 1]))
    assert len(calls) == solver.evals_used <= 25 and solver.evals_used >= 23
    assert calls[0] == pytest.approx(2.5) and min(calls) == pytest.approx(solver.sigma_min)
    b = run_solver(gaussian_batch(), exact_denoiser(), solver, gens([5, 6]))  # no noise drawn: seeds irrelevant
    assert torch.equal(a.positions, b.positions)


@pytest.mark.parametrize("kind", ["pc", "heun-churn", "ancestral", "renoise"])
def test_stochastic_solvers_are_batch_independent_and_seeded(kind):
    """A structure's result depends on its own seed only, not on its batch-mates (per-structure noise and
    per-structure Langevin step sizes)."""
    solver = {"pc": Solver("pc", 21), "heun-churn": Solver("heun", 21, churn=5.0),
              "ancestral": Solver("ancestral", 21), "renoise": Solver("renoise", 21, sigma_max=1.0)}[kind]
    both = run_solver(gaussian_batch(2, 300), exact_denoiser(), solver, gens([3, 4]))
    one = gaussian_batch(2, 300)
    first = BatchState(one.positions[:300], one.cells[:1], one.species[:300], one.batch[:300], (0, 300), None)
    alone = run_solver(first, exact_denoiser(), solver, gens([3]))
    assert torch.allclose(both.positions[:300], alone.positions, atol=1e-10)
    again = run_solver(gaussian_batch(2, 300), exact_denoiser(), solver, gens([3, 9]))
    assert torch.equal(again.positions[:300], both.positions[:300])
    assert not torch.allclose(again.positions[300:], both.positions[300:])


@pytest.mark.parametrize("solver", [Solver("pc", 31), Solver("heun", 31, churn=5.0), Solver("renoise", 31)],
                         ids=["pc", "heun-churn", "renoise"])
def test_cancelled_and_resumed_equals_uninterrupted(solver):
    full = run_solver(gaussian_batch(2, 200), exact_denoiser(), solver, gens([0, 1]))
    cancel = threading.Event()
    seen = []

    def callback(step, n, st, elapsed):
        seen.append(step)
        if step == 5:
            cancel.set()

    g = gens([0, 1])
    with pytest.raises(SamplerCancelled) as exc:
        run_solver(gaussian_batch(2, 200), exact_denoiser(), solver, g, callback=callback, every=5, cancel=cancel)
    assert exc.value.step == 5
    g2 = gens([0, 1])
    for gen, st in zip(g2, exc.value.generator_states):
        gen.set_state(st)
    rest = run_solver(exc.value.state, exact_denoiser(), solver, g2, start_step=exc.value.step)
    assert torch.equal(rest.positions, full.positions)


def test_renoise_is_the_papers_update_told_the_noise_level():
    """Each step tells the model the noise the previous step added (the first: sigma_max), one evaluation per
    step; the added noise falls linearly to zero with the paper's 1/30 clean steps; a window puts more steps in
    its band. With the exact denoiser the update (posterior mean + fresh noise) keeps ~0.7 of the data's spread:
    annealed Langevin at the paper's temperature, not an exact sampler (an exact one gives 1.0)."""
    calls = []
    solver = Solver("renoise", 60, sigma_max=1.0)
    out = run_solver(gaussian_batch(sigma_max=1.0), exact_denoiser(calls=calls), solver, gens([0, 1]))
    told, added = solver.renoise_levels()
    assert len(calls) == solver.evals_used == 60
    assert calls[0] == 1.0 and np.allclose(calls[1:], np.maximum(added[:-1], solver.sigma_min))
    # as the paper's schedule: the noisy fall ends at 0, then round(60 / 30) clean steps
    assert added[0] == 1.0 and np.all(np.diff(added) <= 0) and np.sum(added == 0) == 2 + 1
    sd = float((out.positions - CENTER).std())
    assert 0.6 < sd < 0.8, sd
    windowed = Solver("renoise", 60, sigma_max=1.0, window=(0.1, 0.45, 4.0)).renoise_levels()[1]
    band = lambda a: int(np.sum((a > 0.1) & (a < 0.45)))  # noqa: E731
    assert band(windowed) > 1.5 * band(added)  # 4x the density there, at the same number of steps


def test_renoise_starts_at_the_papers_level_with_the_systems_window():
    from amorph_core.generate.sampling import RENOISE_SIGMA_MAX, WINDOW_FACTOR, resolve_sampler
    from amorph_core.systems import get_system

    s = resolve_sampler(100, "renoise", True, "sio2", 1.0)
    assert s.sigma_max == RENOISE_SIGMA_MAX and s.window == (*get_system("sio2").freeze_window_a, WINDOW_FACTOR)
    assert resolve_sampler(100, "renoise", True, "cuzr", None).window == ()
    with pytest.raises(AmorphError, match="noise-blind"):
        resolve_sampler(100, "renoise", False, "sio2", 1.0)


def test_solver_arguments_are_checked():
    for bad in (dict(kind="euler", n_evals=50), dict(kind="heun", n_evals=2), dict(kind="pc", n_evals=50,
                                                                                    sigma_min=3.0),
                dict(kind="renoise", n_evals=50, sigma_max=1.0, window=(0.1, 1.5, 4.0)),
                dict(kind="renoise", n_evals=50, sigma_max=1.0, window=(0.1, 0.45, 0.0))):
        with pytest.raises(ValueError):
            Solver(**bad)
    s = Solver("pc", 100)
    assert s.evals_used <= 100 and s.levels()[-1] == 0 and np.all(np.diff(s.levels()) < 0)


def test_generate_with_a_noise_conditional_model(tmp_path):
    """generate_structures runs a tiny noise-conditional checkpoint with both solvers on the CPU, records the
    sampler and its cost in each file, refuses the paper's sampler for it and the solvers for a noise-blind
    model, and gives the same glass for the same seed."""
    from amorph_core.generate import DEFAULT_SOLVER, GenerationRequest, generate_structures
    from amorph_core.model import save_checkpoint
    from ase.io import read as read_structure  # a random tiny model may leave atoms that the reader refuses

    from tests.helpers_equivariance import tiny_model

    nc = tiny_model(torch.float32, noise_conditional=True, elements=("Si", "O"))
    save_checkpoint(tmp_path / "nc", nc)
    save_checkpoint(tmp_path / "blind", tiny_model(torch.float32, elements=("Si", "O")))
    req = GenerationRequest(cooling_rate_k_ps=1.0, n_atoms=96, seeds=(0,), schedule=9, device="cpu",
                            model=str(tmp_path / "nc"))
    for sampler in ("heun", "pc", "renoise"):
        from dataclasses import replace

        p1 = generate_structures(replace(req, sampler=sampler), tmp_path / sampler)[0]
        p2 = generate_structures(replace(req, sampler=sampler), tmp_path / f"{sampler}2")[0]
        a, b = read_structure(p1), read_structure(p2)
        assert a.info["sampler"] == sampler and a.info["network_evals"] <= 9 and a.info["seed"] == 0
        assert np.array_equal(a.positions, b.positions) and np.isfinite(a.positions).all()
    auto = read_structure(generate_structures(req, tmp_path / "auto")[0])
    assert auto.info["sampler"] == DEFAULT_SOLVER == "renoise"  # the winner on the measured curve
    with pytest.raises(AmorphError, match="noise level"):
        generate_structures(replace(req, sampler="paper"), tmp_path / "x")
    with pytest.raises(AmorphError, match="noise-blind"):
        generate_structures(replace(req, sampler="heun", model=str(tmp_path / "blind")), tmp_path / "y")
    with pytest.raises(AmorphError, match="network evaluations"):
        generate_structures(replace(req, schedule="window"), tmp_path / "z")
