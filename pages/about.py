"""About: what the model is, its data, licence, limits and how to cite."""
import streamlit as st

st.title("📖 About Amorph")
st.markdown("""
**Amorph** generates amorphous structures with a denoising diffusion model conditioned on the cooling rate,
following Yang & Schwalbe-Koda, *A generative diffusion model for amorphous materials* (2025).
Starting from atoms placed uniformly at random in a periodic box, an equivariant graph network (e3nn)
predicts the displacement that removes noise; repeated denoising steps with decreasing extra noise turn the
random box into a glass. The cooling rate (K/ps) enters as an embedding, so the same model gives glasses as if
they had been melt-quenched faster or slower.

**Training data.** 24 melt-quenched a-SiO₂ glasses of 3000 atoms at 0.1, 1, 10 and 100 K/ps (six samples each;
sample 5 of every rate held out for validation) from the DM2 data set (MIT licence), and Cu₅₀Zr₅₀ glasses
made with the Mendelev EAM potential. The reference glasses ship with the app (`assets/reference/`).

**What it is good for.** Glasses of any size and shape in seconds to minutes instead of hours to days of MD;
porous glasses; a feel for what the cooling rate does to structure (Si–O–Si angles, rings, defects, entropy).

**Limits.** Rates outside the trained range (0.1–100 K/ps for a-SiO₂) are extrapolations and flagged as
such. Generated glasses carry a few percent more coordination defects than MD glasses; check them with
*Compare with MD* and refine with MD when it matters. Densities come from a regression on the reference
glasses unless you set them. Nothing here replaces validation against experiment.

**Software licence.** Amorph is MIT-licensed. The 3D viewer is 3Dmol.js (BSD-3-Clause), served locally from
`static/` so the app works offline.

**How to cite.**
> H. Yang and D. Schwalbe-Koda, "A generative diffusion model for amorphous materials", 2025.
""")
st.caption("Everything this app computes runs on this server; no network access is needed.")
