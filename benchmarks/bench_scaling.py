"""Scaling over the GPUs of one host: generation sweep throughput (glasses/hour) and DDP training samples/s on
1, 2, 4 (8) GPUs, each with its ratio to one GPU, measured in this one run.

Generation (weak scaling): N processes (`amorph sweep --procs N`, one per GPU) make per_gpu x N glasses of
--atoms atoms in batches of --per-batch glasses; glasses/hour = glasses / wall time of the whole command
(process start, model load and every batch included). The seeds of the smaller runs are a prefix of the larger
runs' seeds, so the script also checks that the common files are identical (positions, cell, seeds, parameters).

Training: `torchrun --nproc-per-node N -m amorph_core train` for --train-steps steps of --train-batch structures
per GPU; samples/s from train_log.jsonl between step 50 and the last step (after start-up). Then the N=2 run is
resumed on one GPU for 50 more steps: its step must continue and its loss stay finite.

    python benchmarks/bench_scaling.py --gpus 1,2,4,8 --out benchmarks/results/scaling
    python benchmarks/bench_scaling.py --quick --device cpu --gpus 1,2      # smoke test on a CPU (minutes)

Results: OUT/scaling.json, written after every measurement. Cost: each generation measurement makes
per_gpu = per-batch x batches-per-gpu glasses per GPU (default 16 of 3,000 atoms with the paper's 3,000 steps,
about two batches' time plus start-up); where one command may run only minutes, measure generation and training
in separate runs (--skip-train, --skip-generate) or use --batches-per-gpu 1.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _device_bench import Bench  # noqa: E402

TIMING = ("generation_time_s", "created_utc")


def same_files(a_dir: Path, b_dir: Path) -> tuple:
    """(files compared, all identical apart from timing fields)."""
    from ase.io import read

    names = sorted(p.name for p in a_dir.glob("*.extxyz") if (b_dir / p.name).exists())
    ok = True
    for n in names:
        a, b = read(a_dir / n), read(b_dir / n)
        ok &= bool(np.array_equal(a.positions, b.positions) and np.array_equal(a.cell.array, b.cell.array)
                   and {k: v for k, v in a.info.items() if k not in TIMING}
                   == {k: v for k, v in b.info.items() if k not in TIMING})
    return len(names), ok


def run(cmd, env=None, timeout=None) -> tuple:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return wall, out.stdout + out.stderr


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gpus", default="1,2,4", help="process (GPU) counts, e.g. 1,2,4,8")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--model", default=None, help="model name or checkpoint folder (default: the sio2 default)")
    ap.add_argument("--atoms", type=int, default=3000)
    ap.add_argument("--rate", type=float, default=1.0, help="cooling rate (K/ps)")
    ap.add_argument("--steps", default="paper", help="sampling schedule (default paper: 3000 steps)")
    ap.add_argument("--per-batch", type=int, default=8, help="glasses per batch")
    ap.add_argument("--batches-per-gpu", type=int, default=2)
    ap.add_argument("--train-steps", type=int, default=300)
    ap.add_argument("--train-batch", type=int, default=8, help="structures per GPU per step")
    ap.add_argument("--skip-generate", action="store_true")
    ap.add_argument("--skip-train", action="store_true")
    ap.add_argument("--quick", action="store_true", help="96 atoms, 4 steps, tiny training (smoke test)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "scaling"))
    ap.add_argument("--work", default=None, help="scratch folder (default OUT/work, removed at the end)")
    args = ap.parse_args()
    if args.quick:
        args.atoms, args.steps, args.per_batch, args.batches_per_gpu = 96, "4", 2, 1
        args.train_steps, args.train_batch = 100, 1
    counts = [int(x) for x in args.gpus.split(",")]
    cuda = args.device.startswith("cuda")
    import torch

    have = torch.cuda.device_count() if cuda and torch.cuda.is_available() else 0
    if cuda and not have:
        sys.exit("error: no CUDA GPU visible (use --device cpu --quick for a smoke test)")
    bench = Bench(args.out, args.device, "scaling.json", gpus_visible=have, args=vars(args))
    work = Path(args.work) if args.work else Path(args.out) / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    if not cuda:
        env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    usable = [n for n in counts if not cuda or n <= have]
    bench.res["skipped_counts"] = [n for n in counts if n not in usable]

    if not args.skip_generate:
        gen = bench.res["generate"] = {}
        for n in usable:
            glasses = args.per_batch * args.batches_per_gpu * n
            base = {"system": "sio2", "cooling_rate_k_ps": args.rate, "n_atoms": args.atoms,
                    "seeds": f"0-{glasses - 1}", "schedule": int(args.steps) if args.steps.isdigit() else args.steps,
                    "device": args.device, "max_atoms_per_batch": args.per_batch * args.atoms}
            if args.model:
                base["model"] = args.model
            spec = work / f"gen{n}.json"
            spec.write_text(json.dumps({"requests": [base]}))
            cmd = [sys.executable, "-m", "amorph_core", "sweep", str(spec), "--out", str(work / f"gen{n}"),
                   "--procs", str(n), "--checkpoint-every", "0"] + ([] if cuda else ["--threads", "1"])
            wall, _ = run(cmd, env)
            row = gen[str(n)] = {"glasses": glasses, "wall_s": round(wall, 2),
                                 "glasses_per_hour": round(glasses / wall * 3600, 2)}
            one = gen.get(str(usable[0]))
            if usable[0] == 1 and n > 1:
                row["ratio_to_1"] = round(row["glasses_per_hour"] / one["glasses_per_hour"], 3)
                row["efficiency"] = round(row["ratio_to_1"] / n, 3)
                row["files_compared"], row["identical_to_1"] = same_files(work / "gen1", work / f"gen{n}")
            print(f"generate {n} GPU(s): {glasses} glasses in {wall:.1f} s = {row['glasses_per_hour']:.1f}/h"
                  + (f", {row['ratio_to_1']:.2f}x one GPU ({row['efficiency']:.2f} x N), identical: "
                     f"{row['identical_to_1']}" if "ratio_to_1" in row else ""), flush=True)
            bench.save()

    if not args.skip_train:
        tr = bench.res["train"] = {}
        torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
        base = ["-m", "amorph_core", "train", "--batch-size", str(args.train_batch), "--device", args.device]
        if args.quick:
            base += ["--tiny", "--max-structures", "2"]
        for n in usable:
            out = work / f"train{n}"
            run(torchrun + ["--nproc-per-node", str(n)] + base + ["--steps", str(args.train_steps), "--out", str(out)],
                env)
            rows = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
            a, b = rows[0], rows[-1]  # steps 50 and the last
            sps = (b["step"] - a["step"]) * args.train_batch * n / (b["elapsed_s"] - a["elapsed_s"])
            row = tr[str(n)] = {"steps": b["step"], "samples_per_s": round(sps, 2),
                                "loss_A2_last": b["loss_A2"]}
            if usable[0] == 1 and n > 1:
                row["ratio_to_1"] = round(sps / tr["1"]["samples_per_s"], 3)
                row["efficiency"] = round(row["ratio_to_1"] / n, 3)
            print(f"train {n} GPU(s): {sps:.1f} samples/s" + (f", {row['ratio_to_1']:.2f}x one GPU"
                                                              if "ratio_to_1" in row else ""), flush=True)
            bench.save()
        if 2 in usable:  # the 2-GPU run resumed on one GPU
            out = work / "train2"
            _, log = run(torchrun + ["--nproc-per-node", "1"] + base
                         + ["--steps", str(args.train_steps + 50), "--out", str(out)], env)
            meta = json.loads((out / "config.json").read_text())["meta"]
            last = json.loads((out / "train_log.jsonl").read_text().splitlines()[-1])
            ok = (f"resumed at step {args.train_steps}" in log and meta["step"] == args.train_steps + 50
                  and bool(np.isfinite(last["loss_A2"])))
            tr["resume_2_to_1"] = {"resumed_at": args.train_steps, "step": meta["step"],
                                   "world_size": meta["world_size"], "loss_A2": last["loss_A2"], "ok": ok}
            print(f"train resumed from 2 GPUs on 1: {tr['resume_2_to_1']}", flush=True)
            bench.save()
    shutil.rmtree(work, ignore_errors=True)
    bench.save()
    print(json.dumps(bench.res, indent=1))


if __name__ == "__main__":
    main()
