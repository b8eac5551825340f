"""The Python API: ``snncompile.compile(...)`` and ``Compiled.run(...)``.

Example::

    import snncompile
    compiled = snncompile.compile("examples/digits/spikingformer.pt")  # or target="loihi"
    result = compiled.run(images, backend="sim", mode="pipelined")
    result.logits      # [B, classes], averaged over T as the model does
    result.spikes      # population name -> [steps, B, *shape] (with record=True)
    result.stats       # SimStats: spikes, synaptic events, neuron updates

Backends: ``sim`` (the reference simulator on the network IR; ``mode`` pipelined, as the chip
runs, or layerwise, as PyTorch computes; engine numpy, or torch on CPU/CUDA with
``sim_backend="torch", device=...``), ``float`` (the traced model in float64) and ``lava``
(Lava's CPU simulation of the emitted processes, ``form`` stock or fused).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from snncompile.config import CompileConfig
from snncompile.diagnostics import error
from snncompile.frontend.load import LoadedModel, load_configured, to_graph
from snncompile.frontend.simulate import time_major_inputs
from snncompile.ir.graph import Graph
from snncompile.ir.interpret import run_layerwise
from snncompile.limits import require_memory
from snncompile.targets.sim.engine import Simulator
from snncompile.targets.sim.program import NetworkProgram, build_program
from snncompile.targets.sim.stats import SimStats

if TYPE_CHECKING:
    from snncompile.targets.sim.torch_engine import TorchSimulator

__all__ = ["Compiled", "RunOutput", "compile", "compile_config"]

TARGETS = ("sim", "loihi")
BACKENDS = ("sim", "float", "lava")
MODES = ("pipelined", "layerwise")


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
    graph: Graph  # the traced tensor IR (float64)
    config: CompileConfig
    target: str = "sim"
    _program: NetworkProgram | None = field(default=None, repr=False)
    _simulators: dict[str, Simulator | TorchSimulator] = field(default_factory=dict, repr=False)
    source: str | None = None  # the model file of an artifact, for the float backend

    def float_graph(self) -> Graph:
        """The traced tensor IR in float (an artifact recompiles it from its source)."""
        if self.graph.stage == "tensor":
            return self.graph
        if self.source is None or not Path(self.source).is_file():
            raise error(
                "CF201",
                f"the float backend needs the source model of this artifact ({self.source}); "
                "run the source model file instead",
                node="backend",
            )
        from snncompile.frontend.consent import require_code_consent

        require_code_consent(self.config.arch, "the artifact's manifest", self.config.trust_code)
        loaded = load_configured(self.source, self.config)
        self.graph = to_graph(loaded, torch.float64)
        return self.graph

    @property
    def program(self) -> NetworkProgram:
        """The network IR (compiled on first use: the float backend does not need it)."""
        if self._program is None:
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

    def simulator(self, mode: str) -> Simulator | TorchSimulator:
        """The reference simulator of ``mode``'s graph, on the engine the config picks
        (``sim_backend`` numpy, or torch on ``device``; the two are bit-identical)."""
        if mode not in self._simulators:
            graph = self.program.graph(mode)
            if self.config.sim_backend == "torch":
                from snncompile.targets.sim.torch_engine import TorchSimulator

                self._simulators[mode] = TorchSimulator(graph, device=self.config.device)
            else:
                self._simulators[mode] = Simulator(graph)
        return self._simulators[mode]

    def run(
        self,
        x: Any,
        *,
        backend: str = "sim",
        mode: str = "pipelined",
        record: bool | list[str] = False,
        stats: bool = True,
        form: str | None = None,
    ) -> RunOutput:
        """Run a batch ``x`` (see :meth:`inputs`) on ``backend`` in ``mode``."""
        if backend not in BACKENDS:
            raise error("CF201", f"backend must be one of {', '.join(BACKENDS)}", node="backend")
        if mode not in MODES:
            raise error("CF201", f"mode must be one of {', '.join(MODES)}", node="mode")
        inputs = self.inputs(x)
        steps = self.time_steps
        if backend == "float":
            graph = self.float_graph()
            start = time.perf_counter()
            out = run_layerwise(graph, [inputs])[graph.outputs[0].name]
            seconds = time.perf_counter() - start
            return RunOutput(out.mean(axis=0), out, latency_steps=steps, seconds=seconds)
        depth = self.depth if mode == "pipelined" else 0
        graph_values = self.program.graph(mode)
        per_step = sum(out.type.numel for node in graph_values.nodes for out in node.outputs)
        require_memory(  # the padded inputs of every step, and one step's values
            8 * inputs.shape[1] * (per_step + (steps + depth) * math.prod(inputs.shape[2:])),
            f"running {inputs.shape[1]} sample(s) of {self.loaded.name} for {steps + depth} steps",
            node=self.loaded.name,
        )
        if depth:  # the pipeline drains: inputs after T reach no counted output
            inputs = np.concatenate([inputs, np.zeros((depth, *inputs.shape[1:]))])
        name = self.program.graph(mode).outputs[0].name
        if backend == "lava":
            from snncompile.targets.loihi.run import run_lava

            if mode != "pipelined":
                raise error("CF201", "the lava backend runs the pipelined network", node="mode")
            lava = run_lava(self.program, [inputs], form=form or self.config.lava_mode)
            out = lava.outputs[name]
            return RunOutput(
                out[depth : depth + steps].mean(axis=0),
                out,
                spikes=dict(lava.spikes),
                latency_steps=steps + depth,
                seconds=lava.wall_s,
                extra={"processes": lava.processes, "process_count": lava.process_count},
            )
        window = None if record else steps  # only the steps that reach counted outputs
        result = self.simulator(mode).run([inputs], record=record, stats=stats, window=window)
        out = result.outputs[name]
        return RunOutput(
            out[depth : depth + steps].mean(axis=0),
            out,
            spikes=result.spikes,
            stats=result.stats,
            latency_steps=steps + depth,
            seconds=result.seconds,
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
            ``allow_host_ops``, ``weight_bits``, ``arch``, ...).
    """
    if target not in TARGETS:
        raise error("CF201", f"target must be one of {', '.join(TARGETS)}", node="target")
    known = {f.name for f in fields(CompileConfig)}
    unknown = sorted(set(config) - known)
    if unknown:
        raise error(
            "CF201",
            f"unknown option(s) {', '.join(unknown)}; CompileConfig has {', '.join(sorted(known))}",
            node="compile",
        )
    cfg = CompileConfig(**{**config, "time_steps": time_steps or config.get("time_steps")})
    compiled = compile_config(model, cfg, example_input=example_input, input_shape=input_shape)
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
        sim_backend=user.sim_backend,
        device=user.device,
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
    loaded = load_configured(model, config)
    if input_shape is None and example_input is not None:
        example = example_input.detach() if hasattr(example_input, "detach") else example_input
        shape = tuple(np.asarray(example).shape)
        input_shape = shape[1:] if len(shape) > 1 else shape
    if input_shape is not None:
        loaded = replace(loaded, input_shape=tuple(input_shape))
    graph = to_graph(loaded, torch.float64)
    return Compiled(loaded, graph, config)
