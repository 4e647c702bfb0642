"""Entry points: analyze_structure (one structure, optionally against reference glasses) and compare_sets
(two sets of structures, e.g. generated vs simulated, as in the paper's Fig. 2 and Fig. 17).

Everything returned is JSON-serialisable (dicts, lists, floats, ints, strings, None). Each result has a
flat `summary` dict of scalars; `aggregate(results)` gives mean/sd/min/max of those over several structures.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np

from amorph_core.analysis import bonds as _bonds
from amorph_core.analysis import entropy as _ent
from amorph_core.analysis import pdf as _pdf
from amorph_core.analysis.neighbors import check_periodic
from amorph_core.errors import AmorphError
from amorph_core.systems import SYSTEMS


@dataclass(frozen=True)
class AnalysisConfig:
    """Parameters of the analysis suite (defaults = the paper's, A.5/A.6); recorded in every result.

    bond_cutoff_a None = the system's Si-O cutoff (2.0 Å). voronoi_radii_a: ((element, radius Å), ...) over the
    system's own (`GlassSystem.voronoi_radii_a`; the default lists every registered system's at import).
    """

    pdf_r_max_a: float = _pdf.R_MAX_A
    pdf_bins: int = _pdf.N_BINS
    bond_cutoff_a: float | None = None
    ring_max_size_si: int = 12
    quests_k: int = _ent.K_NEIGHBORS
    quests_cutoff_a: float = _ent.CUTOFF_A
    quests_bandwidth: float = _ent.BANDWIDTH
    overlap_eps: float = _ent.OVERLAP_EPS
    voronoi_radii_a: tuple = tuple((el, r) for s in SYSTEMS.values() for el, r in s.voronoi_radii_a.items())
    voronoi_face_threshold: float = 0.01
    pore_dr_a: float = 0.5
    pore_plateau_fraction: float = 0.9

    def as_dict(self) -> dict:
        d = asdict(self)
        d["voronoi_radii_a"] = dict(self.voronoi_radii_a)
        return d


DEFAULT_CONFIG = AnalysisConfig()


class AnalysisCancelled(AmorphError):
    """Raised when a `cancel` event passed to compare_sets is set."""


def _check_cancel(cancel):
    if cancel is not None and (cancel() if callable(cancel) else cancel.is_set()):
        raise AnalysisCancelled("analysis cancelled")


def _system_for(atoms, system):
    from amorph_core.systems import get_system, guess_system

    symbols = atoms.get_chemical_symbols()
    if system is None:
        return guess_system(symbols)
    sys_ = get_system(system) if isinstance(system, str) else system
    sys_.check_elements(symbols)
    return sys_


def parse_reference(reference):
    """(system, rate K/ps) from a tuple or a 'sio2:1' string; None stays None."""
    if reference is None:
        return None
    if isinstance(reference, str):
        name, _, rate = reference.partition(":")
        try:
            rate_v = float(rate) if rate else None
        except ValueError:
            raise AmorphError(f"reference must look like SYSTEM:RATE_K_PS (e.g. sio2:1), got {reference!r}") from None
        reference = (name, rate_v)
    try:
        name, rate = reference
    except (TypeError, ValueError):
        raise AmorphError(f"reference must be (system, rate_k_ps), got {reference!r}") from None
    from amorph_core.systems import get_system

    sys_ = get_system(name)
    if rate is not None and (not math.isfinite(float(rate)) or float(rate) <= 0):
        raise AmorphError(f"reference cooling rate must be a positive number of K/ps, got {rate!r}")
    return sys_.name, (float(rate) if rate is not None else None)


@lru_cache(maxsize=8)
def _reference_data(system: str, rate, cfg: AnalysisConfig = DEFAULT_CONFIG):
    """Reference glasses (nearest rate) and their mean PDF; cached per process."""
    from amorph_core.structures.references import reference_glasses

    glasses = reference_glasses(system, rate, nearest=True) if rate is not None else reference_glasses(system)
    pdfs = [_pdf.partial_pdfs(g, cfg.pdf_r_max_a, cfg.pdf_bins) for g in glasses]
    return glasses, _pdf.mean_pdf(pdfs), None


@lru_cache(maxsize=8)
def _reference_descriptors(system: str, rate, cfg: AnalysisConfig = DEFAULT_CONFIG):
    glasses, _, _ = _reference_data(system, rate, cfg)
    return tuple(_ent.descriptors(g, cfg.quests_k, cfg.quests_cutoff_a) for g in glasses)


@lru_cache(maxsize=8)
def _reference_self_overlap(system: str, rate, cfg: AnalysisConfig = DEFAULT_CONFIG):
    xs = list(_reference_descriptors(system, rate, cfg))
    return _ent.offdiagonal_mean(_ent.overlap_matrix(xs, xs, cfg.overlap_eps, cfg.quests_bandwidth))


def _timed(timings, key, fn, *a, **kw):
    t = time.perf_counter()
    try:
        return fn(*a, **kw)
    finally:
        timings[key] = round(time.perf_counter() - t, 4)


def _pct(x):
    return None if x is None else 100.0 * x


def analyze_structure(atoms, system=None, reference=None, *, rings: bool = True, entropy: bool = True,
                      voronoi: bool | None = None, pores: bool | None = None, pore_centers=None,
                      max_ring_memory_bytes: int | None = None, per_atom: bool = False,
                      progress=None, name: str | None = None, config: AnalysisConfig | None = None) -> dict:
    """Full structural analysis of one periodic structure.

    system: 'sio2' / 'cuzr' / GlassSystem or None (guessed from the elements). reference: None, a
    (system, rate K/ps) tuple or 'sio2:1': adds PDF R-factors against the mean PDF of the reference glasses
    at the nearest reference rate, QUESTS overlaps both ways, and the delta entropy of the structure's
    environments against the reference environments. voronoi defaults to on for metallic systems
    (GlassSystem.analysis, e.g. CuZr);
    pores defaults to on when atoms.info has 'pore_centers' (or pore_centers is given).
    config: AnalysisConfig (bins, cutoffs, QUESTS parameters; defaults = the paper's), echoed in `config`.
    Returns the full results plus a flat `summary` of scalars; `timings_s` gives seconds per analysis.
    """
    from amorph_core.structures.density import density_g_cm3

    say = progress or (lambda msg: None)
    cfg = config or DEFAULT_CONFIG
    label = name or "structure"
    check_periodic(atoms, label)
    sys_ = _system_for(atoms, system)
    ref = parse_reference(reference)
    timings: dict = {}
    symbols = atoms.get_chemical_symbols()
    comp = {el: int(symbols.count(el)) for el in _pdf.species_order(symbols)}
    res: dict = {
        "name": label, "system": sys_.name, "n_atoms": len(atoms), "composition": comp,
        "cell_lengths_a": [float(x) for x in atoms.cell.lengths()],
        "cell_angles_deg": [float(x) for x in atoms.cell.angles()],
        "volume_a3": float(abs(atoms.get_volume())), "density_g_cm3": density_g_cm3(atoms),
    }
    summary = {"n_atoms": len(atoms), "density_g_cm3": res["density_g_cm3"]}
    say("pair distribution functions")
    res["pdf"] = _timed(timings, "pdf", _pdf.partial_pdfs, atoms, cfg.pdf_r_max_a, cfg.pdf_bins)

    network = sys_.analysis == "network" and sys_.network_pair is not None
    if network:
        former, anion = sys_.network_pair
        cut = network_cutoff(sys_, cfg)
        n_f, n_a = (sys_.ideal_coordination.get(former, 4), sys_.ideal_coordination.get(anion, 2))
        say("coordination, Qn and bond angles")
        net = _timed(timings, "network", _bonds.network_analysis, atoms, former, anion, cut, n_f, n_a)
        res["network"] = net
        short = _timed(timings, "shortest_distance", _bonds.shortest_distance, atoms, former, anion)
        res[f"shortest_{former}{anion}_a"] = short
        fa, af = f"{anion}{former}{anion}", f"{former}{anion}{former}"
        summary.update({
            f"coord_{former}_mean": net[f"coord_{former}"]["mean"],
            f"coord_{anion}_mean": net[f"coord_{anion}"]["mean"],
            f"{former}_not_{n_f}fold_pct": _pct(net[f"{former}_not_{n_f}fold_fraction"]),
            f"{anion}_not_{n_a}fold_pct": _pct(net[f"{anion}_not_{n_a}fold_fraction"]),
            f"angle_{fa}_mean_deg": net[f"angle_{fa}_deg"]["mean"],
            f"angle_{fa}_sd_deg": net[f"angle_{fa}_deg"]["sd"],
            f"angle_{af}_mean_deg": net[f"angle_{af}_deg"]["mean"],
            f"angle_{af}_sd_deg": net[f"angle_{af}_deg"]["sd"],
            f"shortest_{former}{anion}_a": short,
        })
        for n in range(0, 5):
            summary[f"Q{n}_fraction"] = net["qn_distribution"].get(str(n), 0.0)
        if rings:
            from amorph_core.analysis.rings import ring_statistics

            say("ring statistics")
            try:
                rs = _timed(timings, "rings", ring_statistics, atoms, cut, max_size_si=cfg.ring_max_size_si,
                            former=former, anion=anion,
                            max_memory_bytes=max_ring_memory_bytes)
                res["rings"] = rs
                for n, f in zip(rs["sizes_si"], rs["rings_per_si"]):
                    if 2 <= n <= 10:
                        summary[f"rings_{n}_per_{former}"] = f
            except AmorphError as exc:
                res["rings"] = {"error": str(exc)}
    if entropy:
        say("QUESTS descriptors and entropy")
        x = _timed(timings, "quests_descriptors", _ent.descriptors, atoms, cfg.quests_k, cfg.quests_cutoff_a)
        h = _timed(timings, "quests_entropy", _ent.information_entropy, x, cfg.quests_bandwidth)
        res["entropy"] = {"entropy_nats": h, "definition": _definition(cfg), "ln_n_atoms": math.log(len(atoms))}
        summary["entropy_nats"] = h
    if voronoi is None:
        voronoi = sys_.analysis == "metallic"
    if voronoi:
        from amorph_core.analysis.voronoi import voronoi_analysis

        say("Voronoi tessellation")
        vo = _timed(timings, "voronoi", voronoi_analysis, atoms, {**sys_.voronoi_radii_a, **dict(cfg.voronoi_radii_a)},
                    cfg.voronoi_face_threshold, per_atom=per_atom)
        res["voronoi"] = vo
        for el, v in vo["volume_mean_a3"].items():
            summary[f"volume_{el}_mean_a3"] = v
        top = vo["top_indices"][0]
        summary["voronoi_top_index"] = top["index"]
        summary["voronoi_top_fraction"] = top["fraction"]
        summary["icosahedral_fraction"] = next(
            (t["fraction"] for t in vo["top_indices"] if t["index"] == "<0,0,12,0>"), 0.0)
    if pores is None:
        pores = pore_centers is not None or "pore_centers" in atoms.info
    if pores:
        from amorph_core.analysis.pores import nbo_at_pores

        say("pore surface NBO")
        po = _timed(timings, "pores", nbo_at_pores, atoms, pore_centers, cfg.pore_dr_a, cfg.pore_plateau_fraction,
                    network_cutoff(sys_, cfg), system=sys_)
        res["pores"] = po
        summary.update({"pore_r_eff_a": po["r_eff_a"], "nbo_count": po["n_nbo"], "nbo_per_nm2": po["nbo_per_nm2"]})
    if ref is not None:
        say("comparison with reference glasses")
        res["reference"] = _timed(timings, "reference", _against_reference, atoms, res, ref, entropy, summary,
                                  x if entropy else None, cfg)
    res["config"] = cfg.as_dict()
    res["timings_s"] = timings
    res["summary"] = summary
    return res


def network_cutoff(sys_, cfg: AnalysisConfig) -> float:
    """Si-O bond cutoff (Å) in use: the config's, else the system's, else 2.0."""
    if cfg.bond_cutoff_a is not None:
        return float(cfg.bond_cutoff_a)
    return float(next(iter(sys_.bond_cutoffs_a.values()), 2.0))


def _definition(cfg: AnalysisConfig) -> str:
    return (f"QUESTS descriptors k={cfg.quests_k}, cutoff {cfg.quests_cutoff_a:g} Å; Gaussian kernel "
            f"h={cfg.quests_bandwidth:g} 1/Å; entropy in nats; overlap(A|B) = fraction of A's environments "
            f"with dH(A_i|B) < {cfg.overlap_eps:g}")


def _against_reference(atoms, res, ref, entropy, summary, x, cfg: AnalysisConfig = DEFAULT_CONFIG):
    system, rate = ref
    if set(atoms.get_chemical_symbols()) - set(_system_for(atoms, system).elements):
        raise AmorphError("structure has elements the reference system does not know")
    glasses, mean_ref_pdf, _ = _reference_data(system, rate, cfg)
    same = [k for k, g in enumerate(glasses) if _identical(atoms, g)]
    rf = _pdf.pdf_r_factors(res["pdf"], mean_ref_pdf)
    out = {
        "system": system, "rate_requested_k_ps": rate,
        "rate_k_ps": glasses[0].info.get("cooling_rate_k_ps"),
        "n_structures": len(glasses),
        "samples": [g.info.get("sample") for g in glasses],
        "identical_to_reference_samples": [glasses[k].info.get("sample") for k in same],
        "pdf_r_factor_vs_mean": rf,
        "r_factor_definition": _pdf.R_FACTOR_DEFINITION,
    }
    for k, v in rf.items():
        summary[f"pdf_rfactor_{k}"] = v
    if entropy:
        # a structure that is itself one of the references is compared with the other references only
        xs = [y for k, y in enumerate(_reference_descriptors(system, rate, cfg)) if k not in same]
        if not xs:
            raise AmorphError("the structure is the only reference glass at this rate: nothing to compare with")
        eps, bw = cfg.overlap_eps, cfg.quests_bandwidth
        on_ref = [_ent.overlap(x, y, eps, bw) for y in xs]
        ref_on = [_ent.overlap(y, x, eps, bw) for y in xs]
        dh = _ent.delta_entropy(x, np.concatenate(xs), bw)
        out.update({
            "overlap_on_reference": on_ref, "overlap_on_reference_mean": float(np.mean(on_ref)),
            "reference_overlap_on_structure": ref_on,
            "reference_overlap_on_structure_mean": float(np.mean(ref_on)),
            "reference_self_overlap_mean": _reference_self_overlap(system, rate, cfg),
            "delta_entropy_vs_reference_nats": {
                "mean_finite": float(dh[np.isfinite(dh)].mean()) if np.isfinite(dh).any() else None,
                "max_finite": float(dh[np.isfinite(dh)].max()) if np.isfinite(dh).any() else None,
                "fraction_infinite": float(np.mean(~np.isfinite(dh))),
                "fraction_positive": float(np.mean(dh > eps)),
                "histogram": _dh_hist(dh)},
            "overlap_definition": _definition(cfg),
        })
        summary.update({
            "overlap_on_reference_mean": out["overlap_on_reference_mean"],
            "reference_overlap_on_structure_mean": out["reference_overlap_on_structure_mean"],
            "reference_self_overlap_mean": out["reference_self_overlap_mean"],
            "novel_environment_fraction": out["delta_entropy_vs_reference_nats"]["fraction_positive"],
        })
    return out


def _dh_hist(dh, lo=-10.0, hi=10.0, bins=80):
    """Histogram (counts) of delta entropies (nats) clipped to [lo, hi] (infinite values land in the top bin)."""
    h, edges = np.histogram(np.clip(dh, lo, hi), bins=bins, range=(lo, hi))
    return {"edges_nats": edges.tolist(), "counts": h.tolist()}


def _identical(a, b) -> bool:
    """Same atoms, cell and positions (to 1e-6 Å): used to leave a reference out of its own comparison."""
    return (len(a) == len(b) and a.get_chemical_symbols() == b.get_chemical_symbols()
            and np.allclose(a.cell.array, b.cell.array, atol=1e-6)
            and np.allclose(a.get_positions(), b.get_positions(), atol=1e-6))


def aggregate(results: list) -> dict:
    """mean, sd, min, max (and n) of every numeric summary field over several analyze_structure results."""
    if not results:
        raise AmorphError("aggregate needs at least one result")
    keys = []
    for r in results:
        for k, v in r["summary"].items():
            if k not in keys and isinstance(v, (int, float)) and not isinstance(v, bool):
                keys.append(k)
    out = {}
    for k in keys:
        vals = np.array([r["summary"][k] for r in results
                         if isinstance(r["summary"].get(k), (int, float)) and r["summary"][k] is not None], float)
        vals = vals[np.isfinite(vals)]
        if vals.size:
            out[k] = {"mean": float(vals.mean()), "sd": float(vals.std()), "min": float(vals.min()),
                      "max": float(vals.max()), "n": int(vals.size)}
    return out


def _mean_of(results, path):
    vals = []
    for r in results:
        cur = r
        for p in path:
            cur = cur.get(p) if isinstance(cur, dict) else None
        if cur is not None:
            vals.append(cur)
    return np.mean(vals, axis=0).tolist() if vals else None


def compare_sets(generated: list, reference: list, system=None, *, rings: bool = True, entropy: bool = True,
                 progress=None, config: AnalysisConfig | None = None, cancel=None) -> dict:
    """Compare a set of generated structures with a set of reference (simulated) ones (paper Fig. 2, 17).

    Returns per-structure analyses and aggregates of both sets; PDF R-factors: every generated structure
    against the mean reference PDF, every reference against the mean of the *other* references
    (leave-one-out baseline), and all generated x reference pairs; QUESTS overlap matrices Gen|Gen, Sim|Sim
    (diagonal = 1, mean taken off-diagonal) and Gen|Sim (all entries); entropies per structure with
    mean and sd; and a flat `summary` with the numbers used to judge generated glasses.
    cancel: a threading.Event (or a callable returning bool), checked between structures and matrix rows;
    when set, AnalysisCancelled (an AmorphError) is raised.
    """
    if not generated or not reference:
        raise AmorphError("compare_sets needs at least one generated and one reference structure")
    say = progress or (lambda msg: None)
    cfg = config or DEFAULT_CONFIG
    sys_ = _system_for(generated[0], system)
    for k, a in enumerate(list(generated) + list(reference)):
        _system_for(a, sys_)
    t0 = time.perf_counter()
    gen_res, ref_res = [], []
    for label, src, dst in (("generated", generated, gen_res), ("reference", reference, ref_res)):
        for k, a in enumerate(src):
            _check_cancel(cancel)
            say(f"analysing {label} {k + 1}/{len(src)}")
            dst.append(analyze_structure(a, sys_, rings=rings, entropy=False, voronoi=None, pores=False,
                                         name=f"{label}[{k}]", config=cfg))
    ref_mean = _pdf.mean_pdf([r["pdf"] for r in ref_res])
    partials = list(ref_mean["partials"]) + ["total"]
    rf_gen = {p: [] for p in partials}
    for r in gen_res:
        for p, v in _pdf.pdf_r_factors(r["pdf"], ref_mean).items():
            rf_gen[p].append(v)
    rf_ref = {p: [] for p in partials}
    if len(ref_res) > 1:
        for k, r in enumerate(ref_res):
            others = _pdf.mean_pdf([o["pdf"] for n, o in enumerate(ref_res) if n != k])
            for p, v in _pdf.pdf_r_factors(r["pdf"], others).items():
                rf_ref[p].append(v)
    rf_pairs = {p: [[None] * len(ref_res) for _ in gen_res] for p in partials}
    for a, g in enumerate(gen_res):
        for b, r in enumerate(ref_res):
            for p, v in _pdf.pdf_r_factors(g["pdf"], r["pdf"]).items():
                rf_pairs[p][a][b] = v
    out = {
        "system": sys_.name,
        "config": cfg.as_dict(),
        "n_generated": len(generated), "n_reference": len(reference),
        "generated": gen_res, "reference": ref_res,
        "aggregate_generated": aggregate(gen_res), "aggregate_reference": aggregate(ref_res),
        "mean_pdf_generated": _pdf.mean_pdf([r["pdf"] for r in gen_res]), "mean_pdf_reference": ref_mean,
        "pdf_r_factor_definition": _pdf.R_FACTOR_DEFINITION,
        "pdf_r_factor_generated_vs_mean_reference": rf_gen,
        "pdf_r_factor_reference_vs_mean_of_others": rf_ref,
        "pdf_r_factor_pairs_generated_x_reference": rf_pairs,
    }
    if gen_res[0].get("network"):
        net_keys = [k for k in gen_res[0]["network"] if k.startswith("angle_")]
        for setname, rs in (("generated", gen_res), ("reference", ref_res)):
            out[f"angle_histograms_{setname}"] = {
                k: {"centers": rs[0]["network"][k]["histogram"]["centers"],
                    "density": _mean_of(rs, ("network", k, "histogram", "density"))} for k in net_keys}
            if rings and all("counts" in r.get("rings", {}) for r in rs):
                out[f"rings_{setname}"] = {
                    "sizes_si": rs[0]["rings"]["sizes_si"],
                    "rings_per_si_mean": _mean_of(rs, ("rings", "rings_per_si")),
                    "fraction_mean": _mean_of(rs, ("rings", "fraction")),
                    "definition": rs[0]["rings"]["definition"]}
            out[f"qn_{setname}"] = {str(n): float(np.mean([r["network"]["qn_distribution"].get(str(n), 0.0)
                                                           for r in rs])) for n in range(0, 7)}
    if entropy:
        say("QUESTS descriptors")
        _check_cancel(cancel)
        xg = [_ent.descriptors(a, cfg.quests_k, cfg.quests_cutoff_a) for a in generated]
        xr = [_ent.descriptors(a, cfg.quests_k, cfg.quests_cutoff_a) for a in reference]
        h_g = [_ent.information_entropy(x, cfg.quests_bandwidth) for x in xg]
        h_r = [_ent.information_entropy(x, cfg.quests_bandwidth) for x in xr]
        say("overlap matrices")
        eps, bw = cfg.overlap_eps, cfg.quests_bandwidth

        def matrix(xa, xb):
            rows = []
            for xi in xa:
                _check_cancel(cancel)
                rows.append([_ent.overlap(xi, xj, eps, bw) for xj in xb])
            return rows

        gg, ss, gs = matrix(xg, xg), matrix(xr, xr), matrix(xg, xr)
        for r, h in zip(gen_res, h_g):
            r["summary"]["entropy_nats"] = h
        for r, h in zip(ref_res, h_r):
            r["summary"]["entropy_nats"] = h
        out["aggregate_generated"] = aggregate(gen_res)
        out["aggregate_reference"] = aggregate(ref_res)
        out.update({
            "entropy_definition": _definition(cfg),
            "entropy_generated_nats": h_g, "entropy_reference_nats": h_r,
            "overlap_gen_gen": gg, "overlap_sim_sim": ss, "overlap_gen_sim": gs,
            "overlap_gen_gen_mean": _ent.offdiagonal_mean(gg), "overlap_sim_sim_mean": _ent.offdiagonal_mean(ss),
            "overlap_gen_sim_mean": float(np.mean(gs)),
        })
    out["summary"] = _compare_summary(out, entropy, sys_)
    out["seconds"] = round(time.perf_counter() - t0, 3)
    return out


def _compare_summary(out, entropy, sys_) -> dict:
    """Means of the generated and reference sets side by side: density, the network's defects, shortest bond and
    angles (network glasses, named after the system's former and anion), PDF R-factors, entropy and overlaps."""
    ag, ar = out["aggregate_generated"], out["aggregate_reference"]
    s = {"n_generated": out["n_generated"], "n_reference": out["n_reference"]}

    def put(name, key, stat="mean"):
        s[f"gen_{name}"] = ag.get(key, {}).get(stat)
        s[f"ref_{name}"] = ar.get(key, {}).get(stat)

    put("density_g_cm3", "density_g_cm3")
    if sys_.analysis == "network" and sys_.network_pair:
        f, a = sys_.network_pair
        n_f, n_a = sys_.ideal_coordination.get(f, 4), sys_.ideal_coordination.get(a, 2)
        for key in (f"{f}_not_{n_f}fold_pct", f"{a}_not_{n_a}fold_pct"):
            put(key, key)
        put(f"shortest_{f}{a}_min_a", f"shortest_{f}{a}_a", "min")
        put(f"shortest_{f}{a}_mean_a", f"shortest_{f}{a}_a")
        for key in (f"coord_{f}_mean", f"angle_{a}{f}{a}_mean_deg", f"angle_{f}{a}{f}_mean_deg"):
            put(key, key)
    for p, vals in out["pdf_r_factor_generated_vs_mean_reference"].items():
        s[f"gen_pdf_rfactor_{p}_mean"] = float(np.mean(vals)) if vals else None
    for p, vals in out["pdf_r_factor_reference_vs_mean_of_others"].items():
        s[f"ref_pdf_rfactor_{p}_mean"] = float(np.mean(vals)) if vals else None
    if entropy:
        s["gen_entropy_nats_mean"] = float(np.mean(out["entropy_generated_nats"]))
        s["gen_entropy_nats_sd"] = float(np.std(out["entropy_generated_nats"]))
        s["ref_entropy_nats_mean"] = float(np.mean(out["entropy_reference_nats"]))
        s["ref_entropy_nats_sd"] = float(np.std(out["entropy_reference_nats"]))
        s["overlap_gen_gen_mean"] = out["overlap_gen_gen_mean"]
        s["overlap_sim_sim_mean"] = out["overlap_sim_sim_mean"]
        s["overlap_gen_sim_mean"] = out["overlap_gen_sim_mean"]
    return {k: v for k, v in s.items() if v is not None or k.startswith(("gen_", "ref_", "overlap"))}
