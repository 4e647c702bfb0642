"""Device diagnosis: why elastic_moduli on OpenMM CUDA hit NaN (session 7). Prints energies/finite checks."""
import time
import numpy as np
from amorph_core.structures import reference_glasses
from amorph_core.md.engine_openmm import OpenMMEngine
from amorph_core.md.potentials import get_potential
from amorph_core.md import protocols as P

a = reference_glasses("sio2", 1.0)[0]
pot = get_potential("sio2")
ref = OpenMMEngine(pot, platform="Reference")
print("Reference energy", ref.energy(a), flush=True)
for prec in ("mixed", "double"):
    eng = OpenMMEngine(pot, platform="CUDA", precision=prec)
    t = time.time()
    try:
        print(prec, "energy", eng.energy(a), flush=True)
        print(prec, "stress", np.round(eng.stress(a), 4), flush=True)
        d, inf = eng.minimize(a, fmax=1e-4, max_iter=20000, precision=prec)
        print(prec, "base", inf, "finite", np.isfinite(d.positions).all(), round(time.time() - t, 1), flush=True)
        print(prec, "energy after", eng.energy(d), "ref", ref.energy(d), flush=True)
        s = eng.stress(d)
        print(prec, "stress after", np.round(s, 4), flush=True)
        print(prec, "energy after stress", eng.energy(d), flush=True)
        for k in range(6):
            b = P._deform(d, k, 1e-3)
            print(prec, k, "deformed energy", eng.energy(b), "ref", ref.energy(b), flush=True)
        d2, inf2 = eng.minimize(P._deform(d, 0, 1e-3), fmax=1e-4, max_iter=20000, precision=prec)
        print(prec, "deformed min", inf2, round(time.time() - t, 1), flush=True)
    except Exception as e:
        import traceback; traceback.print_exc()
