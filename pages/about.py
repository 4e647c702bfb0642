"""About: what the model is, its data, licence, limits and how to cite."""
import streamlit as st

from pages import _support

st.title(":material/menu_book: About Amorph")
st.markdown("""
**Amorph** generates amorphous structures with a denoising diffusion model conditioned on the cooling rate,
following Yang & Schwalbe-Koda, *A generative diffusion model for amorphous materials* (2025).
Starting from atoms placed uniformly at random in a periodic box, an equivariant graph network (e3nn)
predicts the displacement that removes noise; repeated denoising steps with decreasing extra noise turn the
random box into a glass. The cooling rate (K/ps) enters as an embedding, so the same model gives glasses as if
they had been melt-quenched faster or slower.

**Training data.** 24 melt-quenched a-SiO₂ glasses of 3000 atoms at 0.1, 1, 10 and 100 K/ps (six samples each;
sample 5 of every rate held out for validation) from the DM2 data set (MIT licence), and Cu₅₀Zr₅₀ glasses
melt-quenched here (details below). The reference glasses ship with the app (`assets/reference/`).

**What it is good for.** Glasses of any size and shape in seconds to minutes instead of hours to days of MD;
porous glasses; a feel for what the cooling rate does to structure (Si–O–Si angles, rings, defects, entropy).

**Limits.** Rates outside the trained range (0.1–100 K/ps for a-SiO₂) are extrapolations and flagged as
such. The default a-SiO₂ model (sio2-cond-hq4) was trained in stages, each continuing the previous model (its README
under `assets/models/` lists them), about 1.5 hours of wall time in all on one to four GPUs, not the paper's 40 hours;
the table below shows each model's last stage. Before any MD refinement, its 3000-atom a-SiO₂ glasses at 1 K/ps
have about 2 % under-coordinated Si and 3 % O not 2-fold with the paper's schedule, and 1.5 % and 2.2 % with the
`window` schedule (MD glasses: 0.05 % and 0.5 %). Their first PDF peaks are sharper than those of 300 K MD glasses:
there is less thermal vibration, and short MD refinement restores it. Their QUESTS entropies follow the MD glasses'
trend with the cooling rate, but more weakly with the paper's schedule (up to 0.17 nats off between 100 and
0.1 K/ps). With the `matched` schedule they are within 0.03 nats, after a two-parameter calibration on these same
references. The measured numbers are in BENCHMARKS.md. Check every result with *Compare with MD* and refine with
MD when it matters. Densities come from a regression on the reference glasses unless you set them. Nothing here replaces validation against experiment.

**Software licence.** Amorph is MIT-licensed. The 3D viewer is 3Dmol.js (BSD-3-Clause), served locally from
`static/` so the app works offline.

**How to cite.**
> K. Yang and D. Schwalbe-Koda, "A Generative Diffusion Model for Amorphous Materials", 2025.
> Project page: https://kaiyang1010.github.io/DM2/

The copy of the paper this project works from carries no arXiv id or DOI of its own; cite the identifier on the
project page once it is published there.
""")

st.subheader("Shipped models")
rows = []
try:
    from amorph_core.model.checkpoint import list_models, read_config

    for name in list_models():
        doc = read_config(name)
        meta, cfg = doc.get("meta", {}), doc.get("config", {})
        rows.append({"model": name, "system": cfg.get("system"), "conditional on rate": cfg.get("conditional"),
                     "parameters": meta.get("n_parameters"), "training updates": meta.get("step"),
                     "validation loss (Å²)": meta.get("val_loss_A2"), "trained on": meta.get("device"),
                     "last training stage (min)": (round(meta["wall_time_s"] / 60, 1) if meta.get("wall_time_s")
                                                   else None),
                     "train / validation glasses": f"{len(meta.get('train_structures', []))} / "
                                                   f"{len(meta.get('val_structures', []))}"})
except Exception as exc:  # a broken checkpoint must not break the About page
    st.warning(f"could not read the shipped models: {_support.user_message(exc)}", icon=":material/warning:")
if rows:
    st.dataframe(rows, hide_index=True, width="stretch")
else:
    st.info("No trained model is shipped in this installation (assets/models/).", icon=":material/info:")

st.subheader("Reference glasses")
from amorph_core.errors import AmorphError  # noqa: E402
from amorph_core.structures import reference_manifest  # noqa: E402

for system in ("sio2", "cuzr"):
    try:
        man = reference_manifest(system)
    except AmorphError:
        continue
    st.markdown(f"**{system}** — {len(man.get('structures', []))} glasses · licence: {man.get('license', '?')}")
    st.caption(str(man.get("description", "")))

st.caption("Everything this app computes runs on this server; no network access is needed.")
