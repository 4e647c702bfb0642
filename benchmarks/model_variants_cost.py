"""What a larger denoiser costs: parameters and ms per forward pass on one 3000-atom reference glass (1 K/ps,
s0) for the shipped sio2-cond configuration and candidate variants, interleaved in one process so the ratios
hold on a busy machine. Untrained random weights: the cost does not depend on them.

  python benchmarks/model_variants_cost.py [--device cpu|cuda] [--threads 1] [--repeats 5] [--json OUT]
"""
import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore")

from amorph_core.model import Denoiser, DenoiserConfig  # noqa: E402
from amorph_core.model.checkpoint import read_config  # noqa: E402
from amorph_core.model.graph import periodic_graph  # noqa: E402
from amorph_core.structures.references import reference_glasses  # noqa: E402

VARIANTS = {
    "shipped": {},
    "big (sio2-cond-big)": dict(species_self_connection=True, radial_layers=2, hidden_vectors=64),
    "species-linears": dict(species_self_connection=True, species_linears=True),
    "species-linears + radial2": dict(species_self_connection=True, species_linears=True, radial_layers=2),
    "species-linears + 128 scalars": dict(species_self_connection=True, species_linears=True, hidden_scalars=128),
    "big + masked species linears (sio2-cond-hq2-sl)": dict(species_self_connection=True, radial_layers=2,
                                                             hidden_vectors=64, species_linears=True,
                                                             species_linears_kind="masked"),
}

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("--device", default="cpu")
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--repeats", type=int, default=5)
ap.add_argument("--json", default=None)
a = ap.parse_args()
torch.set_num_threads(a.threads)
base = read_config("sio2-cond")["config"]
glass = [g for g in reference_glasses("sio2") if g.info.get("cooling_rate_k_ps") == 1.0][0]
dev = torch.device(a.device)
pos = torch.tensor(glass.positions, dtype=torch.float32, device=dev)
cell = torch.tensor(glass.cell.array, dtype=torch.float32, device=dev)
species = torch.tensor([("Si", "O").index(s) for s in glass.get_chemical_symbols()], device=dev)
src, dst, vec = periodic_graph(pos, cell[None], [0, len(glass)], 5.0)
rate = torch.zeros(1, device=dev)
models = {}
for name, kw in VARIANTS.items():
    torch.manual_seed(0)
    models[name] = Denoiser(DenoiserConfig.from_dict({**base, **kw})).to(dev).eval()
times = {n: [] for n in models}
with torch.no_grad():
    for m in models.values():  # warm-up
        m(species, src, dst, vec, log10_rate=rate)
    for _ in range(a.repeats):
        for n, m in models.items():
            if dev.type == "cuda":
                torch.cuda.synchronize()
            t = time.perf_counter()
            m(species, src, dst, vec, log10_rate=rate)
            if dev.type == "cuda":
                torch.cuda.synchronize()
            times[n].append(time.perf_counter() - t)
rows = []
t0 = sorted(times["shipped"])[len(times["shipped"]) // 2]
print(f"{len(glass)} atoms, {src.shape[0]} edges, device {a.device}, {a.threads} thread(s), median of {a.repeats}")
print(f"{'variant':34s} {'parameters':>10s} {'ms/forward':>10s} {'x shipped':>9s}")
for n, m in models.items():
    t = sorted(times[n])[len(times[n]) // 2]
    rows.append(dict(variant=n, config=VARIANTS[n], parameters=sum(p.numel() for p in m.parameters()),
                     ms_per_forward=1000 * t, ratio=t / t0))
    print(f"{n:34s} {rows[-1]['parameters']:10d} {1000 * t:10.1f} {t / t0:9.2f}")
if a.json:
    Path(a.json).write_text(json.dumps(dict(device=a.device, threads=a.threads, atoms=len(glass),
                                            edges=int(src.shape[0]), rows=rows), indent=1))
