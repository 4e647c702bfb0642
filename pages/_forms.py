"""The generation form, shared by the Generate, Pores and Metallic glass pages."""
import warnings

import streamlit as st

from amorph_core.costs import estimate_generation_s
from amorph_core.errors import AmorphError, AmorphWarning
from amorph_core.generate import GenerationRequest
from amorph_core.systems import SYSTEMS, get_system
from pages import _requests, _support, _ui


def schedules(system: str = "sio2"):
    from amorph_core.generate import schedules_for

    return schedules_for(system)


def shipped_models(system: str) -> list:
    try:
        from amorph_core.model.checkpoint import models_for_system
        return models_for_system(system)
    except ImportError:
        return []


@st.cache_resource
def _has_cuda() -> bool:
    try:
        import torch
        return bool(torch.cuda.is_available())
    except ImportError:
        return False


#: an estimated generation time (s) above which the form suggests a smaller request
LONG_JOB_S = 600.0


def default_schedule(names) -> str:
    """The quickest useful preset: on a CPU 'draft-window' where the system has it (half the defects of 'draft' for
    twice its time, 12 glasses of 648 atoms; BENCHMARKS.md), else 'draft' (the form shows the estimated time); on
    a GPU the paper's schedule (about 21 s for 3,000 atoms with the default model on an H100 with CUDA graphs, and
    the best measured quality; BENCHMARKS.md)."""
    for want in (("paper", "fast") if _has_cuda() else ("draft-window", "draft", "quick")):
        if want in names:
            return want
    return names[0]


def form(prefix: str = "gen", system_fixed: str | None = None, pores_default: bool = False):
    """The generation form; returns (GenerationRequest, label) or raises AmorphError."""
    left, right = st.columns(2)
    with left:
        names = list(SYSTEMS)
        system = system_fixed or st.selectbox("System", names, format_func=lambda s: SYSTEMS[s].label,
                                              key=f"{prefix}-system")
        sys_ = get_system(system)
        rate = None
        if sys_.conditional:
            opts = _support.log_rate_options(*sys_.rate_range_k_ps)
            rate = st.select_slider("Cooling rate (K/ps, log scale)", opts, value=1.0 if 1.0 in opts else opts[0],
                                    key=f"{prefix}-rate", format_func=lambda r: f"{r:g}")
            tlo, thi = sys_.trained_rate_range_k_ps
            if rate < tlo or rate > thi:
                st.warning(f"{rate:g} K/ps is outside the trained range {tlo:g}–{thi:g} K/ps: extrapolation.",
                           icon=":material/warning:")
            else:
                st.caption(f"Trained range: {tlo:g}–{thi:g} K/ps (reference MD glasses).")
        else:
            st.caption(f"{sys_.label}: unconditional model (trained on glasses quenched at "
                       f"{sys_.trained_rate_range_k_ps[0]:g} K/ps).")
        size_mode = st.radio("Size as", ["atom count", "box (Å)"], horizontal=True, key=f"{prefix}-sizemode")
        n_atoms, box = None, None
        per = sys_.atoms_per_formula
        if size_mode == "atom count":
            n_atoms = int(st.number_input(f"Number of atoms (multiple of {per})", min_value=per, max_value=200_000,
                                          value=192 if per == 3 else 200, step=per, key=f"{prefix}-natoms"))
        else:
            b = st.columns(3)
            box = [float(b[i].number_input(f"L{'xyz'[i]} (Å)", 5.0, 200.0, 14.0, 0.5, key=f"{prefix}-box{i}"))
                   for i in range(3)]
        aspect = (1.0, 1.0, 1.0)
        if box is None:
            a = st.columns(3)
            aspect = tuple(float(a[i].number_input(f"aspect {'xyz'[i]}", 0.2, 10.0, 1.0, 0.1,
                                                   key=f"{prefix}-aspect{i}")) for i in range(3))
    with right:
        auto = None
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always", AmorphWarning)
            try:
                from amorph_core.structures import density_from_rate
                auto = density_from_rate(rate, system) if rate is not None else sys_.default_density_g_cm3
            except AmorphError as exc:
                st.caption(f"no density regression: {exc}")
        source = "the cooling-rate regression" if rate is not None else f"{sys_.label}'s typical glass density"
        use_auto = st.toggle(f"Density from {source} ({auto:.3f} g/cm³)" if auto else
                             "Automatic density", value=True, key=f"{prefix}-dauto")
        density = None
        if not use_auto:
            density = float(st.number_input("Density (g/cm³)", 0.5, 20.0, float(auto or sys_.default_density_g_cm3),
                                            0.01, key=f"{prefix}-density"))
        pore = st.toggle("Cylindrical pore(s) along z", value=pores_default, key=f"{prefix}-pore")
        pore_r = wall = None
        lattice = "single"
        if pore:
            p1, p2 = st.columns(2)
            pore_r = float(p1.number_input("Pore radius (Å)", 1.0, 50.0, 4.0, 0.5, key=f"{prefix}-porer"))
            wall = float(p2.number_input("Wall density (g/cm³)", 0.5, 20.0, float(auto or sys_.default_density_g_cm3),
                                         0.01, key=f"{prefix}-wall"))
            lattice = st.radio("Pore lattice", ["single", "hexagonal"], horizontal=True, key=f"{prefix}-lattice")
        s1, s2 = st.columns(2)
        n_samples = int(s1.number_input("Samples", 1, 16, 1, key=f"{prefix}-nsamples"))
        seed = int(s2.number_input("First seed", 0, 2**31 - 1, 0, key=f"{prefix}-seed"))
        sch = schedules(system)
        names = list(sch)
        default = default_schedule(names)
        schedule = st.selectbox("Denoising schedule", names, index=names.index(default), key=f"{prefix}-schedule",
                                format_func=lambda k: f"{k} — {getattr(sch[k], 'description', '')}")
        device = st.selectbox("Device", ["auto", "cpu"] + (["cuda"] if _has_cuda() else []), key=f"{prefix}-device",
                              help="auto: the GPU when present" if _has_cuda() else
                              "this server has no CUDA GPU: structures are made on its CPU")
        with st.expander("Model"):
            shipped = shipped_models(system)
            pick = st.selectbox("Shipped model", shipped or ["(none yet)"], key=f"{prefix}-shipped",
                                help="the first is the default; each model's README under assets/models says "
                                     "how it was trained and what it measures")
            folder = st.text_input("or a checkpoint folder (overrides the choice above)", "", key=f"{prefix}-model",
                                   help="a folder written by `amorph train` (config.json + model.pt)")
            model = folder.strip() or (pick if shipped else None)
    req = GenerationRequest(
        system=system, cooling_rate_k_ps=rate, n_atoms=n_atoms, box=tuple(box) if box is not None else None,
        aspect=aspect, density_g_cm3=density, pore_radius_a=pore_r, wall_density_g_cm3=wall if pore else None,
        pore_lattice=lattice, seeds=_requests.sample_seeds(seed, n_samples), schedule=schedule, device=device,
        model=model)
    check = _requests.check_generation(req, cuda_available=_has_cuda())  # AmorphError: the form says what to change
    show_cost(check, device)
    return req, _support.describe_params(req.to_dict())


def show_cost(check: dict, device: str) -> None:
    """What the request makes and what it costs, before Generate: box, atoms, steps, estimated time."""
    dev = "cuda" if device == "cuda" or (device == "auto" and _has_cuda()) else "cpu"
    est = estimate_generation_s(check["n_atoms"], check["n_steps"], check["n_structures"], dev)
    box = " × ".join(f"{x:.1f}" for x in check["box_a"])
    where = "this server's GPU" if dev == "cuda" else "this server's CPU"
    text = (f"{check['n_structures']} × {check['n_atoms']} atoms in a {box} Å box · {check['n_steps']} "
            f"denoising steps · " + (f"about {_support.fmt_duration(est)} on {where}"
                                    if est is not None else f"no measured cost for {where}"))
    st.info(text, icon=":material/timer:")
    if est is not None and est > LONG_JOB_S:
        st.warning(f"This job takes about {_support.fmt_duration(est)}; fewer atoms or a shorter schedule ('draft', "
                   f"'quick') give a first look sooner.", icon=":material/hourglass_top:")
    if check["md_refusal"]:
        st.caption(f":material/info: MD refinement and elastic moduli will not be possible for this glass: "
                   f"{check['md_refusal']}")
    for w in check["warnings"]:
        st.warning(w, icon=":material/warning:")


def submit(req: GenerationRequest, label: str) -> None:
    try:
        jid = _ui.manager().submit("generate", _requests.job_params(req), label=label, owner=_ui.workspace())
    except AmorphError as exc:
        _ui.show_error(exc)
        return
    _ui.remember_job(jid)
    st.toast(f"queued job {jid}", icon=":material/hourglass_top:")
