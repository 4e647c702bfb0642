"""Find the non-deterministic CUDA op (strict deterministic mode) and check repeatability of single forwards."""
import traceback

import torch

from amorph_core.generate import GenerationRequest, Generator, build_starts
from amorph_core.model.graph import periodic_graph

req = GenerationRequest(cooling_rate_k_ps=1.0, n_atoms=3000, seeds=(5,), device="cuda", schedule=100)
g = Generator("sio2", None, "cuda")
st = g.batch_state(build_starts(req))
torch.use_deterministic_algorithms(True)
with torch.no_grad():
    try:
        s, d, v = periodic_graph(st.positions, st.cells, st.ptr, 5.0)
        print("graph ok")
        outs = [g.model(st.species, s, d, v, st.batch, st.cond) for _ in range(3)]
        print("forward ok; repeat max diff", float((outs[0] - outs[1]).abs().max()), float((outs[0] - outs[2]).abs().max()))
    except Exception:
        traceback.print_exc()
    torch.use_deterministic_algorithms(False)
    nls = [periodic_graph(st.positions, st.cells, st.ptr, 5.0) for _ in range(3)]
    print("nl identical:", all(torch.equal(nls[0][k], nls[i][k]) for i in (1, 2) for k in range(3)))
    s, d, v = nls[0]
    outs = [g.model(st.species, s, d, v, st.batch, st.cond) for _ in range(3)]
    print("nondet-mode forward repeat max diff", float((outs[0] - outs[1]).abs().max()))
