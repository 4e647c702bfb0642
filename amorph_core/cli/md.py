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


def _check_args(args):
    """Every parameter and output path checked before any structure is read or MD runs (the protocols check
    their own parameters again, for callers other than the CLI)."""
    from amorph_core import validation as V
    from amorph_core.md.engines import make_engine
    from amorph_core.md.mechanics import TENSILE_MAX_STRAIN, TENSILE_RATE_RANGE
    from amorph_core.md.potentials import get_potential
    from amorph_core.md.quench import check_melt_quench_size
    from amorph_core.md.refinement import REFINE_MAX_PS

    cmd = args.md_command
    if args.json_out is not None:
        V.output_file(args.json_out, "--json")
    if getattr(args, "out_dir", None) is not None:
        V.output_dir(args.out_dir, "--out-dir")
    if hasattr(args, "seed"):
        V.seed(args.seed, "--seed")
    if cmd == "melt-quench":
        from amorph_core.structures.density import positive_rate
        from amorph_core.systems import get_system

        sysd = get_system(args.system)
        positive_rate(args.rate)
        check_melt_quench_size(sysd.name, args.atoms, 2.2 if sysd.name == "sio2" else 7.2)
        make_engine(get_potential(sysd.name), args.engine)  # a missing engine or GPU: said now
    elif cmd == "refine":
        for name in ("nvt_ps", "npt_ps"):
            V.number(getattr(args, name), f"--{name.replace('_', '-')}", "ps", lo=0, hi=REFINE_MAX_PS)
    elif cmd == "moduli":
        V.number(args.strain, "--strain", lo=0, hi=0.05, lo_open=True, hi_open=True)
        V.number(args.fmax, "--fmax", "eV/Å", lo=1e-6, hi=1.0)
    elif cmd == "tensile":
        V.number(args.rate, "--rate", "1/s", lo=TENSILE_RATE_RANGE[0], hi=TENSILE_RATE_RANGE[1])
        V.number(args.max_strain, "--max-strain", lo=0, lo_open=True, hi=TENSILE_MAX_STRAIN)


def run(args):
    from amorph_core import validation as V

    _check_args(args)
    try:
        res = _run_protocol(args)
    except AmorphError:
        raise
    except MemoryError:
        raise AmorphError(f"md {args.md_command}: not enough memory") from None
    except Exception as exc:  # the engine failed on this input (e.g. LAMMPS 'Lost atoms'): said without a traceback
        why = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else "no reason given"
        raise AmorphError(f"md {args.md_command}: the MD engine failed on this structure ({why})") from None
    res = {k: (v.item() if hasattr(v, "item") else v) for k, v in res.items()}
    V.finite_result(res, f"md {args.md_command}")
    if args.json_out is not None:
        V.save_results(args.json_out, res, "results")
    summary = res.get("summary", {k: res[k] for k in ("density_g_cm3", "engine") if k in res})
    print(json.dumps(summary))
    return 0


def _run_protocol(args) -> dict:
    from amorph_core.md.mechanics import elastic_moduli, tensile_test
    from amorph_core.md.quench import melt_quench
    from amorph_core.md.refinement import check_refinable, refine
    from amorph_core.structures.io import read_structure

    cmd = args.md_command
    prog = _progress(args.quiet)
    if cmd == "melt-quench":
        g = melt_quench(args.system, args.atoms, args.rate, seed=args.seed, engine=args.engine,
                        out_dir=args.out_dir, progress=prog, resume=not args.no_resume)
        res = {"structure": str(Path(args.out_dir) / "final.extxyz"), **{k: v for k, v in g.info.items()}}
    else:
        atoms = read_structure(args.structure)
        check_refinable(atoms, args.engine)  # elements, box, engine: before any MD
        if cmd == "refine":
            g = refine(atoms, engine=args.engine, seed=args.seed, nvt_ps=args.nvt_ps, npt_ps=args.npt_ps,
                       out_dir=args.out_dir, progress=prog)
            res = {"structure": str(Path(args.out_dir) / "refined.extxyz") if args.out_dir else None, **g.info}
        elif cmd == "moduli":
            r = elastic_moduli(atoms, engine=args.engine, strain=args.strain, fmax=args.fmax, progress=prog)
            res = {"summary": {k: r[k] for k in ("K_GPa", "G_GPa", "E_GPa", "poisson")}, **r}
        elif cmd == "tensile":
            r = tensile_test(atoms, engine=args.engine, strain_rate_per_s=args.rate, max_strain=args.max_strain,
                             seed=args.seed, out_dir=args.out_dir, progress=prog)
            res = {"summary": {k: r[k] for k in ("peak_stress_gpa", "strain_at_peak", "final_stress_gpa",
                                                 "young_fit_gpa")}, **r}
        else:  # pragma: no cover
            raise AmorphError(f"unknown md protocol {cmd}")
    return res
