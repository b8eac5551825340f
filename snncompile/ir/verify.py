"""The IR verifier: structural checks plus one spec per stage (ARCHITECTURE convention 3).

:func:`verify` checks, in order: the stage is known; every value is defined once and before its
use; every op is registered and allowed at the graph's stage; attributes are the op's attrs
class with valid fields; operand counts; the declared result types equal what the op's type
rule infers (shape and dtype; spike domains and fixed-point formats are checked by the specs
that need them); the outputs are defined; then the stage's predicates. The first problem raises
a :class:`SnnCompileError` naming the node.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from snncompile.diagnostics import SnnCompileError, error
from snncompile.ir.attrs import AttrTypeError, OpAttrs
from snncompile.ir.graph import Graph, Node, Value
from snncompile.ir.ops import OPS, ShapeError, get_op
from snncompile.ir.ops.recurrent import recurrent_problems

__all__ = ["SPECS", "StageSpec", "verify"]

#: A stage predicate returns the errors it finds in a graph (empty when the graph is fine).
Predicate = Callable[[Graph], Iterable[SnnCompileError]]


@dataclass(frozen=True)
class StageSpec:
    """What a graph at one stage may contain.

    Attributes:
        name: the stage name (a graph's ``stage``).
        allowed_ops: the ops that may appear.
        predicates: further checks (e.g. spike-driven compliance), run after the structure.
    """

    name: str
    allowed_ops: frozenset[str]
    predicates: tuple[Predicate, ...] = ()


def _ops_for(stage: str) -> frozenset[str]:
    return frozenset(name for name, op in OPS.items() if stage in op.stages)


def _network_wiring(graph: Graph) -> Iterable[SnnCompileError]:
    """Populations and current probes take projection currents; projections read spikes or host
    values, never currents (a current feeding a synapse would be a MAC)."""
    currents = {"projection"}
    for node in graph.nodes:
        producers = [v.producer.op if v.producer else "input" for v in node.inputs]
        if node.op in ("population", "current_sum") and any(p not in currents for p in producers):
            yield error(
                "NW902",
                f"{node.describe()} takes {', '.join(producers)}; its inputs must be projections",
                node=node.describe(),
            )
        if node.op == "projection" and producers[0] in currents:
            yield error(
                "NW902",
                f"{node.describe()} reads the current of another projection",
                node=node.describe(),
            )


def _recurrent_edges(graph: Graph) -> Iterable[SnnCompileError]:
    """A recurrent node reads a spiking neuron of its own shape (IX817)."""
    for problem in recurrent_problems(graph):
        yield error("IX817", problem)


#: One spec per IR stage. A network-stage graph may hold tensor ops: they are host ops (the
#: encoder, the readout, and what --allow-host-ops left on the host).
SPECS: dict[str, StageSpec] = {
    "tensor": StageSpec("tensor", _ops_for("tensor"), predicates=(_recurrent_edges,)),
    "network": StageSpec(
        "network",
        _ops_for("network") | _ops_for("tensor"),
        predicates=(_recurrent_edges, _network_wiring),
    ),
}


def verify(graph: Graph, spec: StageSpec | None = None) -> None:
    """Raise the first structural or spec violation in ``graph``; return None if it is valid.

    ``spec`` defaults to the spec of the graph's stage.
    """
    if spec is None:
        if graph.stage not in SPECS:
            raise error("IR111", f"graph @{graph.name} has unknown stage {graph.stage!r}")
        spec = SPECS[graph.stage]
    defined: set[Value] = set()
    names: set[str] = set()

    def define(value: Value, where: str) -> None:
        if value.name in names or value in defined:
            raise error("IR105", f"%{value.name} is defined twice ({where})", node=where)
        names.add(value.name)
        defined.add(value)

    for value in graph.inputs:
        define(value, f"%{value.name}")
    for node in graph.nodes:
        _verify_node(node, spec, defined)
        for value in node.outputs:
            if value.producer is not node:
                raise error("IR105", f"%{value.name} claims another producer", node=node.describe())
            define(value, node.describe())
    for value in graph.outputs:
        if value not in defined:
            raise error("IR109", f"graph output %{value.name} is not defined in @{graph.name}")
    for predicate in spec.predicates:
        for problem in predicate(graph):
            raise problem


def _verify_node(node: Node, spec: StageSpec, defined: set[Value]) -> None:
    where = node.describe()
    source = node.loc.module if node.loc else None
    op = get_op(node.op, node=where)
    if node.op not in spec.allowed_ops:
        raise error(
            "IR107",
            f"{node.op} is not allowed in a {spec.name}-stage graph",
            node=where,
        )
    for value in node.inputs:
        if value not in defined:
            raise error("IR104", f"{where} uses %{value.name} before it is defined", node=where)
    if not isinstance(node.attrs, op.attrs):
        raise error(
            "IR103",
            f"{node.op} needs attributes of type {op.attrs.__name__}, "
            f"got {type(node.attrs).__name__}",
            node=where,
        )
    _recheck_attrs(node.attrs, where)
    problem = op.check_arity(len(node.inputs))
    if problem is not None:
        raise error("IR110", problem, node=where, source=source)
    try:
        inferred = op.infer([v.type for v in node.inputs], node.attrs)
    except ShapeError as exc:
        raise error("IR106", str(exc), node=where, source=source) from exc
    if len(inferred) != len(node.outputs):
        raise error(
            "IR110",
            f"{node.op} produces {len(inferred)} result(s), the node declares {len(node.outputs)}",
            node=where,
        )
    for value, expected in zip(node.outputs, inferred, strict=True):
        if value.type.shape != expected.shape or value.type.dtype != expected.dtype:
            raise error(
                "IR106",
                f"%{value.name} is declared {value.type} but {node.op} gives "
                f"shape {expected.shape} and dtype {expected.dtype}",
                node=where,
                source=source,
            )


def _recheck_attrs(attrs: OpAttrs, where: str) -> None:
    """Re-run field normalisation: catches attrs mutated or built around the constructor."""
    try:
        type(attrs).__post_init__(attrs)
    except AttrTypeError as exc:
        raise error("IR103", str(exc), node=where) from exc
