"""The configurations: :class:`CompileConfig` (what the compiler does) and :class:`RunConfig`
(how a compiled model is run), frozen, JSON-serializable dataclasses that the CLI mirrors.

Every field carries its help text and, where it has them, its choices, its lower bound
(``minimum``) and its CLI aliases in the field metadata; the CLI builds every command's options
from these fields (:func:`snncompile.cli.dataclass_options`), with typed, ranged values (a
nonsense value is a usage error), so the two cannot drift apart. Constructing a config checks
the same types and ranges (CF201). A copy of the compile config is written next to every
artifact together with the per-pass timing.
"""

from __future__ import annotations

import dataclasses
import json
import math
import typing
from dataclasses import dataclass, field
from typing import Any

from snncompile.diagnostics import error
from snncompile.targets import TARGET_NAMES

__all__ = ["BACKENDS", "MODES", "TARGETS", "CompileConfig", "RunConfig"]

#: Compilation targets the CLI accepts (the registry's names, :mod:`snncompile.targets`).
TARGETS = TARGET_NAMES
#: Discretisation conventions of NIR files the import knows (snncompile.frontend.nir_conventions).
NIR_CONVENTIONS = ("snncompile", "snntorch", "norse", "sinabs", "rockpool", "lava-dl")


#: Run backends (:mod:`snncompile.backends`).
BACKENDS = ("sim", "float", "lava")
#: Timings of a simulated run.
MODES = ("pipelined", "layerwise")
#: Run-time fields older artifacts recorded in their compile config (read and ignored).
LEGACY_RUN_FIELDS = ("sim_backend", "device", "lava_mode")


def _opt(
    help: str,
    *,
    choices: tuple[str, ...] | None = None,
    flag: bool = True,
    aliases: tuple[str, ...] = (),
    minimum: int | None = None,
    maximum: int | None = None,
    metavar: str | None = None,
) -> Any:
    return {
        "help": help,
        "choices": choices,
        "cli": flag,
        "aliases": aliases,
        "minimum": minimum,
        "maximum": maximum,
        "metavar": metavar,
    }


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
        metadata=_opt(
            "Time steps T the model runs (default: the model card's, the zoo's, the value "
            "recorded in a .snnir file, else 4).",
            minimum=1,
        ),
    )
    input_shape: tuple[int, ...] | None = field(
        default=None,
        metadata=_opt(
            "Shape of one input sample, e.g. 1,28,28 (C,H,W) for a checkpoint without a model "
            "card (default: the card's).",
            minimum=1,
            metavar="C,H,W",
        ),
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
    chip: str = field(
        default="loihi2",
        metadata=_opt(
            "The chip model to compile for (snncompile.chip.CHIPS): its number formats, neuron "
            "step, core limits and energy constants."
        ),
    )
    weight_bits: int | None = field(
        default=None,
        metadata=_opt(
            "Synaptic weight precision in bits (default: the chip's, Loihi 2: 8; at most that).",
            minimum=1,
        ),
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
    objective: str = field(
        default="cores",
        metadata=_opt(
            "What the lowering minimises where the chip model allows several exact mappings "
            "(docs/resources.md, 'Cost-chosen lowering'): cores (a reduction broadcast into a "
            "gated product is computed once in a graded relay population, one hop more) or "
            "latency (fan-in: no extra hop, more synapse memory).",
            choices=("cores", "latency"),
        ),
    )
    max_latency_steps: int | None = field(
        default=None,
        metadata=_opt(
            "Latency budget in steps (T + pipeline depth): with --objective cores, the mappings "
            "that add hops are given up when the budget would be exceeded; RS981 if even the "
            "fastest mapping exceeds it.",
            minimum=1,
        ),
    )
    board: str | None = field(
        default=None,
        metadata=_opt(
            "Refuse (RS980) a placement that does not fit this board: kapoho-point (8 Loihi 2 "
            "chips), hala-point (1,152) or chips:N (snncompile.chip.BOARDS).",
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
        metadata=_opt("Seed for random weights (zoo:NAME) and sampling.", minimum=0),
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

    def __post_init__(self) -> None:
        _validate(self)
        from snncompile.chip import get_chip

        if self.board is not None:
            from snncompile.chip import get_board

            get_board(self.board)  # CF201 when unknown
        bits = get_chip(self.chip).weights.bits
        if self.weight_bits is not None and not 1 <= self.weight_bits <= bits:
            raise error(
                "CF201",
                f"weight_bits must be in 1..{bits} for chip {self.chip}, got {self.weight_bits}",
                node="weight_bits",
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
        """Build from a dict; unknown keys raise CF201 naming them (the run-time fields older
        artifacts recorded, ``sim_backend``, ``device`` and ``lava_mode``, are ignored: they
        never changed what was compiled)."""
        if not isinstance(data, dict):
            raise error("CF201", f"the config must be a mapping, got {type(data).__name__}")
        data = {k: v for k, v in data.items() if k not in LEGACY_RUN_FIELDS}
        return _from_dict(cls, data)

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


@dataclass(frozen=True)
class RunConfig:
    """How a compiled model runs: backend, timing, simulator engine, device, batches."""

    backend: str = field(
        default="sim",
        metadata=_opt(
            "sim: the reference simulator (the chip's integer arithmetic); float: the traced "
            "model; lava: Lava's fixed-point CPU simulation.",
            choices=BACKENDS,
        ),
    )
    mode: str = field(
        default="pipelined",
        metadata=_opt(
            "pipelined: one step per projection hop, as the chip runs (latency T + depth); "
            "layerwise: every step through the whole network, as PyTorch computes.",
            choices=MODES,
        ),
    )
    sim_backend: str = field(
        default="numpy",
        metadata=_opt(
            "Engine of the sim backend: numpy, or torch on --device (bit-identical to numpy, "
            "docs/scale_out.md).",
            choices=("numpy", "torch"),
        ),
    )
    device: str = field(
        default="cpu",
        metadata=_opt("Device of the torch simulator engine.", choices=("cpu", "cuda")),
    )
    lava_mode: str = field(
        default="stock",
        metadata=_opt(
            "Lava processes of the lava backend: stock library processes (deployable) or one "
            "fused numpy process.",
            choices=("stock", "fused"),
        ),
    )
    compare: str | None = field(
        default=None,
        metadata=_opt(
            "With --backend lava: also run the simulator and compare every population's spikes.",
            choices=("sim",),
        ),
    )
    batch_size: int = field(
        default=64,
        metadata=_opt("Samples per simulated batch (lava runs one at a time).", minimum=1),
    )
    limit: int | None = field(
        default=None,
        metadata=_opt("Use at most this many samples (default: all).", minimum=1),
    )
    shard_size: int | None = field(
        default=None,
        metadata=_opt(
            "Evaluate in shards of this many samples, each kept as it finishes (default with "
            "--ray: about 4 shards per worker).",
            minimum=1,
        ),
    )
    ray: str | None = field(
        default=None,
        metadata=_opt(
            "Evaluate shards on a Ray cluster (auto: the running one; local: start one here).",
            metavar="auto|ADDRESS|local",
        ),
    )
    workers: int = field(
        default=1,
        metadata=_opt("Ray workers (one actor each).", minimum=1),
    )

    def __post_init__(self) -> None:
        _validate(self)
        if self.compare is not None and self.backend != "lava":
            raise error("CF201", "--compare sim goes with --backend lava", node="compare")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        """Build from a dict; unknown keys raise CF201 naming them."""
        return _from_dict(cls, data)

    def replace(self, **changes: Any) -> RunConfig:
        return dataclasses.replace(self, **changes)


_Config = typing.TypeVar("_Config", CompileConfig, RunConfig)


def _from_dict(cls: type[_Config], data: dict[str, Any]) -> _Config:
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise error(
            "CF201",
            f"unknown config field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}",
            node=unknown[0],
        )
    return cls(**data)


def _validate(config: Any) -> None:
    """Check every field's type, choices, lower bound and finiteness (CF201 naming it); lists
    become tuples and ints become floats where the annotation says so."""
    hints = typing.get_type_hints(type(config))
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        annotation = hints[f.name]
        if _is_tuple(annotation) and isinstance(value, list):
            value = tuple(value)
            object.__setattr__(config, f.name, value)
        if float in typing.get_args(annotation) and type(value) is int:
            value = float(value)  # an int time step is a float one
            object.__setattr__(config, f.name, value)
        _check_type(f.name, annotation, value)
        choices = f.metadata.get("choices")
        if choices and value is not None and value not in choices:
            raise error(
                "CF201",
                f"{f.name} must be one of {', '.join(choices)}, got {value!r}",
                node=f.name,
            )
        minimum = f.metadata.get("minimum")
        numbers = value if isinstance(value, tuple) else (value,)
        for number in numbers:
            if isinstance(number, float) and not math.isfinite(number):
                raise error("CF201", f"{f.name} must be finite, got {number}", node=f.name)
            maximum = f.metadata.get("maximum")
            if isinstance(number, int | float) and (
                (minimum is not None and number < minimum)
                or (maximum is not None and number > maximum)
            ):
                bounds = f"in {minimum}..{maximum}" if maximum is not None else f">= {minimum}"
                raise error("CF201", f"{f.name} must be {bounds}, got {value!r}", node=f.name)
    nir_dt = getattr(config, "nir_dt", None)
    if nir_dt is not None and not nir_dt > 0:
        raise error("CF201", f"nir_dt must be > 0, got {nir_dt}", node="nir_dt")
    max_memory = getattr(config, "max_memory", None)
    if max_memory is not None and not max_memory > 0:
        raise error(
            "CF201",
            f"max_memory must be a positive number of GiB, got {max_memory}",
            node="max_memory",
        )


def _is_tuple(annotation: Any) -> bool:
    if typing.get_origin(annotation) is tuple:
        return True
    return any(typing.get_origin(a) is tuple for a in typing.get_args(annotation))


def _check_type(name: str, annotation: Any, value: Any) -> None:
    args = typing.get_args(annotation)
    allowed: tuple[Any, ...] = args if args and typing.get_origin(annotation) is not tuple else ()
    if typing.get_origin(annotation) is tuple:
        item = typing.get_args(annotation)[0]
        ok = isinstance(value, tuple) and all(_is(v, item) for v in value)
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
    if typing.get_origin(kind) is tuple:
        item = typing.get_args(kind)[0]
        return isinstance(value, tuple) and all(_is(v, item) for v in value)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def _describe(annotation: Any) -> str:
    return str(annotation).replace("typing.", "").replace("<class '", "").replace("'>", "")
