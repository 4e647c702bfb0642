"""Is a reference glass a fixed point of the model's clean steps?

python benchmarks/ref_fixed_point.py MODEL [N_STEPS] [RATE] > OUT.txt   (CPU, one thread, ~3 s/step for 3000 atoms)
Applies N_STEPS (default 30) plain denoising steps x <- x - eps(x) to reference glass s0 of RATE (default 1 K/ps)
and prints the RMS predicted displacement (Å) before and after, and the Si-O first-peak height, QUESTS entropy
and coordination defects before and after. A perfect denoiser leaves the glass where it is (RMS ~ 0); what the
glass drifts to is what the final clean steps of generation converge to.
"""
import sys
import time

import torch

from amorph_core.analysis import analyze_structure
from amorph_core.analysis.pdf import partial_pdfs
from amorph_core.diffusion.sampler import run_sampler
from amorph_core.generate import Generator
from amorph_core.structures import reference_glasses

torch.set_num_threads(1)
model = sys.argv[1]
n_steps = int(sys.argv[2]) if len(sys.argv) > 2 else 30
rate = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
g = Generator("sio2", model, "cpu")
predict = g.predictor()
ref = reference_glasses("sio2", rate, nearest=True)[0]


def describe(atoms, tag):
    s = analyze_structure(atoms, rings=False, entropy=True)["summary"]
    peak = max(partial_pdfs(atoms, n_bins=400)["partials"]["Si-O"])
    with torch.no_grad():
        rms = predict(g.batch_state([atoms])).pow(2).sum(1).mean().sqrt().item()
    print(f"{tag:>8s}: RMS predicted displacement {rms:.4f} A | Si-O peak g(r) {peak:.1f} (bins 0.02 A) | "
          f"entropy {s['entropy_nats']:.3f} nats | Si not 4-fold {s['Si_not_4fold_pct']:.2f} % | "
          f"O not 2-fold {s['O_not_2fold_pct']:.2f} %", flush=True)


print(f"model {model}, reference glass {ref.info.get('name', 's0')} of {rate:g} K/ps, {n_steps} clean steps")
describe(ref, "before")
t = time.perf_counter()
out = run_sampler(g.batch_state([ref]), predict, [0.0] * n_steps, [torch.Generator()])
after = ref.copy()
after.positions = out.positions.numpy()
describe(after, "after")
print(f"({time.perf_counter() - t:.0f} s)")
