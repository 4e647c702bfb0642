"""Device diagnosis 2: replay elastic_moduli's sequence on OpenMM CUDA with checks after every step."""
import numpy as np
from amorph_core.structures import reference_glasses
from amorph_core.md.engine_openmm import OpenMMEngine
from amorph_core.md.potentials import get_potential
from amorph_core.md import protocols as P

a = reference_glasses("sio2", 1.0)[0]
pot = get_potential("sio2")
ref = OpenMMEngine(pot, platform="Reference")
eng = P.make_engine(pot, "openmm", precision="double")
print(type(eng).__name__, eng.platform_name, eng.precision, flush=True)
base, i0 = eng.minimize(a, fmax=1e-4, max_iter=20000, precision="double")
print("base", i0, flush=True)
print("stress base", np.round(eng.stress(base), 4), flush=True)
for k in range(6):
    for sgn in (1, -1):
        b = P._deform(base, k, sgn * 1e-3)
        e_pre = eng.energy(b)
        e_ref = ref.energy(b)
        try:
            d, inf = eng.minimize(b, fmax=1e-4, max_iter=20000, precision="double")
        except Exception as exc:
            print(k, sgn, "pre", e_pre, "ref", e_ref, "ERR", exc, flush=True)
            raise SystemExit
        s = eng.stress(d)
        print(k, sgn, "pre", round(e_pre, 4), "ref", round(e_ref, 4), inf, "ref after", round(ref.energy(d), 4),
              "stress", np.round(s, 3), flush=True)
