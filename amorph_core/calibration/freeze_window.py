"""Freeze-window calibration (device run): where in the schedule do a glass's defects freeze, and do bent or
longer schedules give fewer?

python -m amorph_core.calibration.freeze_window MODEL OUT_DIR RATE SEEDS SCHEDULE [SCHEDULE ...]
  e.g. ... assets/models/sio2-cond-hq2 $OUT/probe 1.0 0-5 paper paper:p2 6000

Every schedule's glasses (one batch, the same starts as `amorph generate` for these seeds) are written to
OUT_DIR/<schedule name>/ and judged with benchmarks/eval_generated.py --no-rings (OUT_DIR/<name>.json, .txt).
With AMORPH_TRACE_EVERY=K (> 0), the first schedule is also traced every K steps: Si not 4-fold and O not
2-fold (2.0 Å bonds) of the current positions, of the model's clean prediction x - d(x), and of a branch
quenched by AMORPH_TRACE_QUENCH (default 100) clean steps, per structure, in OUT_DIR/trace.json. The branches
draw no noise, so the traced trajectory is the untraced one.
AMORPH_PROBE_ATOMS (default 3000) and AMORPH_PROBE_DEVICE (default cuda) make a small CPU check possible.
"""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from amorph_core.analysis.bonds import network_analysis
from amorph_core.diffusion import run_sampler
from amorph_core.generate import GenerationRequest, Generator, build_starts, parse_seeds, resolve_schedule, structure_at
from amorph_core.structures.io import write_structure

ROOT = Path(__file__).resolve().parents[2]


def defects(gen_starts, positions, ptr):
    """(Si not 4-fold, O not 2-fold) in % per structure."""
    pos = positions.detach().cpu().numpy()
    out = []
    for k, a in enumerate(gen_starts):
        r = network_analysis(structure_at(a, pos[ptr[k]:ptr[k + 1]]))
        out.append((100 * r["Si_not_4fold_fraction"], 100 * r["O_not_2fold_fraction"]))
    return out


def run(gen, starts, schedule, trace_every=0, quench=100):
    """Denoise all starts in one batch; returns (final state, trace rows)."""
    state = gen.batch_state(starts)
    predict = gen.predictor(state)
    sigmas = schedule.sigmas()
    rows = []
    ptr = list(state.ptr)

    def callback(t, n, st, elapsed):
        if not trace_every or t % trace_every:
            return
        xhat = st.positions - predict(st)
        branch = run_sampler(st, predict, np.zeros(quench), gen.generators([0] * len(starts)))
        rows.append({"step": t, "sigma_a": float(sigmas[t - 1]), "elapsed_s": round(elapsed, 1),
                     "current": defects(starts, st.positions, ptr), "clean_prediction": defects(starts, xhat, ptr),
                     f"quenched_{quench}": defects(starts, branch.positions, ptr)})
        cur, q = np.mean(rows[-1]["current"], 0), np.mean(rows[-1][f"quenched_{quench}"], 0)
        print(f"  step {t} sigma {sigmas[t - 1]:.3f}: current Si {cur[0]:.1f} %, quenched Si {q[0]:.2f} % "
              f"O {q[1]:.2f} %", flush=True)

    with gen.sampling():
        state = run_sampler(state, predict, sigmas, gen.generators([int(a.info["seed"]) for a in starts]),
                            callback=callback, every=trace_every or len(sigmas))
    return state, rows


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 5:
        raise SystemExit(__doc__)
    model, out, rate, seeds = argv[:4]
    names = argv[4:]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    system = json.loads((Path(model) / "config.json").read_text())["config"]["system"]
    device = os.environ.get("AMORPH_PROBE_DEVICE", "cuda")
    n_atoms = int(os.environ.get("AMORPH_PROBE_ATOMS", "3000"))
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    gen = Generator(system, model, device)
    trace_every = int(os.environ.get("AMORPH_TRACE_EVERY", "0"))
    quench = int(os.environ.get("AMORPH_TRACE_QUENCH", "100"))
    judges = []  # (process, its report file)
    req = GenerationRequest(system=system, cooling_rate_k_ps=float(rate), n_atoms=n_atoms, seeds=parse_seeds(seeds),
                            device=device, model=model)
    starts = build_starts(req, gen.cfg.cutoff)  # the same starts for every schedule
    for i, name in enumerate(names):
        sched = resolve_schedule(name, system, float(rate))
        sync()
        t0 = time.perf_counter()
        state, rows = run(gen, starts, sched, trace_every if i == 0 else 0, quench)
        sync()
        dt = time.perf_counter() - t0
        d = out / sched.name
        d.mkdir(exist_ok=True)
        pos = state.positions.cpu().numpy()
        for k, a in enumerate(starts):
            g = structure_at(a, pos[state.ptr[k]:state.ptr[k + 1]])
            g.info.update({"model": gen.model_name, "schedule": sched.name, "n_steps": sched.n_steps})
            write_structure(g, d / f"seed{a.info['seed']}.extxyz", "extxyz")
        print(f"{sched.name}: {len(starts)} glasses in {dt:.1f} s (traced: {bool(rows)})", flush=True)
        if rows:
            (out / "trace.json").write_text(json.dumps({"schedule": sched.name, "model": model, "rows": rows}))
        report = out / f"{sched.name}.txt"
        with open(report, "w") as fh:  # judged on the CPU while the next schedule samples
            judge = [sys.executable, str(ROOT / "benchmarks/eval_generated.py"), f"{d}/*.extxyz", rate,
                     str(out / f"{sched.name}.json"), "--no-rings"]
            judges.append((subprocess.Popen(judge, stdout=fh, stderr=subprocess.STDOUT), report))
    failed = []
    for j, report in judges:
        if j.wait() != 0:
            failed.append(report.name)
        print(report.read_text(), flush=True)
    if failed:  # a schedule's glasses were made but not judged: say so, with the judge's own words above
        raise SystemExit(f"judging failed for {', '.join(failed)} (benchmarks/eval_generated.py)")


if __name__ == "__main__":
    main()
