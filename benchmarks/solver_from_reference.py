"""Can a solver finish a glass from a true sample of the noisy data law? Where does the model's score stop?

    python benchmarks/solver_from_reference.py MODEL OUT.json [--sigmas 0.2,0.45,0.75,1.0] [--solver heun]
        [--evals 99] [--copies 6] [--rate 1] [--device auto]

A noise-conditional model's solver (diffusion.solvers) is started, for each noise level sigma (Å), from copies of
the held-out reference glass at RATE (validation split) with Gaussian noise sigma added (copy k: noise seed k),
that is from exact samples of p(x; sigma), and run down to sigma = 0 with sigma_max = sigma. The finished copies
are judged with `amorph evaluate`'s judge (analysis.evaluate, no rings or entropy) against the references at
RATE. Where the solver brings the copies back to a reference-quality glass, the model's score is good enough
from that level down; where it does not, generation from a uniform start cannot succeed with that solver either.
GPU: a few seconds per level for six 3,000-atom copies.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import torch

from amorph_core.analysis.evaluate import evaluate
from amorph_core.diffusion.sampler import wrap_positions
from amorph_core.diffusion.solvers import Solver, run_solver
from amorph_core.generate import Generator
from amorph_core.generate.pipeline import structure_at
from amorph_core.structures.references import reference_glasses

KEYS = ("gen_Si_not_4fold_pct", "gen_O_not_2fold_pct", "gen_shortest_SiO_min_a", "gen_pdf_rfactor_Si-O_mean",
        "gen_pdf_rfactor_O-O_mean", "gen_pdf_rfactor_Si-Si_mean")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model")
    p.add_argument("out")
    p.add_argument("--sigmas", default="0.2,0.45,0.75,1.0")
    p.add_argument("--solver", default="heun", choices=["heun", "pc", "ancestral"])
    p.add_argument("--evals", type=int, default=99)
    p.add_argument("--copies", type=int, default=6)
    p.add_argument("--rate", type=float, default=1.0)
    p.add_argument("--device", default="auto")
    args = p.parse_args(argv)

    gen = Generator("sio2", args.model, args.device)
    if not gen.noise_conditional:
        raise SystemExit(f"{args.model} is noise-blind: this test needs a noise-conditional model")
    ref = reference_glasses("sio2", args.rate, split="validation")[0]
    copies = [ref.copy() for _ in range(args.copies)]
    predict = gen.predictor()
    rows = []
    for sigma in (float(s) for s in args.sigmas.split(",")):
        state = gen.batch_state(copies, args.rate)
        noise = torch.cat([torch.randn(len(a), 3, generator=torch.Generator().manual_seed(k)) for k, a in
                           enumerate(copies)]).to(state.positions)
        state = replace(state, positions=wrap_positions(state.positions + sigma * noise, state.cells, state.batch))
        solver = Solver(args.solver, args.evals, sigma_max=sigma)
        t0 = time.perf_counter()
        with gen.sampling():
            out = run_solver(state, predict, solver, gen.generators(range(args.copies)))
        pos = out.positions.detach().cpu().numpy()
        done = [structure_at(a, pos[out.ptr[k]:out.ptr[k + 1]]) for k, a in enumerate(copies)]
        report = evaluate(done, f"sio2:{args.rate:g}", rings=False, entropy=False)
        row = {"sigma_a": sigma, "solver": solver.name, "evals": solver.evals_used, "copies": args.copies,
               "sampling_s": round(time.perf_counter() - t0, 2), **{k: report["summary"].get(k) for k in KEYS}}
        rows.append(row)
        print(json.dumps(row), flush=True)
    Path(args.out).write_text(json.dumps({"model": args.model, "rate_k_ps": args.rate, "device": gen.device,
                                          "reference": "validation glass, cooling rate as given", "rows": rows},
                                         indent=1))
    print(f"{'sigma':>6} {'Si!=4 %':>8} {'O!=2 %':>7} {'min Si-O':>8} {'R Si-O':>7} {'R O-O':>6} {'R Si-Si':>7}")
    for r in rows:
        print(f"{r['sigma_a']:6.2f} {r[KEYS[0]]:8.2f} {r[KEYS[1]]:7.2f} {r[KEYS[2]]:8.3f} {r[KEYS[3]]:7.3f} "
              f"{r[KEYS[4]]:6.3f} {r[KEYS[5]]:7.3f}")


if __name__ == "__main__":
    main()
