"""Same seed, same device -> same structure? (minimum-image max position difference after 300 steps)"""
import numpy as np
from ase.io import read

from amorph_core.generate import GenerationRequest, Generator, generate_structures

req = GenerationRequest(cooling_rate_k_ps=1.0, n_atoms=3000, seeds=(5,), device="cuda", schedule=300)
g = Generator("sio2", None, "cuda")
a, b = (read(generate_structures(req, f"/tmp/r{k}", generator=g)[0]) for k in (1, 2))
d = a.positions - b.positions
d -= a.cell.lengths() * np.round(d / a.cell.lengths())
print("repro max |dx| after 300 steps (A):", float(np.abs(d).max()))
