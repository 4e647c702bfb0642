"""`amorph md melt-quench | refine | moduli | tensile`: MD on BJP silica or Cu-Zr EAM (LAMMPS or OpenMM)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from amorph_core.errors import AmorphError

ENGINES = ["auto", "openmm", "openmm-cpu", "lammps"]


def add_parser(subparsers):
    p = subparsers.add_parser("md", help="run MD: melt-quench, refine, elastic moduli, tensile test")
    sub = p.add_subparsers(dest="md_command", metavar="PROTOCOL")
    sub.required = True

    def common(q, structure=True):
        if structure:
            q.add_argument("structure", help="input structure (extxyz, LAMMPS data, CIF, POSCAR)")
        q.add_argument("--engine", default="auto", choices=ENGINES,
                       help="auto = OpenMM on a CUDA GPU when present, else LAMMPS on the CPU")
        q.add_argument("--json", dest="json_out", help="write results (JSON) to this file")
        q.add_argument("--quiet", action="store_true")

    q = sub.add_parser("melt-quench", help="melt-quench a glass from a random start (paper A.3)")
    q.add_argument("--system", default="sio2", help="sio2 or cuzr")
    q.add_argument("--atoms", type=int, default=3000)
    q.add_argument("--rate", type=float, default=100.0, help="cooling rate, K/ps")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--out-dir", required=True, help="folder for log.jsonl, checkpoints and final.extxyz")
    q.add_argument("--no-resume", action="store_true")
    common(q, structure=False)

    q = sub.add_parser("refine", help="25 ps NVT + 25 ps NPT at 300 K")
    q.add_argument("--out-dir", help="folder for log.jsonl and refined.extxyz")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--nvt-ps", type=float, default=25.0)
    q.add_argument("--npt-ps", type=float, default=25.0)
    common(q)

    q = sub.add_parser("moduli", help="stiffness tensor and K, G, E, Poisson (relaxed internal coordinates)")
    q.add_argument("--strain", type=float, default=1e-3)
    q.add_argument("--fmax", type=float, default=1e-4, help="force convergence of each relaxation, eV/Å")
    common(q)

    q = sub.add_parser("tensile", help="uniaxial tension along z at 1e9 1/s, 300 K")
    q.add_argument("--rate", type=float, default=1e9, help="strain rate, 1/s")
    q.add_argument("--max-strain", type=float, default=0.6)
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--out-dir", help="folder for stress_strain.jsonl")
    common(q)
    return p


def _progress(quiet):
    if quiet:
        return None

    def cb(frac, rec):
        keys = [k for k in ("stage", "T_K", "strain", "stress_gpa", "deformation", "fmax_ev_a") if k in rec]
        print(f"{100 * frac:5.1f}% " + " ".join(f"{k}={rec[k]:.4g}" if isinstance(rec[k], float) else
                                               f"{k}={rec[k]}" for k in keys), file=sys.stderr, flush=True)
    return cb


def _write(path, obj):
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(obj, indent=1))


def run(args):
    from amorph_core.md import protocols as P
    from amorph_core.structures.io import read_structure
    cmd = args.md_command
    prog = _progress(args.quiet)
    if cmd == "melt-quench":
        g = P.melt_quench(args.system, args.atoms, args.rate, seed=args.seed, engine=args.engine,
                          out_dir=args.out_dir, progress=prog, resume=not args.no_resume)
        res = {"structure": str(Path(args.out_dir) / "final.extxyz"), **{k: v for k, v in g.info.items()}}
    else:
        atoms = read_structure(args.structure)
        if cmd == "refine":
            g = P.refine(atoms, engine=args.engine, seed=args.seed, nvt_ps=args.nvt_ps, npt_ps=args.npt_ps,
                         out_dir=args.out_dir, progress=prog)
            res = {"structure": str(Path(args.out_dir) / "refined.extxyz") if args.out_dir else None, **g.info}
        elif cmd == "moduli":
            r = P.elastic_moduli(atoms, engine=args.engine, strain=args.strain, fmax=args.fmax, progress=prog)
            res = {"summary": {k: r[k] for k in ("K_GPa", "G_GPa", "E_GPa", "poisson")}, **r}
        elif cmd == "tensile":
            r = P.tensile_test(atoms, engine=args.engine, strain_rate_per_s=args.rate, max_strain=args.max_strain,
                               seed=args.seed, out_dir=args.out_dir, progress=prog)
            res = {"summary": {k: r[k] for k in ("peak_stress_gpa", "strain_at_peak", "final_stress_gpa",
                                                 "young_fit_gpa")}, **r}
        else:  # pragma: no cover
            raise AmorphError(f"unknown md protocol {cmd}")
    _write(args.json_out, res)
    summary = res.get("summary", {k: res[k] for k in ("density_g_cm3", "engine") if k in res})
    print(json.dumps(summary))
    return 0
