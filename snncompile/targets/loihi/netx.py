"""Export network programs to lava-dl's netx HDF5 format, and run netx files in Lava.

netx (``lava.lib.dl.netx.hdf5.Network``) builds strictly sequential chains: an ``input`` layer,
then ``dense``/``conv`` layers (``flatten`` between conv and dense), each a synapse plus CUBA
LIF neurons. :func:`export_netx` writes a network graph that is such a chain and refuses
anything else with LV505 naming the first construct netx cannot express (a dense layer whose
population also has one recurrent dense projection from its own spikes is written as netx's
``dense_rec``, ``weight`` and ``weight_rec`` quantized together by netx):

- one graph input and one output, the last population; host ops only before the chip (they
  compute the input, which the caller feeds);
- the first population is fed either by an identity graded projection of a host value (netx
  ``input`` layer *with* a neuron: the value is the current into ``in_layer.neuron.a_in``; the
  population must have no bias), or by a binary dense/conv projection of the graph input
  (``input`` layer *without* neuron: spikes into ``net.inp``);
- every later population (kind ``lif``, one threshold) is fed by one binary dense (over a 1-D
  source, or ``reshape(N)`` of a ``[C, H, W]`` one: a ``flatten`` layer) or conv projection of
  the previous one, with no ``post`` view, ``delay <= 1`` and a ``weight_exp`` folded exactly
  into the weights (``w << e``; ``w >> -e`` only where ``2^-e`` divides every weight); netx
  adds a layer's bias to ``v`` as ``bias << 6``, so the population bias plus a
  projection bias (allowed only when ``du = 4095``, where ``u`` carries no memory) must be a
  multiple of 64, one value per channel for conv.

Neurons: ``iDecay = du + 1``, ``vDecay = dv``, ``vThMant = vth``, ``refDelay = 1``. Weights are
float32 integers; netx's ``optimize_weight_bits`` keeps integer dense weights exact within
``[-256, 254]`` (mixed sign) or ``|w| <= 255``.

Timing (:func:`run_netx`): each netx synapse hop costs one Lava step, like the pipelined
network's projections, and a source wired to the input neurons costs none. Fed with the
pipelined graph's input-projection output (or its input spikes), netx layer ``k`` at Lava step
``t`` equals population ``k`` of ``run_layerwise(pipelined)`` at step ``t - 1``. The pipelined
network gates population ``k`` until its ``start`` (``k + 1``); netx emulates this with
``Network(reset_interval=R, reset_offset=1)``, which zeroes layer ``k`` at Lava step ``k + 2``
(needed only when a population has a bias: it would integrate before its data arrives).

:class:`NetxTarget` is ``snncompile MODEL --target netx -o FILE.net``: the ``loihi`` pipeline
(quantize, ``lower-to-network``, ``pipeline-delays``), then :func:`export_netx` of the pipelined
network, or LV505 for a model netx cannot express (attention, residuals, branches).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from snncompile.config import CompileConfig
from snncompile.diagnostics import error
from snncompile.fileio import atomic_file
from snncompile.ir.graph import Graph, Node, Value
from snncompile.ir.ops.network import PopulationAttrs, ProjectionAttrs
from snncompile.ir.views import parse_view
from snncompile.passes.manager import Pass, PassContext
from snncompile.targets.base import Emitted
from snncompile.targets.loihi.arch import require_loihi2
from snncompile.targets.sim.program import network_passes

__all__ = ["NetxLayer", "NetxTarget", "export_netx", "netx_layers", "run_netx"]

#: Root attributes :func:`export_netx` writes (netx ignores them).
ATTR_INPUT = "snncompile.input"  # "current" or "spikes"
ATTR_GATED = "snncompile.gated"  # True: run with reset_interval/reset_offset=1


@dataclass(frozen=True)
class NetxLayer:
    """One netx layer: its type, channel-first shape, and datasets/neuron fields to write."""

    type: str
    shape: tuple[int, ...]
    data: dict[str, np.ndarray]
    neuron: dict[str, int] | None = None
    source: str = ""


def _refuse(node: Node | Value | str, why: str) -> Exception:
    if isinstance(node, Node):
        subject = f"%{node.output.name} ({node.op})"
    elif isinstance(node, Value):
        subject = f"%{node.name}"
    else:
        subject = node
    return error("LV505", f"{subject}: {why}; netx cannot express it", node=subject)


def _neuron(node: Node) -> dict[str, int]:
    a = node.attrs
    assert isinstance(a, PopulationAttrs)
    if a.kind != "lif":
        raise _refuse(node, f"a {a.kind!r} population (netx has CUBA LIF neurons only)")
    if a.vth_map is not None:
        raise _refuse(node, "a per-neuron threshold (vth_map)")
    if a.reset != "zero":
        raise _refuse(node, f"reset {a.reset!r} (netx's CUBA LIF resets to zero)")
    du, dv = a.chip_model.neuron.decays(a.du, a.dv)
    return {"iDecay": du + 1, "vDecay": dv, "vThMant": a.vth, "refDelay": 1}


def _population_bias(node: Node) -> np.ndarray:
    a = node.attrs
    assert isinstance(a, PopulationAttrs)
    shape = node.output.type.shape
    if a.bias_mant is None:
        return np.zeros(shape, np.int64)
    mant = np.broadcast_to(a.bias_mant.astype(np.int64), shape)
    bias = mant << a.bias_exp if a.bias_exp >= 0 else mant >> -a.bias_exp
    return np.asarray(bias, dtype=np.int64)


def _layer_bias(population: Node, projection: Node) -> np.ndarray | None:
    """The netx layer bias (``v`` gets ``bias << 6``), per neuron (dense) or channel (conv)."""
    p = projection.attrs
    assert isinstance(p, ProjectionAttrs)
    shape = population.output.type.shape
    total = _population_bias(population)
    if p.bias is not None and np.any(p.bias != 0):
        du = population.attrs.du
        if not (du is None or du == population.attrs.chip_model.neuron.no_current_memory):
            raise _refuse(
                projection,
                f"a synaptic bias into a population with current decay du={du} (netx adds "
                "biases to v, equal only when du=4095)",
            )
        bias = p.bias.astype(np.int64)
        bias = bias.reshape(-1, 1, 1) if p.kind == "conv" and bias.ndim == 1 else bias
        total = total + (np.broadcast_to(bias, shape) << 6)
    if not np.any(total):
        return None
    if np.any(total % 64):
        raise _refuse(population, "a bias that is not a multiple of 64 in v units (netx: b << 6)")
    scaled = total // 64
    if len(shape) == 3:
        per_channel = scaled[:, :1, :1]
        if np.any(scaled != per_channel):
            raise _refuse(population, "a conv bias that varies within a channel")
        return per_channel.reshape(-1).astype(np.float32)
    if len(shape) != 1:
        raise _refuse(population, f"a population of shape {shape} (netx: [N] or [C, H, W])")
    return scaled.astype(np.float32)


def _weights(projection: Node) -> np.ndarray:
    p = projection.attrs
    assert isinstance(p, ProjectionAttrs) and p.weight is not None
    weight = p.weight.astype(np.int64)
    if p.weight_exp < 0:
        if np.any(weight % (1 << -p.weight_exp)):
            raise _refuse(
                projection,
                f"weight_exp {p.weight_exp} < 0 with weights it does not divide exactly (netx "
                "picks its own exponent)",
            )
        weight = weight >> -p.weight_exp
    else:
        weight = weight << p.weight_exp
    if p.kind == "dense":
        mixed = weight.min() < 0 < weight.max()
        low, high = (-256, 254) if mixed else (-255, 255)
        if weight.min() < low or weight.max() > high:
            raise _refuse(projection, f"dense weights outside [{low}, {high}]")
        if not np.any(weight):
            raise _refuse(projection, "an all-zero dense matrix (netx's weight optimizer fails)")
    return weight.astype(np.float32)


def _synapse_layer(projection: Node, source_shape: tuple[int, ...]) -> list[NetxLayer]:
    p = projection.attrs
    assert isinstance(p, ProjectionAttrs)
    if p.kind not in ("dense", "conv"):
        raise _refuse(projection, f"a {p.kind!r} projection (netx has dense and conv)")
    if p.graded:
        raise _refuse(projection, "graded input into a dense/conv layer")
    if p.post:
        raise _refuse(projection, f"an output view {p.post!r}")
    if p.delay > 1:
        raise _refuse(projection, f"a synaptic delay of {p.delay} steps")
    out: list[NetxLayer] = []
    out_shape = projection.output.type.shape
    if p.kind == "dense":
        flat = parse_view(p.pre)
        if p.pre and not (
            len(flat.steps) == 1
            and flat.steps[0].kind == "reshape"
            and flat.steps[0].args == (int(np.prod(source_shape)),)
        ):
            raise _refuse(projection, f"an input view {p.pre!r} (netx: flatten only)")
        if p.pre and len(source_shape) == 3:
            out.append(NetxLayer("flatten", (int(np.prod(source_shape)),), {}))
        elif len(source_shape) != 1 and not p.pre:
            raise _refuse(projection, f"a dense layer over a {source_shape} source")
        weight = _weights(projection)
        data = {"weight": weight}
        out.append(NetxLayer("dense", out_shape, data))
        return out
    if p.pre:
        raise _refuse(projection, f"an input view {p.pre!r} before a conv")
    data = {
        "weight": _weights(projection),
        "stride": np.asarray(p.stride, np.int64),
        "padding": np.asarray(p.padding, np.int64),
        "dilation": np.asarray(p.dilation, np.int64),
        "groups": np.asarray(p.groups, np.int64),
    }
    out.append(NetxLayer("conv", out_shape, data))
    return out


def _recurrent_projection(current: Value) -> bool:
    """Whether ``current`` is a recurrent projection's (it reads a ``recurrent`` node)."""
    producer = current.producer
    if producer is None or producer.op != "projection":
        return False
    source = producer.inputs[0].producer
    return source is not None and source.op == "recurrent"


def _recurrence(population: Node) -> Node | None:
    """The recurrent projection into ``population`` from its own spikes, if any (LV505 for
    another recurrence: netx's ``dense_rec`` reads the layer's own spikes only)."""
    found = [v.producer for v in population.inputs if _recurrent_projection(v)]
    if not found:
        return None
    (projection,) = found if len(found) == 1 else (None,)
    if projection is None:
        raise _refuse(population, "several recurrent projections (netx: one dense_rec)")
    edge = projection.inputs[0].producer
    assert edge is not None
    p = projection.attrs
    assert isinstance(p, ProjectionAttrs)
    if edge.attrs.source != population.output.name:
        raise _refuse(projection, "a recurrent projection from another population")
    if p.kind != "dense" or p.pre or p.post or p.graded or p.delay != 0:
        raise _refuse(projection, "a recurrent projection other than a plain dense one step back")
    return projection


def _dense_rec(layer: NetxLayer, projection: Node, recurrence: Node) -> NetxLayer:
    """The ``dense`` layer ``layer`` with ``recurrence`` as netx's ``dense_rec``: netx
    quantizes ``weight`` and ``weight_rec`` together, so their concatenation must fit the
    weights netx keeps exactly (as ``_weights`` checks for one matrix)."""
    if layer.type != "dense":
        raise _refuse(projection, "a recurrent conv layer (netx: dense_rec only)")
    weight, rec = layer.data["weight"], _weights(recurrence)
    both = np.hstack([weight, rec])
    if both.min() < 0 < both.max() and (both.min() < -256 or both.max() > 254):
        raise _refuse(recurrence, "dense and recurrent weights outside [-256, 254] together")
    return NetxLayer("dense_rec", layer.shape, {**layer.data, "weight_rec": rec})


def netx_layers(graph: Graph) -> tuple[list[NetxLayer], str, bool]:
    """The netx layers of a sequential network ``graph``.

    Returns:
        The layers, the input mode (``current``: into the input neurons; ``spikes``: into the
        first synapse) and whether a population has a bias (runs need the netx reset to
        emulate the pipeline's start gating).

    Raises:
        UnsupportedOpError LV505: the first construct netx cannot express.
    """
    if graph.stage != "network":
        raise _refuse(
            f"@{graph.name}", f"a {graph.stage}-stage graph (compile it to the network IR)"
        )
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise _refuse(f"@{graph.name}", "several graph inputs or outputs")
    users = graph.users()
    on_chip: set[Value] = set()
    populations: list[Node] = []
    for node in graph.nodes:
        reads_chip = any(v in on_chip for v in node.inputs)
        if node.op == "population":
            forward = [v for v in node.inputs if not _recurrent_projection(v)]
            if len(forward) != 1 or forward[0].producer is None:
                raise _refuse(node, "several input projections (netx layers have one)")
            populations.append(node)
            on_chip.add(node.output)
        elif node.op == "projection":
            if reads_chip:
                on_chip.add(node.output)
        elif node.op == "current_sum":
            raise _refuse(node, "a current probe")
        elif reads_chip:
            raise _refuse(node, "a host op after the chip")
    if not populations:
        raise _refuse(f"@{graph.name}", "no population")
    if graph.outputs[0] is not populations[-1].output:
        raise _refuse(graph.outputs[0], "a graph output that is not the last population")
    layers: list[NetxLayer] = []
    gated = False
    first = populations[0]
    recurrence = _recurrence(first)
    (entry_current,) = [v for v in first.inputs if not _recurrent_projection(v)]
    entry = entry_current.producer
    assert entry is not None and entry.op == "projection"
    e = entry.attrs
    assert isinstance(e, ProjectionAttrs)
    identity = (
        e.kind == "sum"
        and e.graded
        and not e.axes
        and e.gain == 1
        and not e.pre
        and not e.post
        and e.bias is None
        and e.weight_exp == 0
        and e.delay <= 1
    )
    if identity:
        if recurrence is not None:
            raise _refuse(first, "a recurrent input population (netx: dense_rec layers only)")
        mode = "current"
        if np.any(_population_bias(first)):
            raise _refuse(first, "a bias on the input population (netx never applies it)")
        layers.append(
            NetxLayer("input", first.output.type.shape, {}, _neuron(first), first.output.name)
        )
    elif entry.inputs[0] is graph.inputs[0] and e.kind in ("dense", "conv") and not e.graded:
        mode = "spikes"
        layers.append(NetxLayer("input", graph.inputs[0].type.shape, {}))
        synapse = _synapse_layer(entry, graph.inputs[0].type.shape)
        if recurrence is not None:
            synapse[-1] = _dense_rec(synapse[-1], entry, recurrence)
        bias = _layer_bias(first, entry)
        gated |= bias is not None
        last = synapse[-1]
        if bias is not None:
            last.data["bias"] = bias
        layers += synapse[:-1]
        layers.append(
            NetxLayer(last.type, last.shape, last.data, _neuron(first), first.output.name)
        )
    else:
        raise _refuse(entry, "an input that is neither an identity current nor binary spikes")
    for previous, population in itertools.pairwise(populations):
        if len(users[previous.output]) != 1:
            raise _refuse(previous, "a population read by several projections (a branch)")
        (current,) = [v for v in population.inputs if not _recurrent_projection(v)]
        projection = current.producer
        assert projection is not None
        if projection.op != "projection" or projection.inputs[0] is not previous.output:
            raise _refuse(population, "an input that is not the previous population")
        synapse = _synapse_layer(projection, previous.output.type.shape)
        recurrence = _recurrence(population)
        if recurrence is not None:
            synapse[-1] = _dense_rec(synapse[-1], projection, recurrence)
        bias = _layer_bias(population, projection)
        gated |= bias is not None
        last = synapse[-1]
        if bias is not None:
            last.data["bias"] = bias
        layers += synapse[:-1]
        layers.append(
            NetxLayer(last.type, last.shape, last.data, _neuron(population), population.output.name)
        )
    return layers, mode, gated


def export_netx(graph: Graph, path: str | Path) -> Path:
    """Write the sequential network ``graph`` (pipelined or layerwise) as a netx HDF5 file.

    Raises:
        UnsupportedOpError LV505: ``graph`` is not a chain netx can express.
    """
    import h5py

    layers, mode, gated = netx_layers(graph)
    path = Path(path)
    with atomic_file(path) as tmp, h5py.File(tmp, "w") as handle:
        handle.attrs[ATTR_INPUT] = mode
        handle.attrs[ATTR_GATED] = gated
        handle.attrs["snncompile.graph"] = graph.name
        group = handle.create_group("layer")
        for index, layer in enumerate(layers):
            entry = group.create_group(str(index))
            entry.create_dataset("type", data=np.array([layer.type.encode("ascii")], dtype="S10"))
            entry.create_dataset("shape", data=np.asarray(layer.shape, dtype=np.int64))
            for key, value in layer.data.items():
                entry.create_dataset(key, data=value)
            if layer.type in ("dense", "dense_rec"):
                entry.create_dataset("outFeatures", data=np.int64(layer.shape[0]))
            if layer.neuron is not None:
                neuron = entry.create_group("neuron")
                neuron.create_dataset("type", data=b"CUBA")
                for key, number in layer.neuron.items():
                    neuron.create_dataset(key, data=np.int64(number))
                neuron.create_dataset("gradedSpike", data=False)
            if layer.source:
                entry.attrs["snncompile.population"] = layer.source
    return path


@dataclass(frozen=True)
class NetxTarget:
    """Compile to the pipelined network IR and write it as a lava-dl netx HDF5 file (``-o``)."""

    name: str = "netx"
    limits: Mapping[str, int] = field(
        default_factory=lambda: MappingProxyType({"weight_bits": 8, "max_synaptic_delay": 1})
    )

    def pipeline(self, config: CompileConfig) -> list[Pass]:
        require_loihi2(config.chip, "netx")
        return network_passes(pipelined=True)

    def emit(
        self, graph: Graph, config: CompileConfig, ctx: PassContext, output: Path | None
    ) -> Emitted:
        if output is None:
            raise error(
                "CF201", "--target netx writes an HDF5 file: give -o FILE.net", node="output"
            )
        layers, mode, gated = netx_layers(graph)  # LV505 before anything is written
        export_netx(graph, output)
        kinds = ", ".join(layer.type for layer in layers)
        host = sum(node.op not in ("population", "projection") for node in graph.nodes)
        feed = (
            f"currents into the input neurons, computed by {host} host op(s) not in the file"
            if mode == "current"
            else "spikes into the first synapse"
        )
        summary = f"netx {len(layers)} layers ({kinds}); input: {feed}" + (
            "; gated (run with reset_offset=1)" if gated else ""
        )
        return Emitted(summary, files=(output,))


def _whc(array: np.ndarray) -> np.ndarray:
    """``[T, C, H, W]`` (or ``[T, N]``) -> Lava's ``[W, H, C, T]`` (``[N, T]``)."""
    moved = np.moveaxis(array, 0, -1)
    if moved.ndim == 4:
        return np.ascontiguousarray(np.transpose(moved, (2, 1, 0, 3)))
    return np.ascontiguousarray(moved)


def _chw(array: np.ndarray) -> np.ndarray:
    """Lava's ``[W, H, C, T]`` (``[N, T]``) -> ``[T, C, H, W]`` (``[T, N]``)."""
    if array.ndim == 4:
        array = np.transpose(array, (2, 1, 0, 3))
    return np.ascontiguousarray(np.moveaxis(array, -1, 0))


def run_netx(
    path: str | Path,
    inputs: np.ndarray,
    *,
    mode: str | None = None,
    gated: bool | None = None,
) -> list[np.ndarray]:
    """Run the netx file ``path`` in Lava (``Loihi2SimCfg(select_tag='fixed_pt')``).

    Args:
        inputs: ``[T, *shape]`` integers for one sample, channel-first: currents into the
            input neurons (``mode='current'``) or spikes into the first synapse (``'spikes'``).
        mode: default: the file's ``snncompile.input`` attribute, else ``current`` when the
            first layer is an input layer with a neuron.
        gated: reset layer ``k`` at Lava step ``k + 2`` (the pipeline's start gating); default:
            the file's ``snncompile.gated`` attribute, else False.

    Returns:
        The spikes of every generated netx layer, ``[T, *shape]`` channel-first; entry ``t``
        is Lava step ``t + 1``. The processes are stopped also when the run fails.
    """
    import h5py

    from snncompile.targets.loihi._lava import lava_module

    with h5py.File(path, "r") as handle:
        first = handle["layer"]["0"]
        has_neuron = first["type"][()].reshape(-1)[0] == b"input" and "neuron" in first
        mode = mode or str(handle.attrs.get(ATTR_INPUT, "current" if has_neuron else "spikes"))
        gated = bool(handle.attrs.get(ATTR_GATED, False)) if gated is None else gated
    hdf5 = lava_module("lava.lib.dl.netx.hdf5")
    source_mod = lava_module("lava.proc.io.source")
    sink_mod = lava_module("lava.proc.io.sink")
    conditions = lava_module("lava.magma.core.run_conditions")
    configs = lava_module("lava.magma.core.run_configs")
    steps = int(inputs.shape[0])
    kwargs: dict[str, Any] = {}
    if gated:
        kwargs = {"reset_interval": steps + 2, "reset_offset": 1}
    net = hdf5.Network(net_config=str(path), **kwargs)
    source = source_mod.RingBuffer(data=_whc(np.asarray(inputs)).astype(np.int32))
    if mode == "current":
        source.s_out.connect(net.in_layer.neuron.a_in)
    else:
        source.s_out.connect(net.inp)
    sinks = []
    for layer in net.layers:
        sink = sink_mod.RingBuffer(shape=layer.out.shape, buffer=steps)
        layer.out.connect(sink.a_in)
        sinks.append(sink)
    from snncompile.interrupt import end_children, handling_signals
    from snncompile.targets.loihi.errors import RUN_CODE, lava_error
    from snncompile.targets.loihi.run import child_tracebacks, force_stop

    try:
        with handling_signals():
            net.run(
                condition=conditions.RunSteps(num_steps=steps),
                run_cfg=configs.Loihi2SimCfg(select_tag="fixed_pt"),
            )
            spikes = [_chw(np.asarray(sink.data.get(), dtype=np.int64)) for sink in sinks]
    except KeyboardInterrupt:  # SIGINT/SIGTERM: end every Lava process, then stop
        end_children()
        with contextlib.suppress(Exception):
            force_stop(net)
        raise
    except BaseException as exc:  # Lava's stop() waits forever for a child that has died
        details = child_tracebacks(net)
        force_stop(net)
        detail = "\n".join(details) if details else f"{type(exc).__name__}: {exc}"
        raise lava_error(RUN_CODE, f"the netx run of {path} failed: {detail}") from exc
    net.stop()
    return spikes
