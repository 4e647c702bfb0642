"""TF32 matmuls in the sampler (run on the device): one 3,000-atom 1 K/ps structure, full paper schedule,
'compile-graph', with TF32 matmuls off (the default) and on (`Generator(tf32=...)`), in one process on one GPU; the
same seed's structures compared; then six glasses (seeds 0-5) with TF32 on, for the quality check
(`benchmarks/eval_generated.py OUT/q_tf32/*.extxyz 1.0 ...`).

  python benchmarks/bench_tf32.py OUT_DIR [--model M] [--quality]
Writes OUT_DIR/bench_tf32.json after every measurement.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from amorph_core.generate import GenerationRequest, Generator, generate_structures  # noqa: E402
from benchmarks._device_bench import min_image_max_diff  # noqa: E402

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("out")
ap.add_argument("--model", default=None)
ap.add_argument("--quality", action="store_true", help="also six glasses with TF32 on")
args = ap.parse_args()
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
res = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "model": args.model, "runs": {}}
from ase.io import read  # noqa: E402

finals = {}
for tf32 in (False, True):  # Generator.sampling() sets torch's TF32 flags from tf32 (global flags are overridden)
    g = Generator("sio2", args.model, "cuda", mode="compile-graph", tf32=tf32)
    t = time.perf_counter()
    generate_structures(GenerationRequest(cooling_rate_k_ps=1.0, n_atoms=3000, seeds=(1,), schedule=20, device="cuda"),
                        out / f"warm_{tf32}", generator=g)
    warm = time.perf_counter() - t
    torch.cuda.synchronize()
    t = time.perf_counter()
    p = generate_structures(GenerationRequest(cooling_rate_k_ps=1.0, n_atoms=3000, seeds=(0,), device="cuda"),
                            out / f"full_{tf32}", generator=g)[0]
    torch.cuda.synchronize()
    res["runs"][f"tf32={tf32}"] = {"seconds": time.perf_counter() - t, "warmup_s": warm}
    finals[tf32] = read(p)
    print(tf32, res["runs"][f"tf32={tf32}"], flush=True)
    (out / "bench_tf32.json").write_text(json.dumps(res, indent=1))
    if tf32 and args.quality:
        t = time.perf_counter()
        generate_structures(GenerationRequest(cooling_rate_k_ps=1.0, n_atoms=3000, seeds=tuple(range(6)), device="cuda"),
                            out / "q_tf32", generator=g)
        res["quality_batch_s"] = time.perf_counter() - t
res["max_abs_dx_tf32_vs_fp32_a"] = min_image_max_diff(finals[True], finals[False])
res["ratio_fp32_over_tf32"] = res["runs"]["tf32=False"]["seconds"] / res["runs"]["tf32=True"]["seconds"]
(out / "bench_tf32.json").write_text(json.dumps(res, indent=1))
print(json.dumps(res, indent=1))
