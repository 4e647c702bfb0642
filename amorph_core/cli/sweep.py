"""`amorph sweep SPEC --out DIR`: generate every structure of a sweep spec (cooling rates x sizes x seeds, ...),
spread over every GPU of the host (or the processes of a launcher), into the same per-structure files as
`amorph generate`."""
from __future__ import annotations

import sys
import time

from amorph_core.generate.request import RunOptions


def add_parser(sub):
    p = sub.add_parser("sweep", help="generate a sweep of structures from a spec file, over every GPU",
                       description="Generate the structures of a sweep spec (JSON or TOML: base = request fields "
                                   "shared by all, grid = fields with lists of values, every combination is one "
                                   "request, requests = more single requests; see docs/generator.md, Scaling "
                                   "out). Files as amorph generate writes them, plus OUT/sweep.json (the requests "
                                   "and batches).")
    p.add_argument("spec", help="sweep spec file (.json or .toml)")
    p.add_argument("--out", required=True, help="output directory (one file per structure)")
    p.add_argument("--procs", default="auto", metavar="N",
                   help="processes sharing the work, one per GPU (default auto: every visible GPU on CUDA, else 1); "
                        "under torchrun or another launcher setting RANK and WORLD_SIZE each process does its share")
    p.add_argument("--threads", type=int, default=None, metavar="T",
                   help="torch CPU threads per launched process (default: torch's)")
    p.add_argument("--checkpoint-every", type=int, default=RunOptions.checkpoint_every, metavar="K",
                   help="save unfinished trajectories under OUT/.partial every K steps (default "
                        f"{RunOptions.checkpoint_every}; 0 = never); "
                        "the same command run again skips finished structures and continues the saved ones")
    p.add_argument("--no-resume", action="store_true", help="make every structure again from step 0")
    p.add_argument("--plan", action="store_true",
                   help="only print the requests, the batches and each rank's share (with --procs N or the "
                        "launcher's WORLD_SIZE), then exit")
    return p


def _print_plan(requests, units, world: int) -> None:
    from amorph_core.sweep import assign

    for k, q in enumerate(requests):
        n = sum(len(u.seeds) for u in units if u.request == k)
        print(f"request {k + 1}: {q.system}, {q.cooling_rate_k_ps} K/ps, "
              f"{q.n_atoms if q.n_atoms is not None else q.box} {'atoms' if q.n_atoms is not None else 'Å box'}, "
              f"schedule {q.schedule}, {n} structure(s)")
    print(f"{len(units)} batch(es) over {world} process(es):")
    for r, share in enumerate(assign(units, world)):
        seeds = sum(len(units[i].seeds) for i in share)
        print(f"  rank {r}: {len(share)} batch(es), {seeds} structure(s), batches {','.join(map(str, share))}")


def run(args):
    from amorph_core.errors import AmorphError
    from amorph_core.sweep import assign, default_procs, load_spec, parse_procs, plan_units, rank_from_env, run_requests

    if args.checkpoint_every < 0:
        raise AmorphError(f"--checkpoint-every must be >= 0 steps, got {args.checkpoint_every}")
    if args.threads is not None and args.threads < 1:
        raise AmorphError(f"--threads must be >= 1, got {args.threads}")
    requests = load_spec(args.spec)
    procs = parse_procs(args.procs)
    if args.plan:
        rank = rank_from_env()
        units = plan_units(requests, args.out)
        if rank.launched:  # under a launcher: this process's share
            share = assign(units, rank.world)[rank.rank]
            # one write of one whole line: tasks started side by side share the launcher's stdout
            sys.stdout.write(f"rank {rank.rank} of {rank.world} (local {rank.local}): {len(share)} batch(es), "
                             f"{sum(len(units[i].seeds) for i in share)} structure(s), "
                             f"batches {','.join(map(str, share))}\n")
            sys.stdout.flush()
        else:
            _print_plan(requests, units, procs if procs is not None else default_procs(requests))
        return 0
    t0 = time.perf_counter()

    def progress(ev):
        if ev["kind"] == "done":
            print(f"{'kept' if ev.get('existing') else 'wrote'} {ev['path']} (seed {ev['seed']})")

    import signal
    import threading

    cancel = threading.Event()
    try:
        signal.signal(signal.SIGINT, lambda *_: cancel.set())
    except ValueError:  # not the main thread
        pass
    paths, cancelled = run_requests(requests, args.out, procs, progress=progress, cancel=cancel,
                                    threads=args.threads, record=True,
                                    run=RunOptions(checkpoint_every=args.checkpoint_every, resume=not args.no_resume))
    if cancelled:
        print(f"{len(paths)} structure(s) finished before the cancel -> {args.out}; run the same command again to "
              "continue", file=sys.stderr)
        return 130
    print(f"{len(paths)} structure(s) in {time.perf_counter() - t0:.1f} s -> {args.out}")
    return 0
