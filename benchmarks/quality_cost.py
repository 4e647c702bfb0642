"""Quality vs cost: glasses per (sampler, network evaluations) point, judged with `amorph evaluate`.

Generate (GPU; one batch per point, the same seeds and starts at every point):
    python benchmarks/quality_cost.py generate OUT --model M --sampler heun --evals 25,50,100,200,500,1000
    python benchmarks/quality_cost.py generate OUT --model sio2-cond-hq4 --sampler paper --evals 3000
    python benchmarks/quality_cost.py generate OUT --system cuzr --atoms 5000 --seeds 0-5 --model M --sampler renoise
Judge every point folder (CPU; parallel processes) and collect the table and the plot:
    python benchmarks/quality_cost.py judge OUT [--jobs 8] [--system cuzr]
    python benchmarks/quality_cost.py report OUT [OUT2 ...] --plot docs/quality_cost.png --json RESULTS.json \
        [--point "LABEL:EVALS:JUDGED.json" ...]      (points judged earlier: a JSON with the judge's "summary")
        [--rows "EARLIER.json[:NOTE]" ...]           (the rows of an earlier report's --json)

Each point is OUT/<sampler>-<evals>/ with one extxyz per seed (seed, sampler, evaluations and model in its
header) and OUT/<sampler>-<evals>/timing.json (wall seconds of the whole batch, sampling only).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from amorph_core.generate.sampling import SAMPLERS

#: per system, the judge's numbers shown in the table and plot (summary key, label)
SYSTEM_METRICS = {
    "sio2": (("gen_Si_not_4fold_pct", "Si not 4-fold %"), ("gen_O_not_2fold_pct", "O not 2-fold %"),
             ("gen_shortest_SiO_min_a", "shortest Si-O Å"), ("gen_pdf_rfactor_Si-O_mean", "R Si-O"),
             ("gen_pdf_rfactor_O-O_mean", "R O-O"), ("gen_pdf_rfactor_Si-Si_mean", "R Si-Si"),
             ("overlap_gen_sim_mean", "Gen|Sim"), ("gen_entropy_nats_mean", "entropy nats")),
    "cuzr": (("gen_pdf_rfactor_Cu-Cu_mean", "R Cu-Cu"), ("gen_pdf_rfactor_Cu-Zr_mean", "R Cu-Zr"),
             ("gen_pdf_rfactor_Zr-Zr_mean", "R Zr-Zr"), ("gen_pdf_rfactor_total_mean", "R total"),
             ("overlap_gen_sim_mean", "Gen|Sim"), ("gen_entropy_nats_mean", "entropy nats")),
}
#: the cooling rate (K/ps) of each system's curve: generation (conditional systems) and the judge's references
CURVE_RATE = {"sio2": 1.0, "cuzr": 10.0}
TITLES = {"sio2": "a-SiO2, 3,000 atoms, 1 K/ps", "cuzr": "Cu50Zr50, 5,000 atoms, 10 K/ps references"}


def _rate(args) -> float:
    """The curve's cooling rate (K/ps): --rate, else the system's CURVE_RATE."""
    return args.rate or CURVE_RATE[args.system]


def generate(args):
    from amorph_core.generate import GenerationRequest, Generator, generate_structures, parse_seeds
    from amorph_core.systems import get_system

    seeds = parse_seeds(args.seeds)
    gen = Generator(args.system, args.model, "auto", mode=args.mode)
    rate = _rate(args) if get_system(args.system).conditional else None
    for n in (int(x) for x in args.evals.split(",")):
        req = GenerationRequest(system=args.system, cooling_rate_k_ps=rate, n_atoms=args.atoms, seeds=seeds,
                                schedule=n, sampler=args.sampler, model=args.model, mode=args.mode)
        folder = Path(args.out) / f"{args.sampler}-{n}"
        t0 = time.perf_counter()
        paths = generate_structures(req, folder, generator=gen)
        wall = time.perf_counter() - t0
        (folder / "timing.json").write_text(json.dumps({"wall_s": wall, "n": len(paths), "evals": n,
                                                        "sampler": args.sampler, "model": args.model,
                                                        "device": gen.device}))
        print(f"{folder.name}: {len(paths)} glasses in {wall:.1f} s", flush=True)


def judge(args):
    folders = sorted(p for p in Path(args.out).iterdir() if p.is_dir() and any(p.glob("*.extxyz")))

    def one(folder):
        out = folder / "evaluate.json"
        if out.exists():
            return folder.name, 0
        rc = subprocess.run([sys.executable, "-m", "amorph_core", "evaluate", str(folder), "--reference",
                             f"{args.system}:{_rate(args):g}", "--json", str(out)],
                            capture_output=True, text=True)
        if rc.returncode:
            print(rc.stderr[-2000:], file=sys.stderr)
        return folder.name, rc.returncode

    with ThreadPoolExecutor(args.jobs) as pool:
        for name, rc in pool.map(one, folders):
            print(f"{name}: {'ok' if rc == 0 else f'failed ({rc})'}", flush=True)


def _series(sampler, model) -> str:
    """A curve's name: its sampler and its model's folder name."""
    return f"{sampler}, {Path(model).name}" if model else sampler


def _ref_key(k):
    """The row key of the MD references' value of metric k (None where the judge gives none)."""
    if k == "overlap_gen_sim_mean":
        return "ref_overlap_sim_sim"
    return "ref_" + k[4:] if k.startswith("gen_") else None


def _points(outs, metrics):
    rows = []
    for out in outs:
        for f in sorted(Path(out).glob("*/evaluate.json")):
            rep = json.loads(f.read_text())
            timing = json.loads((f.parent / "timing.json").read_text()) if (f.parent / "timing.json").exists() else {}
            per = rep["per_structure"]
            sampler = per[0].get("sampler", "paper")
            evals = int(per[0].get("network_evals", per[0].get("n_steps", 0)))
            model = per[0].get("model")
            rows.append({"point": f.parent.name, "sampler": sampler, "evals": evals, "n": rep["n_generated"],
                         "series": _series(sampler, model),
                         "model": model, "wall_s_batch": timing.get("wall_s"),
                         **{k: rep["summary"].get(k) for k, _ in metrics},
                         **{"ref_" + k[4:]: rep["summary"].get("ref_" + k[4:]) for k, _ in metrics
                            if k.startswith("gen_")},
                         "ref_overlap_sim_sim": rep["summary"].get("overlap_sim_sim_mean"),
                         "ref_entropy_nats": rep["summary"].get("ref_entropy_nats_mean")})
    return sorted(rows, key=lambda r: (r["sampler"], r["evals"]))


def _extra_points(specs, metrics):
    rows = []
    for spec in specs or []:
        label, evals, path = spec.split(":", 2)
        doc = json.loads(Path(path).read_text())
        summ = doc.get("summary", doc)  # the judge's JSON, or an older flat summary
        rows.append({"point": label, "sampler": label, "series": label, "evals": int(evals),
                     "n": summ.get("n_generated"),
                     "model": None, "wall_s_batch": None, **{k: summ.get(k) for k, _ in metrics},
                     "ref_overlap_sim_sim": summ.get("overlap_sim_sim_mean"),
                     "ref_entropy_nats": summ.get("ref_entropy_nats_mean"), "source": path})
    return rows


def _earlier_rows(specs):
    """Rows of an earlier report's JSON ('PATH' or 'PATH:NOTE', NOTE appended to the names of its generated
    series, not to its --point rows)."""
    rows = []
    for spec in specs or []:
        path, _, note = spec.partition(":")
        for r in json.loads(Path(path).read_text()):
            series = r.get("series") or _series(r["sampler"], r.get("model"))
            if r.get("model"):
                series = f"{series} {note}".strip()
            rows.append({**r, "series": series, "source": r.get("source", path)})
    return rows


def report(args):
    metrics = SYSTEM_METRICS[args.system]
    rows = _points(args.outs, metrics) + _extra_points(args.point, metrics) + _earlier_rows(args.rows)
    head = "| series | evals | n | " + " | ".join(lbl for _, lbl in metrics) + " |"
    print(head)
    print("|" + "---|" * (3 + len(metrics)))
    for r in rows:
        vals = " | ".join("-" if r.get(k) is None else f"{r[k]:.3f}" for k, _ in metrics)
        print(f"| {r['series']} | {r['evals']} | {r['n']} | {vals} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(2, 4, figsize=(16, 7))
        for ax, (k, lbl) in zip(axes.flat, metrics):
            for series in sorted({r["series"] for r in rows}):
                pts = sorted((r["evals"], r[k]) for r in rows if r["series"] == series and r.get(k) is not None)
                if pts:
                    x, y = zip(*pts)
                    ax.plot(x, y, "o-" if len(pts) > 1 else "s", label=series, markersize=5 if len(pts) > 1 else 9)
            ref_key = _ref_key(k)
            ref = next((r[ref_key] for r in rows if ref_key and r.get(ref_key) is not None), None)
            if ref is not None:
                ax.axhline(ref, color="k", ls=":", lw=1, label="MD references")
            ax.set_xscale("log")
            ax.set_xlabel("network evaluations per glass")
            ax.set_title(lbl)
            ax.grid(alpha=0.3)
        axes.flat[0].legend()
        for ax in list(axes.flat)[len(metrics):]:
            ax.set_visible(False)
        fig.suptitle(f"{TITLES[args.system]}, no MD: generated glasses judged against the MD references")
        fig.tight_layout()
        fig.savefig(args.plot, dpi=90)
        print(f"plot -> {args.plot}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("out")
    g.add_argument("--model", required=True)
    g.add_argument("--sampler", default="heun", choices=[s for s in SAMPLERS if s != "auto"])
    g.add_argument("--evals", default="25,50,100,200,500,1000")
    g.add_argument("--seeds", default="0-11")
    g.add_argument("--atoms", type=int, default=3000)
    g.add_argument("--rate", type=float, default=None, help="cooling rate (K/ps; default: the system's CURVE_RATE)")
    g.add_argument("--mode", default="auto")
    j = sub.add_parser("judge")
    j.add_argument("out")
    j.add_argument("--rate", type=float, default=None, help="the references' cooling rate (default: CURVE_RATE)")
    j.add_argument("--jobs", type=int, default=4)
    r = sub.add_parser("report")
    r.add_argument("outs", nargs="*")
    r.add_argument("--plot", default=None)
    r.add_argument("--json", default=None)
    r.add_argument("--point", action="append", help="LABEL:EVALS:JUDGED.json, a point judged earlier")
    r.add_argument("--rows", action="append", help="PATH[:NOTE], the rows of an earlier report's --json (NOTE "
                                                     "appended to their series names)")
    for q in (g, j, r):
        q.add_argument("--system", default="sio2", choices=sorted(SYSTEM_METRICS))
    args = p.parse_args(argv)
    {"generate": generate, "judge": judge, "report": report}[args.cmd](args)


if __name__ == "__main__":
    main()
