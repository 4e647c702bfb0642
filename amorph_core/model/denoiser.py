"""NequIP-style E(3)-equivariant denoiser (e3nn): predicts each atom's displacement (Å) from its noisy
environment, optionally conditioned on the cooling rate and on the noise level.

Conditioning (paper 2.1): 9 Gaussians on log10(rate / K/ps) over [-2, 3] -> two-layer SoftPlus MLP -> added
to the SCALAR channels of every interaction block. Unlike the published code (which adds it to vector channels
too and so breaks rotation equivariance), only invariant features are touched, so the model stays exactly
E(3)-equivariant: vectors are 1o (odd parity) and the output is a 1o displacement.

Noise level (beyond the paper, whose network is never told it): with `noise_conditional`, sigma (Å, one per
structure) enters the same way, as an invariant: Gaussians on log10(sigma) -> MLP -> added to the scalar channels
of every block (its projections start at zero, so a grown noise-blind model starts as the same function). With
sigma_data > 0 the output is preconditioned as in EDM (Karras et al. 2022): displacement = c_out(sigma) F with
c_out = sigma sigma_data / sqrt(sigma^2 + sigma_data^2), so the network's output F has unit scale at every level.
Equivariance is untouched: sigma is a scalar per structure.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass

import torch
from e3nn import o3
from e3nn.nn import FullyConnectedNet, Gate
from torch import nn


@dataclass(frozen=True)
class DenoiserConfig:
    """Hyper-parameters of the denoiser. Lengths in Å; rates in K/ps."""

    elements: tuple = ("Si", "O")
    cutoff: float = 5.0
    num_blocks: int = 3
    hidden_scalars: int = 64
    hidden_vectors: int = 32
    lmax: int = 2
    num_bessel: int = 16
    radial_hidden: int = 64
    radial_layers: int = 1  # hidden layers of the radial MLP (NequIP's default is 2)
    avg_num_neighbors: float = 12.0
    conditional: bool = True
    cond_num_gaussians: int = 9
    cond_log10_range: tuple = (-2.0, 3.0)
    cond_hidden: int = 64
    species_self_connection: bool = False  # NequIP-style self-connection: tensor product with species one-hot
    species_linears: bool = False  # DM2/graphite-style: the per-atom linears and the readout depend on the species
    # how species_linears are computed: "tensor_product" (with the species one-hot, as the self-connection) or
    # "masked" (one plain o3.Linear per element, each atom taking its element's: the same function class)
    species_linears_kind: str = "tensor_product"
    system: str = "sio2"
    noise_conditional: bool = False  # the noise level sigma (Å) is an input (module docstring)
    noise_num_gaussians: int = 12
    noise_log10_range: tuple = (-3.0, 0.5)  # log10(sigma / Å) covered by the Gaussians
    noise_hidden: int = 64
    sigma_data: float = 0.0  # Å; > 0: EDM output preconditioning c_out(sigma) (0: the output is the displacement)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_dict(cls, d: dict) -> "DenoiserConfig":
        d = dict(d)
        for k in ("elements", "cond_log10_range", "noise_log10_range"):
            if k in d:
                d[k] = tuple(d[k])
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


class BesselBasis(nn.Module):
    """sqrt(2/rc) sin(n pi r / rc) / r, n = 1..num, times a smooth polynomial envelope (p = 6)."""

    def __init__(self, cutoff: float, num: int):
        super().__init__()
        self.cutoff = cutoff
        self.register_buffer("freq", torch.arange(1, num + 1) * math.pi / cutoff)

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        x = r / self.cutoff
        p = 6.0
        env = 1 - (p + 1) * (p + 2) / 2 * x ** p + p * (p + 2) * x ** (p + 1) - p * (p + 1) / 2 * x ** (p + 2)
        env = env * (x < 1)
        rb = math.sqrt(2.0 / self.cutoff) * torch.sin(self.freq * r[:, None]) / r[:, None].clamp_min(1e-6)
        return rb * env[:, None]


class SpeciesLinear(nn.Module):
    """One equivariant linear map per element: atom k gets lins[species[k]](x[k]). Evaluated as
    sum_e onehot[:, e] * lins[e](x): plain matmuls, fixed shapes (CUDA-graph friendly), exactly equivariant."""

    def __init__(self, irreps_in, irreps_out, n_species: int):
        super().__init__()
        self.lins = nn.ModuleList(o3.Linear(irreps_in, irreps_out) for _ in range(n_species))

    def forward(self, x, onehot):
        out = onehot[:, :1] * self.lins[0](x)
        for e in range(1, len(self.lins)):
            out = out + onehot[:, e:e + 1] * self.lins[e](x)
        return out


def _node_linear(irreps_in, irreps_out, cfg: DenoiserConfig) -> nn.Module:
    """A per-atom linear map irreps_in -> irreps_out; with cfg.species_linears one per species (a tensor product
    with the species one-hot, as NequIP's self-connection, or SpeciesLinear), which stays exactly equivariant."""
    if cfg.species_linears:
        if cfg.species_linears_kind == "masked":
            return SpeciesLinear(irreps_in, irreps_out, len(cfg.elements))
        if cfg.species_linears_kind != "tensor_product":
            raise ValueError(f"species_linears_kind must be 'tensor_product' or 'masked', "
                             f"got {cfg.species_linears_kind!r}")
        return o3.FullyConnectedTensorProduct(irreps_in, f"{len(cfg.elements)}x0e", irreps_out)
    return o3.Linear(irreps_in, irreps_out)


#: the per-atom linear maps that species_linears makes species-dependent (state_dict prefixes, {b}: block index)
NODE_LINEARS = ("blocks.{b}.linear_pre", "blocks.{b}.linear_post", "out")


def with_species_linears(model: "Denoiser") -> "Denoiser":
    """The same function with species-dependent ('masked') per-atom linears: every element's copy starts from the
    model's shared linear, so the outputs are unchanged until training makes the elements differ. For growing a
    trained species-blind checkpoint (its step and other weights kept)."""
    from dataclasses import replace

    cfg = model.cfg
    if cfg.species_linears:
        raise ValueError("the model already has species-dependent linears")
    ref = next(model.parameters())
    new = Denoiser(replace(cfg, species_linears=True, species_linears_kind="masked")).to(ref.device, ref.dtype)
    old_sd = model.state_dict()
    prefixes = [p.format(b=b) for p in NODE_LINEARS for b in range(cfg.num_blocks)]
    sd = {}
    for k, v in old_sd.items():
        pre = next((p for p in prefixes if k.startswith(p + ".")), None)
        if pre is None:
            sd[k] = v
        else:
            for e in range(len(cfg.elements)):
                sd[f"{pre}.lins.{e}{k[len(pre):]}"] = v.clone()
    new.load_state_dict(sd)  # strict: every weight of the new model comes from the old one
    return new.train(model.training)


def with_noise_conditioning(model: "Denoiser", **overrides) -> "Denoiser":
    """The same network told the noise level: every weight of model is kept and the new noise projections start
    at zero, so the outputs are unchanged until training uses sigma (growing a trained noise-blind checkpoint).
    overrides: other noise_* fields of DenoiserConfig (sigma_data must stay 0 to keep the outputs)."""
    from dataclasses import replace

    cfg = model.cfg
    if cfg.noise_conditional:
        raise ValueError("the model is already noise-conditional")
    if overrides.get("sigma_data", 0.0):
        raise ValueError("a grown model keeps its output scale: sigma_data must be 0")
    ref = next(model.parameters())
    new = Denoiser(replace(cfg, noise_conditional=True, **overrides)).to(ref.device, ref.dtype)
    missing, unexpected = new.load_state_dict(model.state_dict(), strict=False)
    if unexpected or any(not k.startswith(("noise_mlp.", "noise_proj.", "noise_centers")) for k in missing):
        raise ValueError(f"cannot grow: unexpected {unexpected}, missing {missing}")
    return new.train(model.training)


class Interaction(nn.Module):
    """One message-passing block: channel-wise ('uvu') tensor product with radial weights, gate, residual."""

    def __init__(self, irreps_in, irreps_sh, cfg: DenoiserConfig):
        super().__init__()
        self.irreps_in = o3.Irreps(irreps_in)
        keep = [o3.Irrep("0e"), o3.Irrep("1o")]
        mid, instr = [], []
        for i, (mul, ir_in) in enumerate(self.irreps_in):
            for j, (_, ir_sh) in enumerate(irreps_sh):
                for ir_out in ir_in * ir_sh:
                    if ir_out in keep:
                        instr.append((i, j, len(mid), "uvu", True))
                        mid.append((mul, ir_out))
        mid = o3.Irreps(mid)
        mid_sorted, perm, _ = mid.sort()
        instr = [(a, b, perm[c], m, t) for a, b, c, m, t in instr]
        self.species_lin = cfg.species_linears
        self.linear_pre = _node_linear(self.irreps_in, self.irreps_in, cfg)
        self.tp = o3.TensorProduct(self.irreps_in, irreps_sh, mid_sorted, instr,
                                   shared_weights=False, internal_weights=False)
        self.radial = FullyConnectedNet([cfg.num_bessel] + [cfg.radial_hidden] * cfg.radial_layers
                                        + [self.tp.weight_numel], torch.nn.functional.silu)
        s, v = cfg.hidden_scalars, cfg.hidden_vectors
        self.gate = Gate(f"{s}x0e", [torch.nn.functional.silu], f"{v}x0e", [torch.sigmoid], f"{v}x1o")
        self.linear_post = _node_linear(mid_sorted.simplify(), self.gate.irreps_in, cfg)
        self.species_sc = cfg.species_self_connection
        if self.species_sc:
            self.self_connection = o3.FullyConnectedTensorProduct(self.irreps_in, f"{len(cfg.elements)}x0e",
                                                                  self.gate.irreps_in)
        else:
            self.self_connection = o3.Linear(self.irreps_in, self.gate.irreps_in)
        self.irreps_out = self.gate.irreps_out
        self.residual = self.irreps_in == self.irreps_out
        self.inv_sqrt_neighbors = 1.0 / math.sqrt(cfg.avg_num_neighbors)
        self.num_scalars = s

    def forward(self, h, sh, radial, src, dst, cond, onehot, edge_ptr=None):
        x = self.linear_pre(h, onehot) if self.species_lin else self.linear_pre(h)
        w = self.radial(radial)
        msg = self.tp(x[src], sh, w)
        if edge_ptr is None:
            agg = torch.zeros(h.shape[0], msg.shape[1], dtype=msg.dtype, device=msg.device)
            agg = agg.index_add(0, dst, msg)
        else:  # edges sorted by dst: a sequential sum per atom, deterministic without sorting on the device
            agg = torch.segment_reduce(msg, "sum", offsets=edge_ptr, unsafe=True)
        agg = agg * self.inv_sqrt_neighbors
        sc = self.self_connection(h, onehot) if self.species_sc else self.self_connection(h)
        post = self.linear_post(agg, onehot) if self.species_lin else self.linear_post(agg)
        out = self.gate(post + sc)
        if self.residual:
            out = out + h
        if cond is not None:
            out = torch.cat([out[:, : self.num_scalars] + cond, out[:, self.num_scalars:]], dim=1)
        return out


class Denoiser(nn.Module):
    """eps_theta(x): predicted per-atom displacement (Å) that maps a noisy structure back towards a glass."""

    def __init__(self, cfg: DenoiserConfig):
        super().__init__()
        self.cfg = cfg
        s, v = cfg.hidden_scalars, cfg.hidden_vectors
        self.irreps_sh = o3.Irreps.spherical_harmonics(cfg.lmax)
        # a module (no parameters or buffers): forward touches no Irreps object, which torch.compile cannot guard
        self.spherical_harmonics = o3.SphericalHarmonics(self.irreps_sh, normalize=True, normalization="component")
        self.embed = nn.Linear(len(cfg.elements), s, bias=False)
        self.radial = BesselBasis(cfg.cutoff, cfg.num_bessel)
        hidden = o3.Irreps(f"{s}x0e + {v}x1o")
        blocks, irreps = [], o3.Irreps(f"{s}x0e")
        for _ in range(cfg.num_blocks):
            blk = Interaction(irreps, self.irreps_sh, cfg)
            blocks.append(blk)
            irreps = blk.irreps_out
        self.blocks = nn.ModuleList(blocks)
        self.out = _node_linear(irreps, o3.Irreps("1x1o"), cfg)
        if cfg.conditional:  # cooling rate: cond_centers, cond_mlp, cond_proj
            self._scalar_input("cond", cfg.cond_log10_range, cfg.cond_num_gaussians, cfg.cond_hidden, nn.Softplus)
        if cfg.noise_conditional:  # noise level: noise_centers, noise_mlp, noise_proj
            self._scalar_input("noise", cfg.noise_log10_range, cfg.noise_num_gaussians, cfg.noise_hidden, nn.SiLU)
            for proj in self.noise_proj:  # start as the noise-blind function (a grown model keeps its outputs)
                nn.init.zeros_(proj.weight)
                nn.init.zeros_(proj.bias)
        assert hidden == self.blocks[-1].irreps_out

    def _scalar_input(self, name: str, log10_range, n: int, hidden: int, act) -> None:
        """An invariant per-structure input: n Gaussians on its log10 over log10_range -> two-layer MLP (act) ->
        one linear map per block to the scalar channels (NAME_centers, NAME_width, NAME_mlp, NAME_proj)."""
        lo, hi = log10_range
        self.register_buffer(f"{name}_centers", torch.linspace(lo, hi, n))
        setattr(self, f"{name}_width", (hi - lo) / (n - 1))
        setattr(self, f"{name}_mlp", nn.Sequential(nn.Linear(n, hidden), act(), nn.Linear(hidden, hidden), act()))
        setattr(self, f"{name}_proj", nn.ModuleList(nn.Linear(hidden, self.cfg.hidden_scalars)
                                                    for _ in range(self.cfg.num_blocks)))

    def rate_embedding(self, log10_rate: torch.Tensor) -> torch.Tensor:
        """Gaussian basis of log10(rate / K/ps), (B,) -> (B, n)."""
        d = (log10_rate[:, None] - self.cond_centers) / self.cond_width
        return torch.exp(-0.5 * d * d)

    def noise_embedding(self, sigma: torch.Tensor) -> torch.Tensor:
        """Gaussian basis of log10(sigma / Å), (B,) -> (B, n)."""
        d = (torch.log10(sigma.clamp_min(1e-6))[:, None] - self.noise_centers) / self.noise_width
        return torch.exp(-0.5 * d * d)

    def c_out(self, sigma: torch.Tensor) -> torch.Tensor:
        """EDM output scale (Å) per structure for sigma (B,) Å (ones without preconditioning)."""
        sd = self.cfg.sigma_data
        if sd <= 0:
            return torch.ones_like(sigma)
        return sigma * sd / torch.sqrt(sigma * sigma + sd * sd)

    def forward(self, species, src, dst, vec, batch=None, log10_rate=None, edge_ptr=None, sigma=None):
        """species (N,) element indices; edges j->i as src/dst with vec = r_j - r_i (Å); batch (N,) structure
        index; log10_rate (B,) log10 of cooling rate in K/ps (conditional models); sigma (B,) the noise level in Å
        (noise-conditional models). Returns (N, 3) Å.

        edge_ptr (N+1,), optional: CSR offsets of edges sorted by dst (atom k's edges are
        edge_ptr[k]:edge_ptr[k+1]; edges past edge_ptr[-1], e.g. padding, are ignored). With it the neighbour
        sum is a per-atom sequential sum (deterministic on a GPU without index_add's sort); without it,
        index_add over dst (any edge order)."""
        onehot = torch.nn.functional.one_hot(species, len(self.cfg.elements)).to(vec.dtype)
        h = self.embed(onehot)
        r = vec.norm(dim=1)
        sh = self.spherical_harmonics(vec)
        radial = self.radial(r)
        conds = [None] * len(self.blocks)
        if batch is None:
            batch = torch.zeros(species.shape[0], dtype=torch.long, device=species.device)
        if self.cfg.conditional:
            if log10_rate is None:
                raise ValueError("conditional model needs log10_rate")
            e = self.cond_mlp(self.rate_embedding(log10_rate.to(vec.dtype)))
            conds = [proj(e) for proj in self.cond_proj]
        if self.cfg.noise_conditional:
            if sigma is None:
                raise ValueError("noise-conditional model needs sigma (Å)")
            sigma = sigma.to(vec.dtype)
            e = self.noise_mlp(self.noise_embedding(sigma))
            conds = [proj(e) if c is None else c + proj(e) for c, proj in zip(conds, self.noise_proj)]
        conds = [None if c is None else c[batch] for c in conds]
        for blk, c in zip(self.blocks, conds):
            h = blk(h, sh, radial, src, dst, c, onehot, edge_ptr)
        out = self.out(h, onehot) if self.cfg.species_linears else self.out(h)
        if self.cfg.noise_conditional and self.cfg.sigma_data > 0:
            out = out * self.c_out(sigma)[batch][:, None]
        return out
