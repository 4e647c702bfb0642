"""`amorph generate`: denoise glasses from random (or porous) starts and write extxyz files."""
from __future__ import annotations

import dataclasses
import signal
import sys
import threading
import time
import warnings
from pathlib import Path

from amorph_core.errors import AmorphWarning
from amorph_core.generate.request import RunOptions
from amorph_core.generate.sampling import SAMPLERS


def _floats(text, n, what):
    from amorph_core.errors import AmorphError

    try:
        vals = tuple(float(x) for x in str(text).split(","))
    except ValueError:
        raise AmorphError(f"{what} must be {n} comma-separated numbers, got {text!r}") from None
    if len(vals) != n:
        raise AmorphError(f"{what} must be {n} comma-separated numbers, got {text!r}")
    return vals


def add_parser(sub):
    p = sub.add_parser("generate", help="generate amorphous structures with the diffusion model",
                       description="Generate glasses. Lengths in Å, densities in g/cm3, cooling rates in K/ps.")
    p.add_argument("--system", default="sio2", help="sio2 or cuzr (default sio2)")
    p.add_argument("--cooling-rate", type=float, default=None, help="cooling rate in K/ps (sio2: 1e-2..1e3)")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--atoms", type=int, default=None, help="number of atoms (whole formula units)")
    size.add_argument("--box", default=None, help="box lengths LX,LY,LZ in Å")
    p.add_argument("--aspect", default="1,1,1", help="box aspect ratios LX,LY,LZ (with --atoms), e.g. 1,1,1.4")
    p.add_argument("--density", type=float, default=None, help="density in g/cm3 (default: from cooling rate)")
    p.add_argument("--pore-radius", type=float, default=None, help="cylindrical pore radius along z in Å")
    p.add_argument("--wall-density", type=float, default=None, help="density of the pore wall in g/cm3")
    p.add_argument("--pore-lattice", default="single", choices=["single", "hexagonal"])
    seeds = p.add_mutually_exclusive_group()
    seeds.add_argument("--seed", type=int, default=None, help="one seed")
    seeds.add_argument("--seeds", default=None, help="several seeds: 0-5 or 1,4,9")
    p.add_argument("--steps", default="auto",
                   help="network evaluations per glass (the cost). The paper's sampler: paper (2900 noisy + 100 "
                        "clean steps; the default for noise-blind models), window or matched (a-SiO2: the "
                        "paper's steps with a slower passage where the glass freezes; matched times it by the "
                        "cooling rate; draft-window: 200 such steps, the CPU preset), fast, quick, draft, "
                        "no-noise, or a number of steps; NAME:pP bends the noise fall to power P, NAME:wLO-HIxF "
                        "gives F x the steps per Å between LO and HI Å. "
                        "Solvers (--sampler heun|pc|ancestral|renoise): a number, e.g. 50, 100, 200 (default 200)")
    p.add_argument("--sampler", default="auto", choices=SAMPLERS,
                   help="paper: the paper's sampler (noise-blind models); heun: probability-flow ODE, pc: reverse "
                        "SDE predictor-corrector, ancestral: DDPM's ancestral steps, renoise: the paper's update "
                        "told the noise level (noise-conditional models); "
                        "auto (default): paper for a noise-blind model, renoise for a noise-conditional one")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--model", default=None, help="model name under assets/models or a checkpoint directory")
    p.add_argument("--mode", default="auto", choices=["auto", "eager", "segment", "graph", "compile", "compile-graph"],
                   help="how the model runs (default auto = graph on CUDA, eager on a CPU; graph / compile-graph: "
                        "CUDA graphs over padded edge lists, see docs/generator.md)")
    p.add_argument("--rate-guidance", type=float, default=0.0, metavar="W",
                   help="strengthen the cooling rate's effect: each step moves by d(rate) + W (d(rate) - "
                        "d(1 K/ps)) (default 0 = the paper's sampler; 0..4; see docs/generator.md)")
    p.add_argument("--tf32", action="store_true",
                   help="TF32 matrix products on a CUDA GPU: ~1.05x faster, another (reproducible) trajectory")
    p.add_argument("--entropy-every", type=int, default=RunOptions.entropy_every,
                   help="report QUESTS entropy every K steps (slow; default never)")
    p.add_argument("--out", default="generated", help="output directory (default ./generated)")
    p.add_argument("--checkpoint-every", type=int, default=RunOptions.checkpoint_every, metavar="K",
                   help="save each unfinished trajectory under OUT/.partial every K steps and on Ctrl-C (default "
                        f"{RunOptions.checkpoint_every}; 0 = never); the same command run again continues it")
    p.add_argument("--no-resume", action="store_true", help="start from step 0 even where OUT/.partial holds a "
                                                            "saved trajectory of this request")
    p.add_argument("--procs", default="auto", metavar="N",
                   help="processes sharing the work, one per GPU (default auto: every visible GPU on CUDA, else 1); "
                        "the files are the same for any N; under torchrun or another launcher setting RANK and "
                        "WORLD_SIZE each process does its share (see docs/generator.md, Scaling out)")
    p.add_argument("--refine", default=None, metavar="PROTOCOL",
                   help="also write NAME_refined.extxyz after short MD at 300 K (the generated file is kept): "
                        "min (minimise only), short (+ 1 ps NVT), paper (+ 25 ps NVT + 25 ps NPT), or "
                        "NVT_PS[,NPT_PS]; BJP silica or Cu-Zr EAM")
    p.add_argument("--md-engine", default="auto", help="MD engine for --refine: auto (OpenMM on a GPU, else "
                                                        "LAMMPS), openmm, openmm-cpu or lammps")
    return p


def _check_args(args):
    """The options that never reach GenerationRequest, checked before anything loads (the request's own values
    are checked by validation.check_generation_request)."""
    from amorph_core import validation as V

    V.output_dir(args.out, "--out")
    V.number(args.checkpoint_every, "--checkpoint-every", "steps", lo=0, integer=True)
    V.number(args.entropy_every, "--entropy-every", "steps", lo=0, integer=True)
    if args.seed is not None:
        V.seed(args.seed, "--seed")


def run(args):
    from amorph_core.generate import GenerationRequest, build_starts, parse_seeds, resolve_device, sampler_for
    from amorph_core.model.checkpoint import resolve_model_dir

    _check_args(args)
    seeds = parse_seeds(args.seeds) if args.seeds is not None else (args.seed if args.seed is not None else 0,)
    if isinstance(seeds, int):
        seeds = (seeds,)
    req = GenerationRequest(
        system=args.system, cooling_rate_k_ps=args.cooling_rate, n_atoms=args.atoms,
        box=_floats(args.box, 3, "--box") if args.box else None, aspect=_floats(args.aspect, 3, "--aspect"),
        density_g_cm3=args.density, pore_radius_a=args.pore_radius, wall_density_g_cm3=args.wall_density,
        pore_lattice=args.pore_lattice, seeds=tuple(seeds), schedule=args.steps, sampler=args.sampler,
        device=args.device,
        model=args.model, mode=args.mode, rate_guidance=args.rate_guidance,
        tf32=args.tf32)
    with warnings.catch_warnings():  # the request's errors before the model loads (its warnings come with the run)
        warnings.simplefilter("ignore", AmorphWarning)
        start = build_starts(dataclasses.replace(req, seeds=req.seeds[:1]))[0]
        sampler_for(req)
    resolve_device(req.device)
    if req.model is not None:
        resolve_model_dir(req.model)
    if args.refine is not None:  # refuse a bad protocol, a box too small for the potential or a missing engine first
        from amorph_core.md.refinement import check_refinable, parse_refine

        parse_refine(args.refine)
        check_refinable(start, args.md_engine)
    t0 = time.perf_counter()
    last = {}

    def progress(ev):
        if ev["kind"] == "progress":
            key = ev["step"]
            if last.get("step") != key:
                last["step"] = key
                ent = f", entropy {ev['entropy_nats']:.3f} nats" if ev.get("entropy_nats") is not None else ""
                print(f"  step {ev['step']}/{ev['n_steps']} ({ev['elapsed_s']:.0f} s){ent}", file=sys.stderr)
        elif ev["kind"] == "done":
            print(f"wrote {ev['path']} (seed {ev['seed']})")
        elif ev["kind"] == "resumed":
            print(f"  seeds {','.join(map(str, ev['seeds']))}: continuing the saved trajectory at step "
                  f"{ev['step']}/{ev['n_steps']}", file=sys.stderr)
        elif ev["kind"] == "cancelled":
            print(f"cancelled at step {ev['step']}" + ("; run the same command again to continue from there"
                                                      if args.checkpoint_every > 0 else ""), file=sys.stderr)

    cancel = threading.Event()
    previous = signal.getsignal(signal.SIGINT)
    try:  # Ctrl-C: stop at the next step, save the trajectory (with --checkpoint-every) and keep finished files
        signal.signal(signal.SIGINT, lambda *_: cancel.set())
    except ValueError:  # not the main thread
        previous = None
    from amorph_core.sweep import parse_procs, run_requests

    try:
        paths, cancelled = run_requests([req], args.out, parse_procs(args.procs), progress=progress, cancel=cancel,
                                        run=RunOptions(entropy_every=args.entropy_every,
                                                       checkpoint_every=args.checkpoint_every,
                                                       resume=not args.no_resume))
    except (MemoryError, RuntimeError) as exc:  # torch's out-of-memory is a RuntimeError
        if not isinstance(exc, MemoryError) and "out of memory" not in str(exc):
            raise
        from amorph_core.errors import AmorphError

        raise AmorphError(f"out of memory generating {start.get_global_number_of_atoms()} atoms per structure on "
                          f"{args.device}; finished structures are kept in {args.out}: use fewer atoms") from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    if cancelled:
        print(f"{len(paths)} structure(s) finished before the cancel -> {args.out}")
        return 130
    print(f"{len(paths)} structure(s) in {time.perf_counter() - t0:.1f} s -> {args.out}")
    if args.refine is not None:
        return _refine_all(paths, args.refine, args.md_engine)
    return 0


def _refine_all(paths, protocol, engine) -> int:
    """Refine each generated file into NAME_refined.extxyz beside it; failures are reported and the generated
    files stay. Returns the exit status (2 if any refinement failed)."""
    from amorph_core.md.refinement import refine_files

    failed = 0
    for row in refine_files(paths, protocol, engine):
        if row["error"]:
            failed += 1
            print(f"error: refining {Path(row['path']).name} failed: {row['error']} (the generated structure is "
                  "kept)", file=sys.stderr)
        else:
            print(f"wrote {row['refined']} ({protocol}, {row['engine']}, {row['wall_s']:.1f} s)")
    return 2 if failed else 0
