# Diagnosis script behind docs/md.md "Diagnosis of the K gap" (numbers in benchmarks/results/md/moduli_diagnosis.json).
# Writes to /tmp/md_diag/ (create it first). Runs LAMMPS on one core: minutes per relaxation.
"""Reduced moduli diagnosis on one glass: LAMMPS, stress derivatives with relaxed internal coordinates.
usage: [RATE=1.0] md_moduli_diag.py STYLE GLASS_IDX [boxrelax] [hydro] [xx] [xy]; STYLE: dsf (repo default), pppm,
ewald, ewald_pre / ewald12_pre (DSF-minimised, then born 8 Å + coul/long 8 or 12 Å + ewald 1e-6, re-minimised)"""
import sys, time, json, numpy as np
sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.dirname(__import__("os").path.abspath(__file__))))
from amorph_core.md.engine_lammps import _lammps
from amorph_core.structures.references import reference_glasses
style, gi = sys.argv[1], int(sys.argv[2])
boxrelax = "boxrelax" in sys.argv[3:]
fmax = 1e-4
glasses = reference_glasses("sio2", rate_k_ps=float(__import__("os").environ.get("RATE", "1.0")))
g = glasses[gi]
atoms = g
L = np.diag(atoms.get_cell())
assert np.allclose(atoms.get_cell(), np.diag(L)), atoms.get_cell()
P = {("Si","Si"):(0.0012,0.0460,1.4408,25.1873), ("Si","O"):(0.0070,0.1560,2.5419,46.2930), ("O","O"):(0.0120,0.2630,3.6430,85.0840)}
lmp = _lammps()(cmdargs=["-log", f"/tmp/md_diag/log_{style}_{gi}{'_br' if boxrelax else ''}.lammps", "-screen", "none", "-nocite"])
lmp.commands_list(["units metal", "atom_style charge", "boundary p p p", "atom_modify map array sort 0 0",
    f"region box prism 0 {L[0]} 0 {L[1]} 0 {L[2]} 0 0 0 units box", "create_box 2 box", "mass 1 28.0855", "mass 2 15.999"])
types = [1 if s == "Si" else 2 for s in atoms.get_chemical_symbols()]
n = len(atoms)
lmp.create_atoms(n, list(range(1, n+1)), types, atoms.get_positions().reshape(-1).tolist())
lmp.commands_list(["set type 1 charge 2.4", "set type 2 charge -1.2"])
if style.startswith("dsf") or style.endswith("_pre"):
    lmp.command("pair_style born/coul/dsf 0.25 8.0")
elif style in ("pppm", "ewald"):
    lmp.command("pair_style born/coul/long 8.0")
for (a, b), (A, rho, sig, C) in P.items():
    i, j = sorted([1 if a == "Si" else 2, 1 if b == "Si" else 2])
    lmp.command(f"pair_coeff {i} {j} {A} {rho} {sig} {C} 0.0")
if style == "dsf":
    lmp.command("pair_modify shift yes")
if style == "pppm":
    lmp.command("kspace_style pppm 1e-6")
if style == "ewald":
    lmp.command("kspace_style ewald 1e-6")
lmp.commands_list(["neighbor 2.0 bin", "neigh_modify every 1 delay 0 check yes",
    "thermo_style custom step pe press pxx pyy pzz pyz pxz pxy vol density fmax", "thermo_modify norm no"])
def relax():
    lmp.commands_list(["min_style fire", "min_modify norm max", f"minimize 0 {fmax} 20000 200000",
                       "min_style cg", "min_modify line quadratic norm max", f"minimize 0 {fmax} 20000 200000"])
    g_ = lmp.get_thermo
    return dict(pe=g_("pe"), p=[g_(k) * 1e-4 for k in ("pxx", "pyy", "pzz", "pyz", "pxz", "pxy")], vol=g_("vol"),
                rho=g_("density"), fmax=g_("fmax"))
t0 = time.time()
out = {"style": style, "glass": gi, "boxrelax": boxrelax}
out["base0"] = relax()
if style.endswith("_pre"):
    out["dsf_base"] = out["base0"]
    rcl = 12.0 if style == "ewald12_pre" else 8.0
    lmp.commands_list([f"pair_style hybrid/overlay born 8.0 coul/long {rcl}", "pair_coeff * * coul/long"])
    for (a, b), (A, rho, sig, C) in P.items():
        i, j = sorted([1 if a == "Si" else 2, 1 if b == "Si" else 2])
        lmp.command(f"pair_coeff {i} {j} born {A} {rho} {sig} {C} 0.0")
    lmp.command("kspace_style ewald 1e-6")
    out["base0"] = relax()
if boxrelax:
    lmp.commands_list(["fix br all box/relax aniso 0.0 vmax 0.001", "min_style cg", "min_modify line quadratic norm max",
                       "minimize 0 1e-4 20000 200000", "unfix br"])
    out["after_boxrelax"] = relax()
base = out["after_boxrelax"] if boxrelax else out["base0"]
import ctypes
b = lmp.extract_box(); L0 = [float(v) for v in np.array(b[1]) - np.array(b[0])]
x0 = lmp.gather_atoms("x", 1, 3)
def restore():
    lmp.command(f"change_box all x final 0 {L0[0]!r} y final 0 {L0[1]!r} z final 0 {L0[2]!r} xy final 0.0 units box")
    lmp.scatter_atoms("x", 1, 3, x0)
e = 1e-3
res = {}
MODES = [m for m in ("hydro", "xx", "xy") if m in (sys.argv[3:] or ["hydro", "xx", "xy"]) or not any(x in sys.argv[3:] for x in ("hydro", "xx", "xy"))]
for name in MODES:
    for sgn in (1, -1):
        s = sgn * e
        if name == "hydro":
            cmd = " ".join(f"{ax} final 0 {L0[k]*(1+s)!r}" for k, ax in enumerate("xyz"))
        elif name == "xx":
            cmd = f"x final 0 {L0[0]*(1+s)!r}"
        else:
            cmd = f"xy final {L0[1]*s!r}"
        restore()
        lmp.command(f"change_box all {cmd} remap units box")
        res[(name, sgn)] = relax()
        print(name, sgn, res[(name, sgn)], time.time() - t0, flush=True)
def dsig(name):  # stress = -pressure, GPa ; derivative per unit strain
    return -(np.array(res[(name, 1)]["p"]) - np.array(res[(name, -1)]["p"])) / (2 * e)
if "hydro" in MODES:
    h = dsig("hydro")
    out.update(K_hydro=h[:3].mean() / 3, dsig_hydro=h.tolist(),
               E_curv_hydro=(res[("hydro",1)]["pe"] + res[("hydro",-1)]["pe"] - 2*base["pe"]) / (base["vol"] * 9 * e**2) * 160.2176)
if "xx" in MODES:
    x = dsig("xx"); out.update(C11=x[0], C12=(x[1] + x[2]) / 2, dsig_xx=x.tolist())
if "xy" in MODES:
    s_ = dsig("xy"); out.update(C66=s_[5], dsig_xy=s_.tolist())
out["wall_s"] = time.time() - t0
# E_curv_hydro: (1/V) d2U/de^2 with e the linear strain = 9K for hydrostatic -> divide by 9 -> K
print(json.dumps(out), flush=True)
json.dump(out, open(f"/tmp/md_diag/res_{__import__('os').environ.get('RATE','1.0')}_{style}_{gi}{'_br' if boxrelax else ''}.json", "w"), indent=1)
