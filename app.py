"""Amorph web app: generate amorphous structures with a diffusion model, view them, compare them with MD.

Run:  streamlit run app.py   (or bash scripts/app.sh). A thin layer over amorph_core: no science here.
"""
import streamlit as st

# a local favicon: a Material icon as favicon would be fetched from fonts.gstatic.com (the app works offline)
st.set_page_config(page_title="Amorph", page_icon="static/amorph-icon.png", layout="wide")

PAGES = [
    st.Page("pages/generate.py", title="Generate", icon=":material/science:", default=True),
    st.Page("pages/structure.py", title="Structure", icon=":material/biotech:"),
    st.Page("pages/compare.py", title="Compare with MD", icon=":material/compare:"),
    st.Page("pages/cooling_rates.py", title="Cooling rates", icon=":material/thermostat:"),
    st.Page("pages/pores.py", title="Pores", icon=":material/blur_circular:"),
    st.Page("pages/metallic_glass.py", title="Metallic glass", icon=":material/hexagon:"),
    st.Page("pages/about.py", title="About", icon=":material/menu_book:"),
]

st.navigation(PAGES).run()
