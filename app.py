"""Amorph web app: generate amorphous structures with a diffusion model, view them, compare them with MD.

Run:  streamlit run app.py   (or bash scripts/app.sh). A thin layer over amorph_core: no science here.
"""
import streamlit as st

st.set_page_config(page_title="Amorph", page_icon="🧊", layout="wide")

PAGES = [
    st.Page("pages/generate.py", title="Generate", icon="⚗️", default=True),
    st.Page("pages/structure.py", title="Structure", icon="🔬"),
    st.Page("pages/compare.py", title="Compare with MD", icon="📊"),
    st.Page("pages/cooling_rates.py", title="Cooling rates", icon="🌡️"),
    st.Page("pages/pores.py", title="Pores", icon="🕳️"),
    st.Page("pages/metallic_glass.py", title="Metallic glass", icon="🔩"),
    st.Page("pages/about.py", title="About", icon="📖"),
]

st.navigation(PAGES).run()
