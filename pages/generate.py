"""Generate: ask for a glass, watch it form (entropy vs denoising step), keep the results."""
import streamlit as st

from amorph_core.errors import AmorphError
from pages import _forms, _ui

st.title(":material/science: Generate an amorphous structure")
st.caption("A diffusion model denoises random atoms into a glass conditioned on the cooling rate "
           "(Yang & Schwalbe-Koda 2025). Jobs run in the background: switching pages does not stop them.")

try:
    req, label = _forms.form()
except AmorphError as exc:
    _ui.show_error(exc)
    req = None
if st.button("Generate", type="primary", icon=":material/play_arrow:", disabled=req is None, key="gen-run"):
    _forms.submit(req, label)

st.subheader("Jobs")
_ui.job_panel("generate", key="gen")

st.subheader("Finished structures")
rows = _ui.result_rows()
if not rows:
    st.caption("None yet.")
else:
    st.dataframe(_ui.results_table(rows), hide_index=True, width="stretch")
    paths = [r["path"] for r in rows]
    labels = {r["path"]: _ui.result_label(r) for r in rows}
    c1, c2 = st.columns([3, 1])
    pick = c1.selectbox("Open", paths, format_func=labels.get, key="gen-open", label_visibility="collapsed")
    if c2.button("View in 3D", icon=":material/biotech:", key="gen-view"):
        st.session_state["view_path"] = pick
        st.switch_page(_ui.STRUCTURE_PAGE)
