"""The build configuration: one frozen, JSON-serializable dataclass that the CLI mirrors.

Every field carries its help text, its CLI flag and, where it has one, its set of choices in the
field metadata; the CLI builds its options from these fields, so the two cannot drift apart. A
copy of the config is written next to every artifact together with per-pass timing.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field
from typing import Any

from snncompile.diagnostics import error

__all__ = ["TARGETS", "CompileConfig"]

#: Compilation targets the CLI accepts.
TARGETS = ("fixed", "ir", "loihi", "netx", "nir", "onnx", "onnx-network")
#: Discretisation conventions of NIR files the import knows (snncompile.frontend.nir_conventions).
NIR_CONVENTIONS = ("snncompile", "snntorch", "norse", "sinabs", "rockpool", "lava-dl")


def _opt(
    help: str,
    *,
    choices: tuple[str, ...] | None = None,
    flag: bool = True,
    aliases: tuple[str, ...] = (),
) -> Any:
    return {"help": help, "choices": choices, "cli": flag, "aliases": aliases}


@dataclass(frozen=True)
class CompileConfig:
    """Everything that decides what a compile produces (run parameters excluded)."""

    target: str = field(
        default="fixed",
        metadata=_opt(
            "What to produce: the quantized integer IR (fixed), the traced IR, a Loihi artifact "
            "(loihi), a lava-dl netx HDF5 file (netx, sequential networks only), NIR, ONNX, or "
            "the compiled chip network as integer-exact ONNX (onnx-network). "
            "`snncompile run` runs a model or a Loihi artifact on the reference simulator.",
            choices=TARGETS,
        ),
    )
    arch: str | None = field(
        default=None,
        metadata=_opt(
            "Architecture of a checkpoint: a zoo name (`snncompile zoo`) or your own class, "
            "FILE.py:Class or package.module:Class (built with the card's arch_kwargs)."
        ),
    )
    time_steps: int | None = field(
        default=None,
        metadata=_opt("Time steps T of a run (default: the model card's, else 4)."),
    )
    dump_ir_after: tuple[str, ...] = field(
        default=(),
        metadata=_opt("Print the IR after these passes (repeatable; 'all' for every pass)."),
    )
    verify_each_pass: bool = field(
        default=True,
        metadata=_opt("Run the IR verifier after every pass."),
    )
    allow_host_ops: bool = field(
        default=False,
        metadata=_opt("Run ops that cannot be built from synapses (e.g. max over reals) on host."),
    )
    lava_mode: str = field(
        default="stock",
        metadata=_opt(
            "Lava emission: stock library processes (deployable) or fused numpy processes.",
            choices=("stock", "fused"),
        ),
    )
    weight_bits: int = field(
        default=8,
        metadata=_opt("Synaptic weight bits of the target (Loihi 2: up to 8)."),
    )
    expand_sew: bool = field(
        default=False,
        metadata=_opt(
            "Distribute synapses driven by spike counts (SEW residuals) over their k sources "
            "(k times the synapse memory) instead of stopping with SD201."
        ),
    )
    ms_relay: bool = field(
        default=False,
        metadata=_opt(
            "Lower a membrane-shortcut residual stream read by several populations to graded "
            "relay populations (one hop each) instead of fan-in projections from every "
            "contributor (the default; the lowering report gives the synapse memory of both)."
        ),
    )
    accept_saturation: bool = field(
        default=False,
        metadata=_opt(
            "Accept fixed-point saturation the quantizer cannot rule out.",
            aliases=("allow_saturation",),
        ),
    )
    trust_pickle: bool = field(
        default=False,
        metadata=_opt("Allow loading a pickled nn.Module (unpickling runs code)."),
    )
    trust_code: bool = field(
        default=False,
        metadata=_opt(
            "Allow importing the Python class a model card names (FILE.py:Class; runs its code)."
        ),
    )
    sign_key: str | None = field(
        default=None,
        metadata=_opt(
            "A key file: sign the manifest of a --target loihi artifact with HMAC-SHA256, and "
            "verify artifacts read with it (else $SNNCOMPILE_SIGN_KEY; docs/security.md)."
        ),
    )
    max_memory: float | None = field(
        default=None,
        metadata=_opt(
            "Refuse inputs, graphs and runs estimated to need more than this many GiB "
            "(default: half of this machine's memory)."
        ),
    )
    seed: int = field(
        default=0,
        metadata=_opt("Seed for random weights (zoo:NAME) and sampling."),
    )
    nir_extensions: bool = field(
        default=False,
        metadata=_opt(
            "--target nir: write ops NIR has no node for (attention products, max pooling, "
            "layout changes) as namespaced snncompile extension subgraphs (docs/nir.md) instead "
            "of stopping with IX807."
        ),
    )
    nir_convention: str | None = field(
        default=None,
        metadata=_opt(
            "NIR import: the tool whose discretisation a .nir file follows (dt, integrator, "
            "reset, threshold comparison; docs/nir.md). Files written by snncompile record it.",
            choices=NIR_CONVENTIONS,
        ),
    )
    nir_dt: float | None = field(
        default=None,
        metadata=_opt("NIR import: the time step dt (overrides the file's or the convention's)."),
    )
    nir_reset: str | None = field(
        default=None,
        metadata=_opt(
            "NIR import: the reset mode, to v_reset (value) or by subtracting the threshold "
            "(overrides the file's or the convention's).",
            choices=("value", "subtract"),
        ),
    )
    nir_spikes: str | None = field(
        default=None,
        metadata=_opt(
            "NIR import: 'single' states that the source's neurons emit at most one spike per "
            "step without a membrane floor (sinabs SingleSpike, rockpool max_spikes_per_dt=1); "
            "'multi' is refused (IX813). sinabs and rockpool files cannot say it.",
            choices=("single", "multi"),
        ),
    )
    nir_input_gain: str | None = field(
        default=None,
        metadata=_opt(
            "NIR import: the factor on a neuron's input: r (the file's r), leak (the per-step "
            "leak times r: sinabs norm_input=True), unit (1) or euler (forward Euler).",
            choices=("euler", "r", "unit", "leak"),
        ),
    )
    nir_strict: bool = field(
        default=True,
        metadata=_opt(
            "NIR import: refuse (IX811) what the file and the options leave open; "
            "--no-nir-strict assumes the convention's documented default with a warning "
            "(IX812)."
        ),
    )

    sim_backend: str = field(
        default="numpy",
        metadata=_opt(
            "Engine of the reference simulator: numpy, or torch (on --device; bit-identical "
            "to numpy, docs/scale_out.md).",
            choices=("numpy", "torch"),
        ),
    )
    device: str = field(
        default="cpu",
        metadata=_opt("Device of the torch simulator engine.", choices=("cpu", "cuda")),
    )

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if hints[f.name] == tuple[str, ...] and isinstance(value, list):
                object.__setattr__(self, f.name, tuple(value))
                value = tuple(value)
            if float in typing.get_args(hints[f.name]) and type(value) is int:
                value = float(value)  # an int time step is a float one
                object.__setattr__(self, f.name, value)
            _check_type(f.name, hints[f.name], value)
            choices = f.metadata.get("choices")
            if choices and value is not None and value not in choices:
                raise error(
                    "CF201",
                    f"{f.name} must be one of {', '.join(choices)}, got {value!r}",
                    node=f.name,
                )
        if self.time_steps is not None and self.time_steps < 1:
            raise error(
                "CF201", f"time_steps must be >= 1, got {self.time_steps}", node="time_steps"
            )
        if self.nir_dt is not None and not 0 < self.nir_dt < float("inf"):
            raise error("CF201", f"nir_dt must be > 0, got {self.nir_dt}", node="nir_dt")
        if self.max_memory is not None and not 0 < self.max_memory < float("inf"):
            raise error(
                "CF201",
                f"max_memory must be a positive number of GiB, got {self.max_memory}",
                node="max_memory",
            )
        if not 1 <= self.weight_bits <= 8:
            raise error(
                "CF201", f"weight_bits must be in 1..8, got {self.weight_bits}", node="weight_bits"
            )

    # --- serialization ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples become lists)."""
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CompileConfig:
        """Build from a dict; unknown keys raise CF201 naming them."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise error(
                "CF201",
                f"unknown config field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}",
                node=unknown[0],
            )
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> CompileConfig:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise error("CF201", f"the config is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise error("CF201", "the config must be a JSON object")
        return cls.from_dict(data)

    def replace(self, **changes: Any) -> CompileConfig:
        return dataclasses.replace(self, **changes)


def _check_type(name: str, annotation: Any, value: Any) -> None:
    args = typing.get_args(annotation)
    allowed: tuple[Any, ...] = args if args and typing.get_origin(annotation) is not tuple else ()
    if typing.get_origin(annotation) is tuple:
        ok = isinstance(value, tuple) and all(isinstance(v, str) for v in value)
    elif allowed:
        ok = any(value is None if a is type(None) else _is(value, a) for a in allowed)
    else:
        ok = _is(value, annotation)
    if not ok:
        raise error(
            "CF201",
            f"{name} must be {_describe(annotation)}, got {type(value).__name__} {value!r}",
            node=name,
        )


def _is(value: Any, kind: Any) -> bool:
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def _describe(annotation: Any) -> str:
    return str(annotation).replace("typing.", "").replace("<class '", "").replace("'>", "")
