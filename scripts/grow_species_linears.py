"""Grow a trained species-blind checkpoint into one with species-dependent per-atom linears ('masked' kind: one
o3.Linear per element, each starting as the shared one, so the function is unchanged; training then lets the
elements differ). The result has no optimizer state: `amorph_core.train` continues from its weights and step.

  python scripts/grow_species_linears.py SRC_MODEL DST_DIR
"""
import hashlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from amorph_core.model.checkpoint import load_model, resolve_model_dir, save_checkpoint  # noqa: E402
from amorph_core.model.denoiser import with_species_linears  # noqa: E402
from amorph_core.model.graph import periodic_graph  # noqa: E402
from amorph_core.structures.references import reference_glasses  # noqa: E402

src, dst = sys.argv[1], Path(sys.argv[2])
if (dst / "config.json").exists():
    raise SystemExit(f"{dst} already holds a checkpoint")
model, doc = load_model(src)
grown = with_species_linears(model).eval()
# check on the system's first reference glass, with noise added: the same displacements
g = reference_glasses(model.cfg.system)[0]
pos = torch.tensor(g.positions, dtype=torch.float32)
pos = pos + 0.1 * torch.randn(pos.shape, generator=torch.Generator().manual_seed(0))
cell = torch.tensor(g.cell.array, dtype=torch.float32)
sp = torch.tensor([model.cfg.elements.index(s) for s in g.get_chemical_symbols()])
s_, d_, v_ = periodic_graph(pos, cell[None], [0, len(g)], model.cfg.cutoff)
rate = torch.zeros(1) if model.cfg.conditional else None
sigma = torch.full((1,), 0.1) if model.cfg.noise_conditional else None
with torch.no_grad():
    diff = float((model(sp, s_, d_, v_, None, rate, sigma=sigma) - grown(sp, s_, d_, v_, None, rate, sigma=sigma))
                 .abs().max())
sha = hashlib.sha256((resolve_model_dir(src) / "model.pt").read_bytes()).hexdigest()[:16]
meta = {k: v for k, v in doc.get("meta", {}).items() if k in ("system", "step", "val_loss_A2", "train_data_sha256",
                                                               "val_data_sha256", "train_structures", "val_structures")}
meta.update({"grown_from": str(src), "grown_from_model_sha256_16": sha,
             "grown": "species-dependent per-atom linears (masked), each element's copy = the shared linear",
             "max_abs_output_diff_vs_source_a": diff, "final": False})
save_checkpoint(dst, grown, meta)
n0, n1 = (sum(p.numel() for p in m.parameters()) for m in (model, grown))
print(json.dumps({"source": str(src), "dst": str(dst), "parameters": [n0, n1], "step": meta.get("step"),
                  "max_abs_output_diff_a": diff}))
