# Diagnosis script behind docs/md.md "Diagnosis of the K gap" (numbers in benchmarks/results/md/moduli_diagnosis.json).
# Writes to /tmp/md_diag/ (create it first). Runs LAMMPS on one core: minutes per relaxation.
import sys, numpy as np
sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.dirname(__import__("os").path.abspath(__file__))))
from amorph_core.structures.references import reference_glasses
from vesin import NeighborList
P = {("Si","Si"):(0.0012,0.0460,1.4408,25.1873), ("Si","O"):(0.0070,0.1560,2.5419,46.2930), ("O","O"):(0.0120,0.2630,3.6430,85.0840)}
def V(r, a, b):
    A, rho, s, C = P.get((a, b)) or P[(b, a)]
    return A*np.exp((s-r)/rho) - C/r**6
rc = 8.0
ALL = []
for gi in range(6):
    at = reference_glasses("sio2", rate_k_ps=1.0)[gi]
    sym = np.array(at.get_chemical_symbols())
    i, j, D = NeighborList(cutoff=8.6, full_list=False).compute(at.get_positions(), at.get_cell().array, True, quantities="ijD")
    isSi = sym == "Si"
    vr = np.where(isSi[i] & isSi[j], V(rc,"Si","Si"), np.where(isSi[i] ^ isSi[j], V(rc,"Si","O"), V(rc,"O","O")))
    vol = at.get_volume()
    out = []
    for e in (1e-3, 3e-3, 1e-2):
        row = []
        for k, (a, b) in enumerate([(0,0),(1,1),(2,2),(1,2),(0,2),(0,1)]):
            Js = []
            for s in (e, -e, 0):
                F = np.eye(3); F[a, b] += s
                r = np.linalg.norm(D @ F.T, axis=1)
                Js.append(vr[r < rc].sum())
            row.append((Js[0] + Js[1] - 2*Js[2]) / (vol * e**2) * 160.2177)
        out.append((e, np.round(row, 2)))
    print(gi, out, flush=True); ALL.append({"glass": gi, "by_strain": {str(e): r.tolist() for e, r in out}})
import json; json.dump(ALL, open("/tmp/md_diag/jump.json", "w"))
