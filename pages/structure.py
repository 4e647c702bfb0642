"""Structure: 3D view with the periodic cell, defect colouring, slab view, downloads."""
import streamlit as st

from amorph_core.structures import density_g_cm3
from amorph_core.structures.io import plain_info
from pages import _support, _ui

st.title(":material/biotech: Structure")
atoms = _ui.pick_structure("view")
if atoms is not None:
    info = plain_info(atoms)
    c = st.columns(4)
    c[0].metric("Atoms", f"{len(atoms)}")
    c[1].metric("Density", f"{density_g_cm3(atoms):.3f} g/cm³")
    c[2].metric("Cooling rate", f"{info['cooling_rate_k_ps']:g} K/ps" if "cooling_rate_k_ps" in info else "–")
    c[3].metric("Seed", f"{info['seed']}" if "seed" in info else "–")
    _ui.structure_viewer(atoms, key="view")
    st.subheader("Download")
    _ui.download_buttons(atoms, _support.export_stem(atoms), key="view")
    with st.expander("Parameters stored with the structure"):
        st.json(info)
