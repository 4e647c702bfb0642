"""`amorph analyze FILE... [--reference sio2:1] [--json OUT]`: structural analysis of structure files.

Reads anything ase reads plus LAMMPS data files; prints a report per file; --json writes the full results
(rewritten after every file, so partial results survive a cancel) with a flat `summary`.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

from amorph_core.errors import AmorphError


def add_parser(subparsers):
    p = subparsers.add_parser(
        "analyze", help="analyse structures (PDF, angles, coordination, rings, QUESTS entropy, ...)",
        description="Structural analysis of amorphous structures. Files: anything ase reads (extxyz, CIF, "
                    "POSCAR, ...) or LAMMPS data (type 1 = O, 2 = Si). See docs/analysis.md.")
    p.add_argument("files", nargs="+", metavar="FILE", help="structure file(s)")
    p.add_argument("--system", default=None, help="glass system (sio2, cuzr); default: guessed from elements")
    p.add_argument("--reference", default=None, metavar="SYSTEM:RATE",
                   help="compare with the reference glasses of SYSTEM at the nearest cooling rate RATE (K/ps), "
                        "e.g. sio2:1")
    p.add_argument("--json", dest="json_out", default=None, metavar="OUT", help="write full results as JSON")
    p.add_argument("--format", default=None, help="ase file format, if the suffix does not tell")
    p.add_argument("--no-rings", action="store_true", help="skip ring statistics (slowest part)")
    p.add_argument("--no-entropy", action="store_true", help="skip QUESTS entropy and overlaps")
    p.add_argument("--voronoi", action="store_true", default=None,
                   help="Voronoi indices and volumes (default: on for metallic glasses)")
    p.add_argument("--no-voronoi", dest="voronoi", action="store_false")
    p.add_argument("--pore-centers", default=None, metavar="X,Y[;X,Y]",
                   help="pore axes (Å) for the NBO analysis; default: from the file's pore_centers")
    p.add_argument("--max-ring-memory-gb", type=float, default=None,
                   help="refuse ring statistics above this memory estimate (default: half the free memory)")
    p.add_argument("--quiet", action="store_true", help="no report on stdout")
    return p


def _parse_centers(text):
    if text is None:
        return None
    try:
        pts = [[float(v) for v in part.split(",")] for part in text.split(";") if part.strip()]
    except ValueError:
        pts = []
    if not pts or any(len(p) != 2 or not all(map(math.isfinite, p)) for p in pts):
        raise AmorphError(f"--pore-centers must look like X,Y or X,Y;X,Y (Å), got {text!r}")
    return pts


def _fmt(v, nd=3):
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


def report(res: dict) -> str:
    """Readable multi-line report of one analyze_structure result."""
    s = res["summary"]
    lines = [f"== {res['name']}: {res['n_atoms']} atoms, system {res['system']}, "
             + ", ".join(f"{k} {v}" for k, v in res["composition"].items()),
             f"  cell (Å)             {' x '.join(f'{x:.3f}' for x in res['cell_lengths_a'])}"
             f"  angles {'/'.join(f'{x:.1f}' for x in res['cell_angles_deg'])}",
             f"  density              {s['density_g_cm3']:.4f} g/cm3"]
    pdf = res["pdf"]
    r = pdf["r_a"]
    peaks = []
    for k, g in pdf["partials"].items():
        i = max(range(len(g)), key=lambda n: g[n])
        peaks.append(f"{k} {r[i]:.2f} Å (g={g[i]:.2f})")
    lines.append(f"  PDF highest peaks    {'; '.join(peaks)}   [{pdf['n_bins']} bins, 0-{pdf['r_max_a']:g} Å]")
    if "network" in res:
        n = res["network"]
        lines += [
            f"  coordination         Si {s['coord_Si_mean']:.3f}  O {s['coord_O_mean']:.3f}   "
            f"(Si-O bond < {n['bond_cutoff_a']:g} Å)",
            f"  defects              Si not 4-fold {s['Si_not_4fold_pct']:.2f} %   O not 2-fold {s['O_not_2fold_pct']:.2f} %",
            "  Qn                   " + "  ".join(f"Q{k} {float(v) * 100:.1f}%" for k, v in sorted(
                n["qn_distribution"].items(), key=lambda kv: int(kv[0]))),
            f"  angle O-Si-O         {_fmt(s['angle_OSiO_mean_deg'], 2)} ± {_fmt(s['angle_OSiO_sd_deg'], 2)} deg",
            f"  angle Si-O-Si        {_fmt(s['angle_SiOSi_mean_deg'], 2)} ± {_fmt(s['angle_SiOSi_sd_deg'], 2)} deg",
            f"  shortest Si-O        {_fmt(s['shortest_SiO_a'])} Å",
        ]
    if "rings" in res:
        rg = res["rings"]
        if "error" in rg:
            lines.append(f"  rings                skipped: {rg['error']}")
        else:
            cells = [f"{n}:{c}" for n, c in zip(rg["sizes_si"], rg["counts"]) if c]
            lines.append(f"  rings (by # Si)      {' '.join(cells) or 'none'}   total {rg['total_rings']}")
            lines.append(f"                       {rg['definition']}")
    if "entropy" in res:
        e = res["entropy"]
        lines.append(f"  QUESTS entropy       {e['entropy_nats']:.3f} nats   (ln N = {e['ln_n_atoms']:.3f})")
    if "voronoi" in res:
        v = res["voronoi"]
        lines.append("  Voronoi top indices  " + "  ".join(
            f"{t['index']} {t['fraction'] * 100:.1f}%" for t in v["top_indices"][:5]))
        lines.append("  atomic volume        " + "  ".join(
            f"{el} {m:.3f} ± {v['volume_sd_a3'][el]:.3f} Å3" for el, m in v["volume_mean_a3"].items()))
    if "pores" in res:
        p = res["pores"]
        lines.append(f"  pores                {p['n_pores']} pore(s), r_eff {p['r_eff_a']:.2f} Å, "
                     f"surface {p['surface_area_nm2']:.2f} nm2, NBO {p['n_nbo']} -> {p['nbo_per_nm2']:.2f} /nm2")
    if "reference" in res:
        rf = res["reference"]
        lines.append(f"  vs reference         {rf['system']} at {rf['rate_k_ps']:g} K/ps "
                     f"({rf['n_structures']} glasses)")
        lines.append("    PDF R-factor       " + "  ".join(f"{k} {v:.4f}" for k, v in rf["pdf_r_factor_vs_mean"].items()))
        if "overlap_on_reference_mean" in rf:
            lines.append(f"    overlap            this|ref {rf['overlap_on_reference_mean']:.3f}   "
                         f"ref|this {rf['reference_overlap_on_structure_mean']:.3f}   "
                         f"(ref|ref {rf['reference_self_overlap_mean']:.3f})")
            d = rf["delta_entropy_vs_reference_nats"]
            lines.append(f"    novel environments {d['fraction_positive'] * 100:.2f} % (dH > 0 vs all reference)")
        if rf.get("identical_to_reference_samples"):
            lines.append(f"    (identical to reference sample(s) {rf['identical_to_reference_samples']}: "
                         f"left out of the overlaps)")
    t = res.get("timings_s", {})
    lines.append("  time (s)             " + "  ".join(f"{k} {v:.2f}" for k, v in t.items()))
    return "\n".join(lines)


def run(args) -> int:
    from amorph_core import validation as V
    from amorph_core.analysis import aggregate, analyze_structure
    from amorph_core.analysis.suite import parse_reference
    from amorph_core.structures.io import read_structure
    from amorph_core.systems import get_system

    if args.system is not None:
        get_system(args.system)
    reference = parse_reference(args.reference)
    if reference is not None and reference[1] is None:
        raise AmorphError(f"--reference {args.reference}: give the cooling rate to compare at, e.g. "
                          f"{reference[0]}:1 (K/ps)")
    centers = _parse_centers(args.pore_centers)
    out = V.output_file(args.json_out, "--json") if args.json_out is not None else None
    max_mem = None if args.max_ring_memory_gb is None else int(
        V.number(args.max_ring_memory_gb, "--max-ring-memory-gb", "GiB", lo=0, lo_open=True, hi=1e6) * 1024 ** 3)
    structures = [(f, read_structure(f, format=args.format)) for f in args.files]  # fail fast on bad files
    results = []
    for fname, atoms in structures:
        name = Path(fname).name
        try:
            res = analyze_structure(
                atoms, system=args.system, reference=reference, rings=not args.no_rings,
                entropy=not args.no_entropy, voronoi=args.voronoi, pores=True if centers else None,
                pore_centers=centers, max_ring_memory_bytes=max_mem, name=name,
                progress=None if args.quiet else (lambda m: print(f"  ... {m}", file=sys.stderr, flush=True)))
        except AmorphError as exc:
            raise AmorphError(f"{name}: {exc}") from None
        except MemoryError:
            raise AmorphError(f"{name}: not enough memory to analyse {len(atoms)} atoms") from None
        except Exception as exc:  # a library failed on this input: say so without a traceback
            why = str(exc).splitlines()[0][:120] if str(exc).strip() else "no reason given"
            raise AmorphError(f"{name}: the analysis failed on this structure ({why})") from None
        V.finite_result(res, f"{name}: analysis")
        results.append(res)
        if not args.quiet:
            print(report(res), flush=True)
        if out is not None:
            V.save_results(out, _payload(results, aggregate), "results")
    if len(results) > 1 and not args.quiet:
        agg = aggregate(results)
        print(f"== mean over {len(results)} files")
        for k, v in agg.items():
            print(f"  {k:38s} {v['mean']:.4f} ± {v['sd']:.4f}")
    if out is not None:
        print(f"wrote {out}", file=sys.stderr)
    return 0


def _payload(results, aggregate):
    agg = aggregate(results)
    if len(results) == 1:
        summary = dict(results[0]["summary"])
    else:
        summary = {k: v["mean"] for k, v in agg.items()}
    return {"files": results, "summary": summary, "aggregate": agg,
            "per_file_summary": {r["name"]: r["summary"] for r in results}}
