"""Calibration and asset builders: the tools whose output the product reads.

- `freeze_window`: where in the sampling schedule a glass's network freezes, and what bent or longer schedules
  do (device run; its trace set `GlassSystem.freeze_window_a` and, with the judged glasses, `matched_quench`):
  `python -m amorph_core.calibration.freeze_window MODEL OUT_DIR RATE SEEDS SCHEDULE [SCHEDULE ...]`.
- `generation_cost`: collects the measured generation times of benchmarks/results into
  `assets/generation_cost.json` (read by the app's cost comparison):
  `python -m amorph_core.calibration.generation_cost`.
- `reference_sio2`: converts the DM2 a-SiO2 LAMMPS data files into `assets/reference/sio2` (extxyz.gz + manifest):
  `python -m amorph_core.calibration.reference_sio2 DATA_DIR`.
- `reference_cuzr`: copies the Cu50Zr50 glasses made by `benchmarks/md_device.py cuzr` into `assets/reference/cuzr`
  with a manifest: `python -m amorph_core.calibration.reference_cuzr`.

Nothing in the package imports these modules; they are run as commands.
"""
