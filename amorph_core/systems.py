"""Registry of glass systems: one plug-in point per glass. Adding a glass is adding data here (or calling
register_system with a GlassSystem): its elements, MD potential, LAMMPS type map, melt-quench recipe, colours,
ideal coordination, analysis flavour and default model. The modules that need them (md.potentials,
md.quench, structures.io, analysis.pdf/pores/suite, model.checkpoint) read them from the system; none of them
names an element. docs/dev.md says how to add one."""
from __future__ import annotations

from dataclasses import dataclass, field

from amorph_core.errors import AmorphError


@dataclass(frozen=True)
class GlassSystem:
    """A glass-forming system.

    formula: element -> count per formula unit. rate_range_k_ps: cooling rates (K/ps) the app offers;
    trained_rate_range_k_ps: the rates covered by reference data. default_density_g_cm3 is used when the
    system has no cooling-rate density regression (unconditional systems).
    freeze_window_a: the extra-noise levels (Å) over which the sampler's glasses freeze (measured with
    amorph_core.calibration.freeze_window); matched_quench: (F1, alpha) of the 'matched' schedule, whose passage
    through that window has F = F1 (rate / 1 K/ps)^-alpha times the paper's steps per Å (generate.resolve_schedule).

    The plug-in data (all plain data, so a system can be registered from a file):
    potential: the MD potential as {"kind": "bjp" | "eam/fs" | "lj", ...parameters} (md.potentials.build_potential;
    "charges" are the system's `charges`). lammps_type_map: LAMMPS atom type -> element, for data files that carry
    types only. melt_quench: the melt-quench recipe (md.quench.MeltQuench fields except the rate);
    melt_start_density_g_cm3: the density of its random start. colours: element -> hex colour of the viewer.
    ideal_coordination: element -> ideal coordination number of the network (bond_cutoffs_a's pair).
    analysis: 'network' (coordination, Qn, angles, rings, NBO at pores) or 'metallic' (Voronoi by default).
    voronoi_radii_a: element -> radius (Å) of the radical Voronoi tessellation. default_model: the shipped model
    used when none is named (model.checkpoint).
    """

    name: str
    label: str
    formula: dict
    conditional: bool
    default_density_g_cm3: float
    rate_range_k_ps: tuple = (1e-2, 1e3)
    trained_rate_range_k_ps: tuple = (0.1, 100.0)
    bond_cutoffs_a: dict = field(default_factory=dict)
    charges: dict = field(default_factory=dict)
    freeze_window_a: tuple | None = None
    matched_quench: tuple | None = None
    potential: dict = field(default_factory=dict)
    lammps_type_map: dict = field(default_factory=dict)
    melt_quench: dict = field(default_factory=dict)
    melt_start_density_g_cm3: float | None = None
    colours: dict = field(default_factory=dict)
    ideal_coordination: dict = field(default_factory=dict)
    analysis: str = "network"
    voronoi_radii_a: dict = field(default_factory=dict)
    default_model: str | None = None

    @property
    def elements(self) -> tuple:
        return tuple(self.formula)

    @property
    def network_pair(self) -> tuple | None:
        """(former, anion) of the network's bonds (the first of bond_cutoffs_a), or None."""
        return next(iter(self.bond_cutoffs_a), None)

    @property
    def atoms_per_formula(self) -> int:
        return sum(self.formula.values())

    def counts(self, n_atoms: int) -> dict:
        """Atom counts per element for a total of n_atoms (must be whole formula units)."""
        n_atoms = int(n_atoms)
        if n_atoms <= 0:
            raise AmorphError(f"number of atoms must be positive, got {n_atoms}")
        per = self.atoms_per_formula
        if n_atoms % per:
            lo = (n_atoms // per) * per
            raise AmorphError(
                f"{self.label} needs whole formula units of {per} atoms: {n_atoms} is not a multiple of "
                f"{per} (try {max(lo, per)} or {lo + per})"
            )
        k = n_atoms // per
        return {el: k * c for el, c in self.formula.items()}

    def check_elements(self, symbols) -> None:
        unknown = sorted(set(symbols) - set(self.elements))
        if unknown:
            raise AmorphError(
                f"element(s) {', '.join(unknown)} not part of system '{self.name}' "
                f"(knows {', '.join(self.elements)})"
            )


SYSTEMS = {
    "sio2": GlassSystem(
        name="sio2",
        label="a-SiO2",
        formula={"Si": 1, "O": 2},
        conditional=True,
        default_density_g_cm3=2.14,
        rate_range_k_ps=(1e-2, 1e3),
        trained_rate_range_k_ps=(0.1, 100.0),
        bond_cutoffs_a={("Si", "O"): 2.0},
        charges={"Si": 2.4, "O": -1.2},
        freeze_window_a=(0.1, 0.45),
        matched_quench=(1.7, 0.4),
        # BJP silica (Bouhadja, Jakse & Pasturel 2013): per pair (A eV, rho Å, sigma Å, C eV Å^6, D eV Å^8)
        potential={"kind": "bjp", "name": "bjp-sio2", "alpha": 0.25, "cutoff": 8.0, "born": {
            ("Si", "Si"): (0.0012, 0.0460, 1.4408, 25.1873, 0.0),
            ("Si", "O"): (0.0070, 0.1560, 2.5419, 46.2930, 0.0),
            ("O", "O"): (0.0120, 0.2630, 3.6430, 85.0840, 0.0)}},
        lammps_type_map={1: "O", 2: "Si"},  # the DM2 silica data files
        melt_quench={},  # the paper's schedule (A.3): MeltQuench's defaults
        melt_start_density_g_cm3=2.2,
        colours={"Si": "#f0c040", "O": "#e0302a"},
        ideal_coordination={"Si": 4, "O": 2},
        analysis="network",
        default_model="sio2-cond-hq4",
    ),
    "cuzr": GlassSystem(
        name="cuzr",
        label="Cu50Zr50",
        formula={"Cu": 1, "Zr": 1},
        conditional=False,
        default_density_g_cm3=7.14,  # mean of assets/reference/cuzr (Mendelev EAM, 10 K/ps, 300 K)
        rate_range_k_ps=(10.0, 10.0),
        trained_rate_range_k_ps=(10.0, 10.0),
        bond_cutoffs_a={},
        charges={},
        # Finnis-Sinclair EAM of Mendelev, Sordelet & Kramer (2007) (the paper used Cheng, Ma & Sheng 2009)
        potential={"kind": "eam/fs", "name": "mendelev2007-cuzr", "file": "CuZr_mm.eam.fs"},
        lammps_type_map={1: "Cu", 2: "Zr"},
        melt_quench={"t_low": 300.0, "t_melt": 2000.0, "nvt_low_ps": 0.0, "npt_low_ps": 0.0, "melt_nvt_ps": 10.0,
                     "melt_ps": 40.0, "final_ps": 30.0},
        melt_start_density_g_cm3=7.2,
        colours={"Cu": "#c87533", "Zr": "#4fa3d1"},
        analysis="metallic",
        voronoi_radii_a={"Cu": 1.35, "Zr": 1.55},
        default_model="cuzr",
    ),
}
#: LAMMPS data files that carry atom types but no element names are read with this system's type map
DEFAULT_LAMMPS_SYSTEM = "sio2"
_ALIASES = {"asio2": "sio2", "silica": "sio2", "cu50zr50": "cuzr"}


def register_system(system: GlassSystem, aliases=()) -> GlassSystem:
    """Add a glass system to the registry (a new name, elements no other system has, a known analysis flavour)."""
    if system.name in SYSTEMS:
        raise AmorphError(f"system '{system.name}' is already registered")
    if system.analysis not in ("network", "metallic"):
        raise AmorphError(f"analysis flavour must be 'network' or 'metallic', got {system.analysis!r}")
    taken = {el: s.name for s in SYSTEMS.values() for el in s.elements}
    clash = sorted(set(system.elements) & set(taken))
    if clash:
        raise AmorphError("element(s) already in another system: "
                          + ", ".join(f"{el} ({taken[el]})" for el in clash))
    SYSTEMS[system.name] = system
    for a in aliases:
        _ALIASES[str(a).lower().replace("-", "").replace("_", "")] = system.name
    return system


def unregister_system(name: str) -> None:
    """Remove a registered system and its aliases (tests register toy systems)."""
    SYSTEMS.pop(name, None)
    for a in [a for a, n in _ALIASES.items() if n == name]:
        del _ALIASES[a]


def known_elements() -> set:
    """Every element of a registered system."""
    return {el for s in SYSTEMS.values() for el in s.elements}


def get_system(name: str) -> GlassSystem:
    """Look up a registered system by name ('sio2', 'cuzr'); case-insensitive, accepts aliases like 'a-SiO2'."""
    key = str(name).lower().replace("-", "").replace("_", "")
    key = _ALIASES.get(key, key)
    if key not in SYSTEMS:
        raise AmorphError(f"unknown system '{name}' (known: {', '.join(SYSTEMS)})")
    return SYSTEMS[key]


def guess_system(symbols) -> GlassSystem:
    """The system whose elements match the set of symbols of a structure."""
    present = set(symbols)
    for sys_ in SYSTEMS.values():
        if present and present <= set(sys_.elements):
            return sys_
    raise AmorphError(
        f"no known system contains element(s) {', '.join(sorted(present))} "
        f"(known: " + "; ".join(f"{s.name}: {'/'.join(s.elements)}" for s in SYSTEMS.values()) + ")"
    )
