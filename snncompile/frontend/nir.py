"""NIR import: a NIR graph (``nir.read``) to the tensor IR (one time step).

NIR neurons are continuous-time ODEs, so a discretisation must be chosen. A graph written by the
``nir`` target records it (``snncompile.dt``, forward Euler, reset mode; docs/nir.md) and comes
back exactly. For other graphs the caller names the tool's convention
(:mod:`snncompile.frontend.nir_conventions`: ``snntorch``, ``norse``, ``sinabs``, ``rockpool``,
``lava-dl``) and/or gives ``dt`` and ``reset``; a graph whose neurons record nothing and for
which neither is given is refused (IX809), since the same file means different networks under
different choices.

Every neuron becomes one ``lif`` step ``H = V - (V - v_reset)·k + X`` (``decay_input`` off) with
the per-step leak ``k`` and the input ``X = g · I`` of the convention (a ``scale`` or
``mul_const`` for ``g != 1``): forward Euler ``k = dt/tau``, ``g = k·r``; exponential
``k = 1 - e^(-dt/tau)``, ``g = r``. ``IF`` has no leak (``tau = inf``). ``CubaLIF`` is read when
its synaptic current has no memory (``tau_syn = dt`` under forward Euler, current updated
first): the current is then ``w_in · I``. A strict comparison (``v > θ``, NIR's ``Threshold``)
becomes ``>=`` with the next float above ``θ`` in the graph's dtype, which is the same test.

Fan-in (several edges into one node) is a sum. Node types read: Input, Output, Conv2d, Affine,
Linear, Scale, Flatten, AvgPool2d, SumPool2d, LIF, IF, CubaLIF and the ``snncompile`` extension
subgraphs the ``nir`` target writes with ``--nir-extensions``; anything else (LI, I, Threshold,
Delay, Conv1d) is IX808. A cycle through a neuron is a recurrent edge: the edge leaving the
neuron reads its spikes of the previous step (a ``recurrent`` node,
:mod:`snncompile.frontend.nir_recurrent`); a cycle through no neuron is IX810. Structural
faults (edges to missing nodes, shapes that do not fit, a node without input) are IX810.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nir
import numpy as np

from snncompile.diagnostics import SnnCompileError, error
from snncompile.frontend.nir_checks import check_neuron, declared_bytes
from snncompile.frontend.nir_conventions import (
    CONVENTIONS,
    GENERIC,
    INPUT_GAINS,
    Convention,
    rockpool_dt,
)
from snncompile.frontend.nir_recurrent import RecurrentReads, cut_edges, delayed_spikes
from snncompile.ir.attrs import NoAttrs
from snncompile.ir.graph import Graph, GraphBuilder, Value
from snncompile.ir.ops.base import ShapeError
from snncompile.ir.ops.tensor import (
    ConstAttrs,
    Conv2dAttrs,
    LifAttrs,
    LinearAttrs,
    Pool2dAttrs,
    ReshapeAttrs,
    ScaleAttrs,
)
from snncompile.ir.parser import parse_graph
from snncompile.ir.types import DTYPES, TensorType
from snncompile.limits import require_memory

__all__ = ["EXTENSION_OP", "NirAssumption", "import_nir", "read_nir"]

RESETS = ("value", "subtract")
SPIKES = ("single", "multi")
#: The most elements one value of an imported graph may have (a file declaring more is refused
#: with IX815 before anything is allocated).
MAX_ELEMENTS = 1 << 28
#: Relative tolerance for "this float32 parameter means exactly 1" (a few float32 ulps).
_F32_TOL = 8 * float(np.finfo(np.float32).eps)
#: Graph metadata keys that may name the writing tool and its version.
WRITER_KEYS = ("snncompile.writer", "writer", "tool", "framework", "source", "generator")
VERSION_KEYS = ("snncompile.version", "version", "tool_version", "writer_version")
#: Metadata key of an extension subgraph: the snncompile op it stands for.
EXTENSION_OP = "snncompile.op"
#: Metadata key of an extension subgraph: the op as a one-node text IR graph.
EXTENSION_IR = "snncompile.ir"
_NEURONS = (nir.LIF, nir.IF, nir.CubaLIF, nir.LI, nir.I, nir.CubaLI)
_SUPPORTED = (
    "Input, Output, Conv2d, Affine, Linear, Scale, Flatten, AvgPool2d, SumPool2d, LIF, IF, CubaLIF"
)


class NirAssumption(UserWarning):
    """A non-strict NIR import assumed something the file cannot say (IX812).

    ``error`` is the :class:`SnnCompileError` that a strict import would have raised in its
    place, rendered as the warning text.
    """

    def __init__(self, error: SnnCompileError) -> None:
        super().__init__(error.render().replace("error[", "warning[", 1))
        self.error = error


def read_nir(
    path: str | Path,
    *,
    dt: float | None = None,
    reset: str | None = None,
    convention: str | None = None,
    spikes: str | None = None,
    input_gain: str | None = None,
    strict: bool = True,
    time_steps: int = 1,
) -> Graph:
    """Read a NIR file (IX808 if it is not one) and import it (see :func:`import_nir`).

    The file is read without NIR's own type check (which refuses some tools' files, e.g.
    norse's 0-d parameters); the import checks every shape itself (IX810). Before importing,
    the memory its declared shapes need over ``time_steps`` steps is checked (IN604,
    :func:`snncompile.frontend.nir_checks.declared_bytes`).
    """
    try:
        graph = nir.read(str(path), type_check=False)
    except Exception as exc:  # h5py and nir raise many kinds for a bad file
        raise error("IX808", f"cannot read {path} as NIR: {exc}", node=str(path)) from exc
    if not isinstance(graph, nir.NIRGraph):
        raise error(
            "IX808", f"{path} holds a {type(graph).__name__}, not a NIRGraph", node=str(path)
        )
    require_memory(
        declared_bytes(graph, time_steps),
        f"{Path(path).name} (its declared shapes over {time_steps} steps)",
        node=str(path),
    )
    return import_nir(
        graph,
        dt=dt,
        reset=reset,
        convention=convention,
        spikes=spikes,
        input_gain=input_gain,
        strict=strict,
        name=Path(path).stem,
    )


@dataclass(frozen=True)
class _Options:
    """What decides the discretisation: the caller's choices and the graph's metadata."""

    dt: float | None
    reset: str | None
    convention: Convention | None
    graph: Mapping[str, Any]
    dtype: str
    spikes: str | None = None
    input_gain: str | None = None
    strict: bool = True
    writer: str | None = None
    warned: set[str] = field(default_factory=set)


def _writer(metadata: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The convention a file's metadata names as its writer, and the writer's version.

    Our own files say ``snncompile.writer = "snncompile X.Y"``; other keys that tools may use
    (``writer``, ``tool``, ...) are read when their value starts with a convention's name.
    """
    version = next((_text(metadata[k]) for k in VERSION_KEYS if k in metadata), None)
    for key in WRITER_KEYS:
        if key not in metadata:
            continue
        text = _text(metadata[key]).strip().lower()
        for name in CONVENTIONS:
            if text == name or text.startswith((f"{name} ", f"{name}/", f"{name}=")):
                rest = text[len(name) :].strip(" /=")
                return name, version or rest or None
    return None, version


def import_nir(
    graph: nir.NIRGraph,
    *,
    dt: float | None = None,
    reset: str | None = None,
    convention: str | None = None,
    spikes: str | None = None,
    input_gain: str | None = None,
    strict: bool = True,
    name: str = "nir",
) -> Graph:
    """The tensor IR of ``graph``.

    ``convention`` names the tool whose discretisation the file follows (else the writer the
    file's metadata names, if any); ``dt``, ``reset``, ``spikes`` (``single``: at most one spike
    per step, no membrane floor) and ``input_gain`` override or complete what the file or the
    convention says. What neither says is refused (IX811) when ``strict``; otherwise the
    convention's documented assumption is used with a :class:`NirAssumption` warning (IX812).
    """
    if reset is not None and reset not in RESETS:
        raise error("CF201", f"reset must be one of {RESETS}, got {reset!r}", node="reset")
    if spikes is not None and spikes not in SPIKES:
        raise error("CF201", f"spikes must be one of {SPIKES}, got {spikes!r}", node="spikes")
    if input_gain is not None and input_gain not in INPUT_GAINS:
        raise error(
            "CF201",
            f"input_gain must be one of {INPUT_GAINS}, got {input_gain!r}",
            node="input_gain",
        )
    if convention is not None and convention not in CONVENTIONS:
        raise error(
            "CF201",
            f"convention must be one of {', '.join(CONVENTIONS)}, got {convention!r}",
            node="convention",
        )
    if dt is not None and not dt > 0:
        raise error("CF201", f"dt must be > 0, got {dt}", node="dt")
    if not isinstance(graph, nir.NIRGraph) or not isinstance(graph.nodes, Mapping):
        raise error("IX810", "the file holds no graph of nodes", node=name)
    metadata = dict(graph.metadata or {})
    writer, _ = _writer(metadata)
    if convention is None and writer is not None and writer != "snncompile":
        convention = writer
    builder = GraphBuilder(_graph_name(metadata.get("snncompile.graph", name)))
    dtype = _text(metadata.get("snncompile.dtype", "f32"))
    if dtype not in DTYPES:
        raise error("IX810", f"the graph's dtype {dtype!r} is not one of {list(DTYPES)}", node=name)
    options = _Options(
        dt,
        reset,
        CONVENTIONS[convention] if convention else None,
        metadata,
        dtype,
        spikes,
        input_gain,
        strict,
        writer,
    )
    preds = _predecessors(graph)
    order, cut = _order(graph, preds)
    delays = RecurrentReads(builder, graph, dtype) if cut else None
    inputs = [n for n in order if isinstance(graph.nodes[n], nir.Input)]
    outputs = [n for n in order if isinstance(graph.nodes[n], nir.Output)]
    if len(inputs) != 1 or len(outputs) != 1:
        raise error(
            "IX810",
            f"the graph has {len(inputs)} Input and {len(outputs)} Output nodes; one of each "
            "is needed",
            node=builder.graph.name,
        )
    env: dict[str, Value] = {}
    for node_name in order:
        node = graph.nodes[node_name]
        if isinstance(node, nir.Input):
            shape = _input_shape(graph, node_name, preds)
            env[node_name] = builder.input("x", TensorType(shape, dtype))
            continue
        if not preds[node_name]:
            raise error("IX810", f"node {node_name} has no input edge", node=node_name)
        try:
            if _is_extension(node):
                env[node_name] = _extension(builder, node_name, node, preds[node_name], env)
                continue
            sources = sorted(preds[node_name], key=lambda p: (p[0], node_name) in cut)
            if isinstance(node, nir.Delay):
                on_cycle = any((src, node_name) in cut for src, _ in sources)
                reads = [env[src] for src, _ in sources if (src, node_name) not in cut]
                dt = options.dt or _float_or_none(metadata.get("snncompile.dt"))
                env[node_name] = delayed_spikes(builder, node_name, node, reads, on_cycle, dt)
                continue
            x = _fan_in(
                builder, node_name, [_read(env, delays, cut, s, node_name) for s, _ in sources]
            )
            if isinstance(node, nir.Output):
                want = _shape(node.output_type["output"], node_name)
                if want and int(np.prod(want)) != int(np.prod(x.type.shape)):
                    raise ShapeError(f"Output expects shape {want}, the graph gives {x.type.shape}")
                env[node_name] = x
                continue
            env[node_name] = _translate(builder, node_name, node, x, options)
            _check_size(node_name, env[node_name].type.shape)
        except ShapeError as exc:
            raise error("IX810", f"node {node_name}: {exc}", node=node_name) from exc
        except SnnCompileError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
            raise error("IX810", f"node {node_name}: {exc}", node=node_name) from exc
    if delays is not None:
        delays.connect(env)
    return builder.finish([env[outputs[0]]])


def _graph_name(value: Any) -> str:
    text = "".join(c if c.isalnum() or c == "_" else "_" for c in _text(value))
    return text if text and not text[0].isdigit() else f"nir_{text}"


def _shape(array: Any, where: str = "graph") -> tuple[int, ...]:
    """A shape from a file (IX815 for negative, non-integer or huge dimensions)."""
    try:
        values = np.asarray(array).ravel()
        dims = tuple(int(d) for d in values)
    except (TypeError, ValueError, OverflowError) as exc:
        raise error(
            "IX815", f"{where} has a shape that is not integers: {array!r}", node=where
        ) from exc
    if any(float(v) != d for v, d in zip(values.astype(np.float64), dims, strict=True)):
        raise error(
            "IX815", f"{where} has a non-integer dimension in {values.tolist()}", node=where
        )
    _check_size(where, dims)
    return dims


def _check_size(where: str, shape: tuple[int, ...]) -> None:
    """IX815 unless every dimension is positive and the value fits :data:`MAX_ELEMENTS`
    (checked before anything of that shape is allocated)."""
    if any(d <= 0 for d in shape):
        raise error("IX815", f"{where} has a dimension <= 0 in shape {shape}", node=where)
    elements = 1
    for d in shape:
        elements *= d  # Python ints: no overflow
    if elements > MAX_ELEMENTS:
        raise error(
            "IX815",
            f"{where} has shape {shape}: {elements} elements (~{elements * 8 / 2**30:.3g} GiB "
            f"per step in float64), more than the import's limit of {MAX_ELEMENTS}",
            node=where,
        )


def _input_shape(
    graph: nir.NIRGraph, name: str, preds: Mapping[str, list[tuple[str, str]]]
) -> tuple[int, ...]:
    """The Input's shape without a batch axis some tools keep (norse, rockpool write
    ``[1, N]`` before an ``Affine`` and ``[1, C, H, W]`` before a ``Conv2d``; NIR tensors have
    none)."""
    node = graph.nodes[name]
    shape = _shape(node.input_type["input"], name)
    readers = [graph.nodes[d] for d, sources in preds.items() if any(s == name for s, _ in sources)]
    if len(shape) < 2 or shape[0] != 1 or not readers:
        return shape

    def batched(reader: nir.NIRNode) -> bool:
        if isinstance(reader, (nir.Affine, nir.Linear)):
            return len(shape) == 2 and np.asarray(reader.weight).ndim == 2
        if isinstance(reader, nir.Conv2d):
            return len(shape) == 4
        return False

    return shape[1:] if all(batched(r) for r in readers) else shape


def _read(
    env: Mapping[str, Value],
    delays: RecurrentReads | None,
    cut: set[tuple[str, str]],
    src: str,
    dst: str,
) -> Value:
    """The value edge ``src -> dst`` carries: a recurrent read for a cut edge."""
    if (src, dst) in cut:
        assert delays is not None
        return delays.read(src)
    return env[src]


def _fan_in(b: GraphBuilder, name: str, values: list[Value]) -> Value:
    x = values[0]
    for other in values[1:]:  # fan-in is a sum
        x = b.add_node("add", [x, other], NoAttrs(), name=f"{name}_in")
    return x


def _is_extension(node: nir.NIRNode) -> bool:
    return isinstance(node, nir.NIRGraph) and EXTENSION_IR in (node.metadata or {})


def _predecessors(graph: nir.NIRGraph) -> dict[str, list[tuple[str, str]]]:
    """``node -> [(source, port)]`` in edge order; ``port`` is the part after a dot (the input
    of an extension subgraph) or empty. IX810 for an edge that names a missing node."""
    preds: dict[str, list[tuple[str, str]]] = {n: [] for n in graph.nodes}
    for src, dst in graph.edges:
        head, port = str(dst), ""
        if head not in graph.nodes and "." in head:  # NODE.PORT (names may hold dots too)
            head, _, port = head.rpartition(".")
        for end in (str(src), head):
            if end not in graph.nodes:
                raise error("IX810", f"edge {src} -> {dst} names a missing node {end}", node=end)
        if port and not _is_extension(graph.nodes[head]):
            raise error(
                "IX808",
                f"edge {src} -> {dst} enters a subgraph; nested NIR graphs are not supported",
                node=head,
            )
        preds[head].append((str(src), port))
    return preds


def _order(
    graph: nir.NIRGraph, preds: Mapping[str, list[tuple[str, str]]]
) -> tuple[list[str], set[tuple[str, str]]]:
    """Node names with every node after its predecessors, and the recurrent edges cut to get
    there (:func:`~snncompile.frontend.nir_recurrent.cut_edges`; IX810 for a loop without a
    neuron)."""
    readers: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for dst, sources in preds.items():
        for src, _ in sources:
            readers[src].append(dst)
    cut = cut_edges(list(graph.nodes), readers, lambda n: isinstance(graph.nodes[n], _NEURONS))
    indegree = {n: sum((src, n) not in cut for src, _ in p) for n, p in preds.items()}
    ready = [n for n in graph.nodes if indegree[n] == 0]
    order: list[str] = []
    while ready:
        current = ready.pop(0)
        order.append(current)
        for dst in readers[current]:
            if (current, dst) in cut:
                continue
            indegree[dst] -= 1
            if indegree[dst] == 0:
                ready.append(dst)
    if len(order) != len(graph.nodes):
        done = set(order)
        stuck = sorted(n for n in graph.nodes if n not in done)
        raise error(
            "IX810",
            f"a cycle through {', '.join(stuck[:5])} holds no neuron: an algebraic loop "
            "with no state, which no simulator can evaluate",
            node=stuck[0],
        )
    return order, cut


def _extension(
    b: GraphBuilder,
    name: str,
    node: nir.NIRGraph,
    sources: list[tuple[str, str]],
    env: Mapping[str, Value],
) -> Value:
    """An ``snncompile`` extension subgraph: the op in its metadata, inputs by port."""
    meta = node.metadata
    text = meta[EXTENSION_IR]
    text = text.decode() if isinstance(text, bytes) else str(text)
    inner = parse_graph(text)
    (op_node,) = inner.nodes
    ports = {f"in{i}": i for i in range(len(inner.inputs))}
    operands: list[Value | None] = [None] * len(inner.inputs)
    for src, port in sources:
        if port not in ports or operands[ports[port]] is not None:
            raise ShapeError(
                f"extension input {port or '(no port)'} from {src} is not one of "
                f"{', '.join(ports)} or is given twice"
            )
        operands[ports[port]] = env[src]
    missing = [p for p, i in ports.items() if operands[i] is None]
    if missing:
        raise ShapeError(f"extension input(s) {', '.join(missing)} have no edge")
    values = [operands[inner.inputs.index(v)] for v in op_node.inputs]
    return b.add_node(op_node.op, [v for v in values if v is not None], op_node.attrs, name=name)


def _params(name: str, field: str, array: Any, shape: tuple[int, ...]) -> np.ndarray:
    """``array`` as float64 broadcast to the neuron ``shape`` (IX810 when it does not fit)."""
    values = np.asarray(array, dtype=np.float64)
    if values.size == 1:
        return np.full(shape, float(values.ravel()[0]))
    try:
        return np.broadcast_to(values.reshape(values.shape), shape).astype(np.float64)
    except ValueError:
        if values.size == int(np.prod(shape)):
            return values.reshape(shape)
        raise ShapeError(
            f"{field} of neuron {name} has shape {values.shape}, the neurons {shape}"
        ) from None


def _uniform(name: str, field: str, values: np.ndarray) -> float:
    if values.size == 0 or not np.all(values == values.ravel()[0]):
        raise error(
            "IX808",
            f"{field} of neuron {name} varies across neurons; the lif op takes one value",
            node=name,
        )
    return float(values.ravel()[0])


def _constant(values: np.ndarray) -> float | np.ndarray:
    """A scalar when every entry is the same, else the array."""
    return float(values.ravel()[0]) if np.all(values == values.ravel()[0]) else values


def _discretisation(name: str, node: nir.NIRNode, options: _Options) -> Convention:
    """The convention for ``node``: the file's record, the caller's choices, or IX809."""
    meta = {**options.graph, **(node.metadata or {})}
    recorded = meta.get("snncompile.dt") is not None and meta.get("snncompile.reset")
    if options.convention is not None:
        base = options.convention
    elif recorded:
        base = CONVENTIONS["snncompile"]
    elif options.dt is not None and options.reset is not None:
        base = GENERIC
    else:
        raise error(
            "IX809",
            f"neuron {name} ({type(node).__name__}) records no discretisation (dt={options.dt}, "
            f"reset={options.reset}); the same NIR file means different networks for different "
            "choices: name the tool that wrote it (--nir-convention "
            f"{'|'.join(CONVENTIONS)}) or give --nir-dt and --nir-reset",
            node=name,
        )
    if recorded and options.convention is None:
        base = base.with_options(float(meta["snncompile.dt"]), _text(meta["snncompile.reset"]))
    chosen = base.with_options(options.dt, options.reset, options.spikes, options.input_gain)
    if chosen.reset is not None and chosen.reset not in RESETS:
        raise error("IX809", f"neuron {name} has unknown reset {chosen.reset!r}", node=name)
    if chosen.spikes == "multi":
        raise error(
            "IX813",
            f"neuron {name} ({type(node).__name__}) emits several spikes per step under "
            f"--nir-spikes multi ({chosen.name}: floor(v / threshold) spikes, threshold "
            "subtracted per spike); the lif op emits at most one",
            node=name,
        )
    return chosen


_OPEN = {
    "dt": (
        "--nir-dt",
        "the time step (norse's to_nir(dt=...) writes tau = dt / tau_mem_inv and records no dt)",
    ),
    "reset": (
        "--nir-reset value|subtract",
        "the reset mechanism (snntorch writes v_reset = 0 for both reset_mechanism='zero' "
        "(value) and 'subtract')",
    ),
    "spikes": (
        "--nir-spikes single",
        "whether a neuron emits at most one spike per step and keeps no membrane floor "
        "(sinabs SingleSpike without min_v_mem, rockpool max_spikes_per_dt=1); the tool's "
        "default multi-spike neurons have no IR form",
    ),
    "input_gain": (
        "--nir-input-gain r|leak",
        "whether a LIF adds its input unscaled (r: sinabs norm_input=False, how sinabs' "
        "from_nir reads it) or scaled by its per-step leak (leak: norm_input=True, the "
        "layer's default)",
    ),
}


def _resolve(
    name: str,
    node: nir.NIRNode,
    conv: Convention,
    options: _Options,
    tau: float | None,
    r: np.ndarray,
) -> Convention:
    """``conv`` with what the file cannot say filled in: rockpool's ``dt`` from ``r``, else
    the caller's options; IX811 when a field stays open under ``strict``, otherwise the
    convention's documented assumption with an IX812 warning (once per field)."""
    if conv.dt_from_r and tau is not None:
        dts = {rockpool_dt(tau, float(v)) for v in np.unique(r)}
        if None in dts or max(d or 0 for d in dts) > min(d or 0 for d in dts) * (1 + 1e-5):
            raise error(
                "IX811",
                f"neuron {name}: r = {np.unique(r)[:4].tolist()} with tau = {tau} records no "
                f"single time step as {conv.name} writes it (r = tau·exp(-dt/tau)/dt)",
                node=name,
            )
        found = float(np.float32(next(iter(dts))))
        if options.dt is not None and abs(options.dt - found) > 1e-4 * found:
            raise error(
                "IX811",
                f"neuron {name}: the file's r = {float(r.ravel()[0])} says dt = {found:.6g} "
                f"({conv.name} writes r = tau·exp(-dt/tau)/dt), --nir-dt says {options.dt}",
                node=name,
            )
        conv = conv.with_options(dt=options.dt or found)
    leaky = not isinstance(node, nir.IF)
    needs_dt = leaky or _if_needs_dt(conv)
    missing = [
        f
        for f, is_open in (
            ("dt", conv.dt is None and needs_dt),
            ("reset", conv.reset is None),
            ("spikes", conv.spikes is None),
            ("input_gain", conv.input_gain is None and leaky),
        )
        if is_open
    ]
    if not missing:
        return conv
    flags = "; ".join(f"{_OPEN[f][0]}: {_OPEN[f][1]}" for f in missing)
    problem = error(
        "IX811" if options.strict else "IX812",
        f"neuron {name} ({type(node).__name__}) under the {conv.name} convention: the file "
        f"cannot say {', '.join(missing)}. Give {flags}"
        + (
            ""
            if options.strict
            else f". Assumed {', '.join(f'{k} = {v}' for k, v in conv.assumed if k in missing)}"
        ),
        node=name,
    )
    if options.strict:
        raise problem
    assumed = dict(conv.assumed)
    fresh = [f for f in missing if f not in options.warned]
    if fresh:
        options.warned.update(fresh)
        warnings.warn(NirAssumption(problem), stacklevel=4)
    values = {f: assumed.get(f) for f in missing}
    return conv.with_options(
        dt=_float_or_none(values.get("dt")),
        reset=_str_or_none(values.get("reset")),
        spikes=_str_or_none(values.get("spikes")),
        input_gain=_str_or_none(values.get("input_gain")),
    )


def _if_needs_dt(conv: Convention) -> bool:
    return not (conv.input_gain in ("unit", "r") or conv.if_unit_gain)


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _threshold(values: np.ndarray, strict: bool, dtype: str) -> np.ndarray:
    """Thresholds for a ``>=`` test that equals ``>`` (strict) in the graph's dtype."""
    if not strict:
        return values
    kind = np.dtype(DTYPES[dtype])
    return np.nextafter(values.astype(kind), np.array(np.inf, dtype=kind)).astype(np.float64)


def _neuron(b: GraphBuilder, name: str, node: nir.NIRNode, x: Value, options: _Options) -> Value:
    """LIF, IF and memoryless CubaLIF as a gain then one ``lif`` step."""
    conv = _discretisation(name, node, options)
    meta = {**options.graph, **(node.metadata or {})}
    shape = x.type.shape
    if isinstance(node, nir.LIF) and "snncompile.tau" in meta and options.convention is None:
        return _own_lif(b, name, node, x, meta, conv)  # our own export: exact
    p = {
        f: _params(name, f, getattr(node, f), shape)
        for f in ("r", "v_threshold", "v_reset")
        if getattr(node, f, None) is not None
    }
    r = p.get("r", np.ones(shape))
    v_reset = _uniform(name, "v_reset", p["v_reset"]) if "v_reset" in p else 0.0
    gain: np.ndarray
    if isinstance(node, nir.IF):
        conv = _resolve(name, node, conv, options, None, r)
        tau, leak, v_leak = float("inf"), 0.0, v_reset
        leaks = np.zeros(shape)
        gain = np.vectorize(conv.if_gain, otypes=[np.float64])(r)
    else:
        tau_field = "tau_mem" if isinstance(node, nir.CubaLIF) else "tau"
        taus = _params(name, tau_field, getattr(node, tau_field), shape)
        if conv.dynamics == "snntorch":  # per-neuron beta: decay_map
            tau_nir = float(taus.ravel()[0])
        else:
            tau_nir = _uniform(name, tau_field, taus)
        conv = _resolve(name, node, conv, options, tau_nir, r)
        v_leak = _uniform(name, "v_leak", _params(name, "v_leak", node.v_leak, shape))
        leaks = np.vectorize(conv.leak, otypes=[np.float64])(taus)
        if not np.all((leaks > 0.0) & (leaks <= 1.0)):
            bad = float(leaks[~((leaks > 0.0) & (leaks <= 1.0))].ravel()[0])
            raise error(
                "IX808",
                f"neuron {name}: tau = {tau_nir} with dt = {conv.dt} gives a per-step leak of "
                f"{bad}, outside (0, 1]; check --nir-dt / --nir-convention",
                node=name,
            )
        leak = float(leaks.max())
        tau = 1.0 / leak
        gain = np.vectorize(conv.lif_gain, otypes=[np.float64])(taus, r)
    if v_leak != v_reset and conv.reset == "value" and leak > 0:
        raise error(
            "IX808",
            f"neuron {name} leaks to {v_leak} but resets to {v_reset}; the lif op needs both equal",
            node=name,
        )
    if (v_leak != 0.0 and conv.reset == "subtract" and leak > 0) or (
        conv.dynamics == "snntorch" and (v_leak != 0.0 or v_reset != 0.0)
    ):
        raise error(
            "IX808",
            f"neuron {name} leaks to {v_leak} and resets to {v_reset}; a "
            f"{'soft reset' if conv.reset == 'subtract' else conv.name + ' neuron'} needs 0",
            node=name,
        )
    if isinstance(node, nir.CubaLIF):
        gain = gain * _memoryless_current(name, node, conv, shape)
    factor = _constant(gain)
    if isinstance(factor, float):
        if abs(factor - 1.0) > _F32_TOL:
            x = b.add_node("scale", [x], ScaleAttrs(factor=factor), name=f"{name}_r")
    else:
        x = b.add_node("mul_const", [x], ConstAttrs(factor), name=f"{name}_r")
    if conv.dynamics == "snntorch":
        return b.add_node(
            "lif", [x], _snntorch_attrs(conv, leaks, p["v_threshold"], options), name=name
        )
    thresholds = _threshold(p["v_threshold"], conv.strict, options.dtype)
    uniform = np.all(thresholds == thresholds.ravel()[0])
    attrs = LifAttrs(
        tau=tau,
        v_threshold=float(thresholds.ravel()[0]),
        v_reset=None if conv.reset == "subtract" else v_reset,
        decay_input=False,
        decay=leak if leak > 0.0 else None,
        v_threshold_map=None if uniform else thresholds,
    )
    return b.add_node("lif", [x], attrs, name=name)


def _snntorch_attrs(
    conv: Convention, leaks: np.ndarray, thresholds: np.ndarray, options: _Options
) -> LifAttrs:
    """snntorch's ``Leaky`` update (exact): ``beta = 1 - dt/tau`` rounded to the graph's dtype
    (snntorch's export wrote ``tau = dt / (1 - beta)`` from a float32 ``beta``), firing on
    ``mem > threshold``, the reset mechanism the caller named (``value`` is snntorch's
    ``zero``), applied one step later as snntorch does (``reset_delay``)."""
    kind = np.dtype(DTYPES[options.dtype])
    betas = (1.0 - leaks).astype(kind).astype(np.float64)
    beta = float(betas.max())
    same = bool(np.all(betas == beta))
    uniform = bool(np.all(thresholds == thresholds.ravel()[0]))
    return LifAttrs(
        tau=1.0 / (1.0 - beta) if beta < 1.0 else float("inf"),
        v_threshold=float(thresholds.ravel()[0]) if uniform else float(thresholds.max()),
        v_reset=0.0,
        decay_input=False,
        decay=beta,
        decay_map=None if same else betas,
        v_threshold_map=None if uniform else thresholds,
        dynamics="snntorch",
        reset_mechanism="zero" if conv.reset == "value" else "subtract",
        reset_delay=True,
    )


def _memoryless_current(
    name: str, node: nir.CubaLIF, conv: Convention, shape: tuple[int, ...]
) -> np.ndarray:
    """``w_in`` when the synaptic current of ``node`` forgets everything each step (IX808
    otherwise: the tensor IR has no current state). "Everything" is within a few float32 ulps:
    snntorch's ``Synaptic(alpha=0)`` writes ``tau_syn = dt / (1 - 0)`` through float32."""
    tau_syn = _params(name, "tau_syn", node.tau_syn, shape)
    w_in = _params(name, "w_in", node.w_in, shape)
    decays = np.vectorize(conv.leak)(tau_syn)
    if not np.all(np.isclose(decays, 1.0, rtol=0, atol=_F32_TOL)) or not conv.current_first:
        order = "current first" if conv.current_first else "voltage from the previous current"
        raise error(
            "IX808",
            f"CubaLIF {name}: the synaptic current keeps {float(np.max(1 - decays)):.3g} of "
            f"itself per step (tau_syn = {float(np.max(tau_syn))}, dt = {conv.dt}, {order}); "
            "the tensor IR has no current state, only a current that decays fully each step "
            "(tau_syn = dt, updated before the voltage) is supported",
            node=name,
        )
    return w_in


def _own_lif(
    b: GraphBuilder,
    name: str,
    node: nir.LIF,
    x: Value,
    meta: Mapping[str, Any],
    conv: Convention,
) -> Value:
    """A LIF the ``nir`` target wrote: its metadata holds the exact ``lif`` attributes."""
    shape = x.type.shape
    thresholds = _params(name, "v_threshold", node.v_threshold, shape)
    v_reset = _uniform(name, "v_reset", _params(name, "v_reset", node.v_reset, shape))
    decay = float(meta["snncompile.decay"])
    uniform = np.all(thresholds == thresholds.ravel()[0])
    attrs = LifAttrs(
        tau=float(meta["snncompile.tau"]),
        v_threshold=float(meta.get("snncompile.v_threshold", thresholds.ravel()[0])),
        v_reset=None if conv.reset == "subtract" else v_reset,
        decay_input=bool(meta["snncompile.decay_input"]),
        decay=None if decay < 0 else decay,
        v_threshold_map=None if uniform else thresholds,
    )
    return b.add_node("lif", [x], attrs, name=name)


def _pads(padding: Any) -> tuple[int, int]:
    if isinstance(padding, (str, bytes)):
        raise ShapeError(f"padding {_text(padding)!r} is not supported; give numbers")
    values = np.broadcast_to(np.asarray(padding, dtype=np.int64).ravel(), (2,))
    return int(values[0]), int(values[1])


def _pair(value: Any) -> tuple[int, int]:
    values = np.broadcast_to(np.asarray(value, dtype=np.int64).ravel(), (2,))
    return int(values[0]), int(values[1])


def _array(value: Any) -> np.ndarray:
    return np.asarray(value.detach().numpy() if hasattr(value, "detach") else value)


def _translate(b: GraphBuilder, name: str, node: nir.NIRNode, x: Value, options: _Options) -> Value:
    if node is None:
        raise error(
            "IX808",
            f"NIR node {name} is empty (None): the writing tool exported no node for this layer "
            "(e.g. norse 1.1's to_nir has no form for torch.nn.Flatten)",
            node=name,
        )
    if isinstance(node, (nir.LIF, nir.IF, nir.CubaLIF)):
        check_neuron(name, node)
        return _neuron(b, name, node, x, options)
    if isinstance(node, nir.Conv2d):
        conv = Conv2dAttrs(
            weight=_array(node.weight),
            bias=_array(node.bias),
            stride=_pair(node.stride),
            padding=_pads(node.padding),
            dilation=_pair(node.dilation),
            groups=int(node.groups),
        )
        return b.add_node("conv2d", [x], conv, name=name)
    if isinstance(node, nir.Affine):
        linear = LinearAttrs(weight=_array(node.weight), bias=_array(node.bias))
        return b.add_node("linear", [x], linear, name=name)
    if isinstance(node, nir.Linear):
        return b.add_node("linear", [x], LinearAttrs(_array(node.weight), None), name=name)
    if isinstance(node, nir.Scale):
        scale = _array(node.scale)
        if (node.metadata or {}).get("snncompile.op") in ("add", b"add") and np.all(scale == 1):
            return x
        if scale.size and np.all(scale == scale.ravel()[0]):
            return b.add_node("scale", [x], ScaleAttrs(float(scale.ravel()[0])), name=name)
        return b.add_node("mul_const", [x], ConstAttrs(scale), name=name)
    if isinstance(node, nir.Flatten):
        shape = x.type.shape
        start = int(node.start_dim) % len(shape)
        end = int(node.end_dim) % len(shape)
        merged = int(np.prod(shape[start : end + 1]))
        new_shape = (*shape[:start], merged, *shape[end + 1 :])
        return b.add_node("reshape", [x], ReshapeAttrs(new_shape), name=name)
    if isinstance(node, (nir.AvgPool2d, nir.SumPool2d)):
        kernel = _pair(node.kernel_size)
        pool = Pool2dAttrs(kernel, _pair(node.stride), _pads(node.padding))
        y = b.add_node("avgpool2d", [x], pool, name=name)
        if isinstance(node, nir.SumPool2d):
            y = b.add_node(
                "scale", [y], ScaleAttrs(float(kernel[0] * kernel[1])), name=f"{name}_sum"
            )
        return y
    raise error(
        "IX808",
        f"NIR node {name} of type {type(node).__name__} has no tensor IR form (supported: "
        f"{_SUPPORTED} and snncompile extension subgraphs)",
        node=name,
    )
