"""The Python API: ``snncompile.compile(...)`` and ``Compiled.run(...)``.

Example::

    import snncompile
    compiled = snncompile.compile("examples/digits/spikingformer.pt")  # or target="loihi"
    result = compiled.run(images, backend="sim", mode="pipelined")
    result.logits      # [B, classes], averaged over T as the model does
    result.spikes      # population name -> [steps, B, *shape] (with record=True)
    result.stats       # SimStats: spikes, synaptic events, neuron updates

Backends (:mod:`snncompile.backends`): ``sim`` (the reference simulator on the network IR;
``mode`` pipelined, as the chip runs, or layerwise, as PyTorch computes; engine numpy, or torch
on CPU/CUDA with ``sim_backend="torch", device=...``), ``float`` (the traced model, float32 as
the compile traces it) and ``lava`` (Lava's CPU simulation of the emitted processes, ``form``
stock or fused). How a model runs is a :class:`~snncompile.config.RunConfig`; ``run`` takes its
fields as keywords. Models are read and compiled by the driver (:mod:`snncompile.driver`), as
the CLI does.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from snncompile.config import BACKENDS, MODES, CompileConfig, RunConfig
from snncompile.diagnostics import error
from snncompile.frontend.load import LoadedModel
from snncompile.frontend.simulate import time_major_inputs
from snncompile.ir.graph import Graph
from snncompile.targets.sim.engine import Simulator
from snncompile.targets.sim.program import NetworkProgram
from snncompile.targets.sim.stats import SimStats

if TYPE_CHECKING:
    from torch import nn

    from snncompile.targets.sim.torch_engine import TorchSimulator

__all__ = ["BACKENDS", "MODES", "TARGETS", "Compiled", "RunOutput", "compile", "compile_config"]

#: What :func:`compile` compiles for: the network program (``sim``), or the same program as
#: the ``loihi`` target builds it (it also runs in Lava).
TARGETS = ("sim", "loihi")


@dataclass
class RunOutput:
    """What one run of a batch gives.

    Attributes:
        logits: ``[B, ...]`` model outputs averaged over the T counted steps.
        outputs: the raw ``[steps, B, ...]`` outputs (steps = T, or T + depth when pipelined).
        spikes: recorded population spikes, ``[steps, B, *shape]`` by name.
        stats: activity counts (sim backend).
        latency_steps: steps until the last counted output (T, or T + depth).
        seconds: wall time of the run.
        extra: backend-specific results (e.g. Lava's process counts).
    """

    logits: np.ndarray
    outputs: np.ndarray
    spikes: dict[str, np.ndarray] = field(default_factory=dict)
    stats: SimStats | None = None
    latency_steps: int = 0
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Compiled:
    """A model compiled to the network IR, ready to run (see the module docstring)."""

    loaded: LoadedModel
    graph: Graph  # the traced tensor IR (snncompile.driver.TRACE_DTYPE)
    config: CompileConfig
    target: str = "sim"
    _program: NetworkProgram | None = field(default=None, repr=False)
    _simulators: dict[tuple[str, str, str], Simulator | TorchSimulator] = field(
        default_factory=dict, repr=False
    )
    source: str | None = None  # the model file of an artifact, for the float backend
    run_config: RunConfig = field(default_factory=RunConfig)  # defaults of run()

    def float_graph(self) -> Graph:
        """The traced tensor IR in float (an artifact recompiles it from its source)."""
        if self.graph.stage == "tensor":
            return self.graph
        if self.source is None and self.loaded.graph is self.graph:  # read as a network
            raise error(
                "CF201",
                f"{self.loaded.name} was read as a network (a netx file): it has no float form; "
                "run it with --backend sim (or lava)",
                node="backend",
            )
        if self.source is None or not Path(self.source).is_file():
            raise error(
                "CF201",
                f"the float backend needs the source model of this artifact ({self.source}); "
                "run the source model file instead",
                node="backend",
            )
        from snncompile.driver import load, trace
        from snncompile.frontend.consent import require_code_consent

        require_code_consent(self.config.arch, "the artifact's manifest", self.config.trust_code)
        self.graph = trace(load(self.source, self.config))
        return self.graph

    @property
    def program(self) -> NetworkProgram:
        """The network IR (compiled on first use: the float backend does not need it)."""
        if self._program is None:
            from snncompile.driver import build_program

            self._program = build_program(self.graph, self.config)
        return self._program

    @property
    def time_steps(self) -> int:
        return self.loaded.time_steps

    @property
    def depth(self) -> int:
        return self.program.depth

    @property
    def reports(self) -> dict[str, Any]:
        return self.program.reports

    def inputs(self, x: Any) -> np.ndarray:
        """``x`` (``[B, *shape]`` images, ``[T, B, ...]``, or ``[B, T, ...]`` frames) as the
        graph's ``[T, B, *shape]`` float64 input."""
        layout = "BT" if self.loaded.input_kind == "frames" else None
        return time_major_inputs(self.graph, x, self.time_steps, input_layout=layout).astype(
            np.float64
        )

    def simulator(
        self, mode: str, run_config: RunConfig | None = None
    ) -> Simulator | TorchSimulator:
        """The reference simulator of ``mode``'s graph, on the engine ``run_config`` picks
        (``sim_backend`` numpy, or torch on ``device``; the two are bit-identical)."""
        run_config = run_config or self.run_config
        key = (mode, run_config.sim_backend, run_config.device)
        if key not in self._simulators:
            graph = self.program.graph(mode)
            if run_config.sim_backend == "torch":
                from snncompile.targets.sim.torch_engine import TorchSimulator

                self._simulators[key] = TorchSimulator(graph, device=run_config.device)
            else:
                self._simulators[key] = Simulator(graph)
        return self._simulators[key]

    def run(
        self,
        x: Any,
        *,
        backend: str | None = None,
        mode: str | None = None,
        record: bool | list[str] = False,
        stats: bool = True,
        form: str | None = None,
        run_config: RunConfig | None = None,
        **options: Any,
    ) -> RunOutput:
        """Run a batch ``x`` (see :meth:`inputs`) on ``backend`` in ``mode``.

        ``run_config`` (default: this object's :attr:`run_config`) says how; ``backend``,
        ``mode``, ``form`` (the Lava form) and any other :class:`RunConfig` field given as a
        keyword override it."""
        from snncompile.backends import get_backend

        if backend is not None and backend not in BACKENDS:
            raise error("CF201", f"backend must be one of {', '.join(BACKENDS)}", node="backend")
        if mode is not None and mode not in MODES:
            raise error("CF201", f"mode must be one of {', '.join(MODES)}", node="mode")
        changes = {k: v for k, v in options.items()}
        for name, value in (("backend", backend), ("mode", mode), ("lava_mode", form)):
            if value is not None:
                changes[name] = value
        base = run_config or self.run_config
        config = RunConfig.from_dict({**base.to_dict(), "compare": None, **changes})
        return get_backend(config.backend).run(
            self, self.inputs(x), config, record=record, stats=stats
        )


def compile(
    model: str | Path | nn.Module,
    target: str = "sim",
    *,
    example_input: Any = None,
    time_steps: int | None = None,
    input_shape: tuple[int, ...] | None = None,
    **config: Any,
) -> Compiled:
    """Compile ``model`` (a path, ``zoo:NAME`` or an ``nn.Module``) for ``target``.

    Args:
        model: what ``snncompile MODEL`` accepts, or a module object.
        target: ``sim`` or ``loihi`` (the same network; ``loihi`` also runs in Lava).
        example_input: one batch (or sample) of inputs; gives the input shape of a module.
        time_steps: T (default: the model card's, the zoo spec's, or 4).
        input_shape: one sample's shape, instead of ``example_input``.
        **config: any :class:`~snncompile.config.CompileConfig` field (``expand_sew``,
            ``allow_host_ops``, ``weight_bits``, ``arch``, ...) or
            :class:`~snncompile.config.RunConfig` field (``sim_backend``, ``device``,
            ``lava_mode``: the defaults of :meth:`Compiled.run`).
    """
    if target not in TARGETS:
        raise error("CF201", f"target must be one of {', '.join(TARGETS)}", node="target")
    known = {f.name for f in fields(CompileConfig)} | {f.name for f in fields(RunConfig)}
    unknown = sorted(set(config) - known)
    if unknown:
        raise error(
            "CF201",
            f"unknown option(s) {', '.join(unknown)}; CompileConfig and RunConfig have "
            f"{', '.join(sorted(known))}",
            node="compile",
        )
    run_fields = {f.name for f in fields(RunConfig)}
    run_options = {k: config.pop(k) for k in list(config) if k in run_fields}
    cfg = CompileConfig(**{**config, "time_steps": time_steps or config.get("time_steps")})
    compiled = compile_config(model, cfg, example_input=example_input, input_shape=input_shape)
    compiled.run_config = RunConfig(**run_options)
    compiled.target = target
    compiled.program  # noqa: B018 - compile now, so that errors surface here
    return compiled


def _from_artifact(path: Path, user: CompileConfig) -> Compiled:
    """The verified artifact at ``path``; trust settings and the signing key come from the
    user's ``config``, never from the manifest, and the recorded source is found relative to
    the artifact and checked against its SHA-256 (AR104)."""
    from snncompile.frontend.load import _card
    from snncompile.targets.loihi import load
    from snncompile.targets.loihi.artifact import resolve_source
    from snncompile.targets.loihi.integrity import read_sign_key

    artifact = load(path, key=read_sign_key(user.sign_key))
    manifest, program = artifact.manifest, artifact.program
    config = artifact.config.replace(
        trust_pickle=user.trust_pickle,
        trust_code=user.trust_code,
        sign_key=user.sign_key,
        max_memory=user.max_memory,
    )
    source = resolve_source(path, manifest)
    card = _card(source) if source is not None else None
    graph = program.layerwise
    loaded = LoadedModel(
        name=str(manifest.get("model", path.name)),
        module=None,
        graph=None,
        arch=artifact.config.arch,
        time_steps=int(manifest["time_steps"]),
        input_shape=graph.inputs[0].type.shape,
        dataset=(card or {}).get("dataset") or ("digits" if card and "split" in card else None),
        card=card,
    )
    compiled = Compiled(loaded, graph, config, "loihi", _program=program)
    compiled.source = None if source is None else str(source)
    return compiled


def compile_config(
    model: str | Path | nn.Module,
    config: CompileConfig,
    *,
    example_input: Any = None,
    input_shape: tuple[int, ...] | None = None,
) -> Compiled:
    """:func:`compile` with a ready :class:`~snncompile.config.CompileConfig`.

    ``model`` may also be an artifact directory written by ``--target loihi``: its verified
    network is used as it is (the float backend then needs the source model it records)."""
    if isinstance(model, str | Path) and (Path(model) / "manifest.json").is_file():
        return _from_artifact(Path(model), config)
    from snncompile.driver import load, recorded_config, trace

    if input_shape is None and example_input is not None:
        example = example_input.detach() if hasattr(example_input, "detach") else example_input
        shape = tuple(np.asarray(example).shape)
        input_shape = shape[1:] if len(shape) > 1 else shape
    if input_shape is not None:
        config = config.replace(input_shape=tuple(int(n) for n in input_shape))
    loaded = load(model, config)
    return Compiled(loaded, trace(loaded), recorded_config(config, loaded))
