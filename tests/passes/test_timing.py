"""The shared pipeline schedule (passes/timing.py) of balance-delays and pipeline-delays."""

from __future__ import annotations

from snncompile.ir.graph import Node
from snncompile.passes.timing import schedule
from tests.passes.test_balance_delays import residual_graph


def test_schedule_of_a_residual_by_hand() -> None:
    """A hop on every input a ``lif_fixed`` produced: pop0 at 0, pop1 at 1, and the fan-in
    waits for its longer branch (w2 ready at 2), so the skip branch w3 (ready at 1) is
    balanced by one step; pop2 is aligned at 2, the depth."""
    graph = residual_graph()

    def latency(node: Node, i: int) -> int:
        producer = node.inputs[i].producer
        return int(producer is not None and producer.op == "lif_fixed")

    timing = schedule(graph, latency)
    by_op = {n.name: n for n in graph.nodes}
    aligned = {name: timing.aligned[name] for name in ("pop0", "pop1", "fan_in", "pop2")}
    assert aligned == {"pop0": 0, "pop1": 1, "fan_in": 2, "pop2": 2}
    fan_in = by_op["fan_in"]
    assert [timing.ready(fan_in, i) for i in range(2)] == [2, 1]
    assert [timing.balance(fan_in, i) for i in range(2)] == [0, 1]
    assert timing.depth == 2 and timing.arrive[graph.outputs[0]] == 2
    # no latency at all: everything arrives at once, nothing to balance
    flat = schedule(graph, lambda node, i: 0)
    assert set(flat.aligned.values()) == {0} and flat.depth == 0


def test_uncounted_inputs_and_fixed_nodes() -> None:
    """An input whose latency is None does not count in ``aligned`` (a recurrent projection);
    a node ``fixed`` names is aligned to the given step (a recurrent edge, with its source)."""
    graph = residual_graph()

    def skip_skip(node: Node, i: int) -> int | None:
        if node.name == "fan_in" and i == 1:
            return None
        producer = node.inputs[i].producer
        return int(producer is not None and producer.op == "lif_fixed")

    timing = schedule(graph, skip_skip)
    fan_in = next(n for n in graph.nodes if n.name == "fan_in")
    assert timing.aligned["fan_in"] == 2 and timing.ready(fan_in, 1) is None
    fixed = schedule(graph, skip_skip, lambda node: 5 if node.name == "pop1" else None)
    assert fixed.aligned["pop1"] == 5 and fixed.aligned["pop2"] == 6 and fixed.depth == 6
