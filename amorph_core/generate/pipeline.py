"""The pipeline: a request's starts, batched, denoised by its sampler and written one extxyz per seed as soon as
its batch is done (with its seed and every parameter), resumable and cancellable."""
from __future__ import annotations

import contextlib
import time
import warnings
from dataclasses import replace
from pathlib import Path

from amorph_core import __version__
from amorph_core.errors import AmorphError, AmorphWarning
from amorph_core.generate.inference import GUIDANCE_PIVOT_K_PS, Generator
from amorph_core.generate.request import GenerationRequest, RunOptions
from amorph_core.generate.resume import PARTIAL_DIR, _finished, _load_partial, _partial_key, _save_partial, output_path
from amorph_core.generate.sampling import resolve_sampler
from amorph_core.systems import get_system


def build_starts(req: GenerationRequest, cutoff: float = 5.0) -> list:
    """The starting configurations (one per seed) for a request, after validating it."""
    from amorph_core.structures.density import fit_density_regression
    from amorph_core.structures.starts import porous_start, uniform_start
    from amorph_core.validation import check_generation_request

    check_generation_request(req)  # numbers, seeds, sizes and memory, before anything is built
    sys_ = get_system(req.system)
    rate = req.conditioning_rate()
    density = req.density_g_cm3
    if density is None:
        # the regression at the rate checked above (density_from_rate would check, and warn, again)
        density = fit_density_regression(sys_.name)(rate) if rate is not None else sys_.default_density_g_cm3
    starts = []
    for seed in req.seeds:
        if req.pore_radius_a is not None:
            lz_over_lx = float(req.aspect[2]) / float(req.aspect[0]) if req.aspect else 1.0
            wall = density if req.wall_density_g_cm3 is None else req.wall_density_g_cm3  # 0 is refused, not replaced
            atoms = porous_start(sys_.name, pore_radius_a=req.pore_radius_a, wall_density_g_cm3=wall,
                                 n_atoms=None if req.box is not None else req.n_atoms, box=req.box,
                                 lz_over_lx=lz_over_lx, lattice=req.pore_lattice, seed=seed)
        else:
            atoms = uniform_start(sys_.name, n_atoms=req.n_atoms, box=req.box,
                                  density_g_cm3=None if (req.box is not None and req.n_atoms is not None) else density,
                                  aspect=req.aspect, seed=seed)
        lengths = atoms.cell.lengths()
        if lengths.min() < 2 * cutoff:
            raise AmorphError(
                f"box {lengths[0]:.1f} x {lengths[1]:.1f} x {lengths[2]:.1f} Å is too small: every length must be "
                f">= {2 * cutoff:g} Å (twice the model cutoff); use more atoms")
        if rate is not None:  # recorded in the glass's file
            atoms.info["cooling_rate_k_ps"] = float(rate)
        starts.append(atoms)
    return starts


def plan_batches(starts, device, max_atoms):
    """Consecutive groups of start indices of at most max_atoms atoms each (None: 200,000 on CUDA, one structure
    per batch on a CPU); the same plan in every process (amorph_core.sweep deals these batches out)."""
    if max_atoms is None:
        max_atoms = 200_000 if device.startswith("cuda") else 1
    batches, cur, n = [], [], 0
    for i, a in enumerate(starts):
        if cur and n + len(a) > max_atoms:
            batches.append(cur)
            cur, n = [], 0
        cur.append(i)
        n += len(a)
    if cur:
        batches.append(cur)
    return batches


def structure_at(start, positions):
    """A copy of start (cell, species, info) at positions (Å), wrapped into the cell."""
    a = start.copy()
    a.positions = positions
    a.wrap()
    return a




def generate_structures(req: GenerationRequest, out_dir, run: RunOptions | None = None, progress=None, cancel=None,
                        generator: Generator | None = None) -> list:
    """Denoise one structure per seed and write each as extxyz into out_dir as soon as it is done.

    progress(event: dict) receives {"kind": "progress", "index", "seed", "step", "n_steps", "entropy_nats",
    "elapsed_s"} every run.event_every steps (entropy_nats None unless run.entropy_every), {"kind": "done",
    "index", "seed", "path"} per structure, {"kind": "resumed", "seeds", "step"} per batch continued from a
    saved trajectory and {"kind": "cancelled", "step"} on cancel (cancel: a threading.Event). Returns the paths
    written (those finished before a cancel).
    run.checkpoint_every > 0: each batch's unfinished trajectory is saved under out_dir/.partial every that many
    steps and on cancel; with run.resume, a later call with the same request, model, schedule and device type
    continues it from there (on a CPU exactly the same trajectory), and batches whose structures are already in
    out_dir (same seed, model, schedule; reported as "done" events with "existing": True) are not made again.
    Finished batches delete their saved trajectory. run: RunOptions (None: its defaults); generator: a loaded
    Generator to reuse (else the request's).
    Raises AmorphError for invalid requests or non-finite model output (finished files are kept).
    """
    from amorph_core.diffusion import SamplerCancelled
    from amorph_core.structures.io import write_structure
    from amorph_core.validation import output_dir

    run = RunOptions() if run is None else run
    if not isinstance(run, RunOptions):
        raise AmorphError(f"run must be a RunOptions, got {type(run).__name__}")
    sys_ = get_system(req.system)
    output_dir(out_dir, "output folder")  # before the model loads
    gen = generator or Generator.for_request(req)
    gen.check_guidance(req.rate_guidance)
    starts = build_starts(req, gen.cfg.cutoff)
    rate = req.conditioning_rate(warn=False)  # build_starts has warned
    schedule = resolve_sampler(req.schedule, req.sampler, gen.noise_conditional, sys_.name, rate)
    entropy_every, checkpoint_every, resume = run.entropy_every, run.checkpoint_every, run.resume
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    progress = progress or (lambda ev: None)
    every = run.event_every
    paths = []
    for batch in plan_batches(starts, gen.device, req.max_atoms_per_batch):
        group = [starts[i] for i in batch]
        seeds = [int(a.info["seed"]) for a in group]
        targets = [output_path(out_dir, sys_.name, rate, len(a), sd) for a, sd in zip(group, seeds)]
        if resume and checkpoint_every > 0 and all(_finished(t, a, sd, gen, schedule, req, rate)
                                                    for t, a, sd in zip(targets, group, seeds)):
            for i, sd, t in zip(batch, seeds, targets):
                paths.append(t)
                progress({"kind": "done", "index": i, "seed": sd, "path": str(t), "existing": True})
            continue
        state = gen.batch_state(group, rate)
        gens = gen.generators(seeds)
        key, ident = _partial_key(req, gen, schedule, seeds)
        stem = out_dir / PARTIAL_DIR / f"{sys_.name}_{len(group)}x{len(group[0])}at_seed{seeds[0]}_{key}"
        start_step, before_s = 0, 0.0
        loaded = _load_partial(stem, ident, state, len(gens)) if (resume and checkpoint_every > 0) else None
        if loaded is not None:
            start_step, pos0, gstates, before_s = loaded
            state = replace(state, positions=pos0)
            for g, st in zip(gens, gstates):
                g.set_state(st)
            progress({"kind": "resumed", "seeds": seeds, "step": start_step, "n_steps": schedule.n_steps})
        predict = gen.predictor(state, req.rate_guidance)
        t0 = time.perf_counter()

        def save(step, st, gstates, _stem=stem, _ident=ident, _t0=t0, _before=before_s):
            _save_partial(_stem, _ident, step, st, gstates, _before + time.perf_counter() - _t0)

        def callback(step, n_steps, st, elapsed, _group=group, _batch=batch, _seeds=seeds):
            ent = [None] * len(_group)
            if entropy_every and entropy_every > 0:
                from amorph_core.analysis.entropy import information_entropy

                pos = st.positions.detach().cpu().numpy()
                for k, a in enumerate(_group):
                    ent[k] = information_entropy(structure_at(a, pos[st.ptr[k]:st.ptr[k + 1]]))
            for k, i in enumerate(_batch):
                progress({"kind": "progress", "index": i, "seed": _seeds[k], "step": step, "n_steps": n_steps,
                          "entropy_nats": ent[k], "elapsed_s": elapsed})

        resume_kw = dict(start_step=start_step, checkpoint=save if checkpoint_every > 0 else None,
                         checkpoint_every=int(checkpoint_every))
        try:
            with gen.sampling():
                state = _denoise(gen, state, predict, schedule, gens, req, callback=callback, every=every,
                                 cancel=cancel, **resume_kw)
        except SamplerCancelled as exc:
            if checkpoint_every > 0 and exc.step > start_step:
                save(exc.step, exc.state, exc.generator_states)
            progress({"kind": "cancelled", "step": exc.step})
            return paths
        except FloatingPointError as exc:
            raise AmorphError(f"the model produced non-finite positions ({exc}); {len(paths)} finished "
                              f"structure(s) kept in {out_dir}") from None
        elapsed = before_s + time.perf_counter() - t0
        pos = state.positions.detach().cpu().numpy()
        for k, i in enumerate(batch):
            a = structure_at(group[k], pos[state.ptr[k]:state.ptr[k + 1]])
            a.info.update({
                "model": gen.model_name, "model_sha256_16": gen.model_sha, "schedule": schedule.name,
                "n_steps": schedule.n_steps, "network_evals": getattr(schedule, "evals_used", schedule.n_steps),
                "sampler": getattr(schedule, "kind", "paper"), "device": gen.device, "amorph_version": __version__,
                # on a CPU the sums' order, so the glass, depends on the thread count: recorded with the seed
                **({"torch_threads": gen.torch.get_num_threads()} if gen.device == "cpu" else {}),
                "generation_time_s": round(elapsed / len(batch), 3),
                "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            })
            if req.density_g_cm3 is not None:
                a.info["requested_density_g_cm3"] = float(req.density_g_cm3)
            if gen.tf32 and gen.device.startswith("cuda"):
                a.info["tf32"] = True
            if start_step:
                a.info["resumed_from_step"] = start_step
            if req.rate_guidance:
                a.info["rate_guidance"] = float(req.rate_guidance)
                a.info["rate_guidance_pivot_k_ps"] = GUIDANCE_PIVOT_K_PS
            path = targets[k]
            write_structure(a, path, "extxyz")  # atomic: never half a file under the final name
            paths.append(path)
            progress({"kind": "done", "index": i, "seed": seeds[k], "path": str(path)})
        for suffix in (".pt", ".json"):
            stem.with_suffix(suffix).unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # only if no other batch's trajectory is kept there
            stem.parent.rmdir()
    return paths


def _denoise(gen: Generator, state, predict, schedule, gens, req: GenerationRequest, **loop_kw):
    """Run the request's sampler (a Schedule: the paper's; a Solver: diffusion.solvers) on one batch."""
    from amorph_core.diffusion import GraphCaptureError, run_sampler
    from amorph_core.diffusion.solvers import Solver, run_solver

    if isinstance(schedule, Solver):
        return run_solver(state, predict, schedule, gens, **loop_kw)
    try:
        return run_sampler(state, predict, schedule.sigmas(), gens, **loop_kw)
    except GraphCaptureError as exc:  # nothing stepped yet: the per-step path instead
        warnings.warn(f"whole-step CUDA graph failed ({exc}); running step by step", AmorphWarning, stacklevel=3)
        gen.whole_step = False
        return run_sampler(state, gen.predictor(None, req.rate_guidance), schedule.sigmas(), gens, **loop_kw)
