"""The pass manager runs an ordered list, times each pass, verifies after each and dumps IR."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

from snncompile.diagnostics import SnnCompileError
from snncompile.ir.graph import Graph, GraphBuilder, Node
from snncompile.ir.interpret import run_layerwise
from snncompile.ir.ops.tensor import ScaleAttrs
from snncompile.ir.printer import print_graph
from snncompile.ir.types import TensorType
from snncompile.passes.dead_code import DeadCode
from snncompile.passes.manager import PassContext, PassManager
from snncompile.passes.rewrite import Rewriter, apply_patterns


@dataclass(frozen=True)
class _Record:
    """Appends its label to ctx.reports['order'] and returns the graph unchanged."""

    label: str
    name: ClassVar[str] = "record"
    requires: ClassVar[frozenset[str]] = frozenset()
    ensures: ClassVar[frozenset[str]] = frozenset({"recorded"})

    def run(self, graph: Graph, ctx: PassContext) -> Graph:
        ctx.reports.setdefault("order", []).append(self.label)
        return graph.copy()


@dataclass(frozen=True)
class _NeedsRecorded:
    name: ClassVar[str] = "needs-recorded"
    requires: ClassVar[frozenset[str]] = frozenset({"recorded"})
    ensures: ClassVar[frozenset[str]] = frozenset()

    def run(self, graph: Graph, ctx: PassContext) -> Graph:
        return graph


def test_runs_passes_in_the_given_order_with_timing(conv_lif_graph: Graph) -> None:
    ctx = PassContext()
    passes = [_Record("a"), _Record("b"), _NeedsRecorded(), _Record("c")]
    result = PassManager(passes).run(conv_lif_graph, ctx)
    assert ctx.reports["order"] == ["a", "b", "c"]
    assert [t.name for t in result.timings] == ["record", "record", "needs-recorded", "record"]
    assert all(t.seconds >= 0 for t in result.timings)
    assert result.timings[0].to_dict()["nodes_before"] == 3
    assert "recorded" in ctx.properties


def test_input_graph_is_not_modified(conv_lif_graph: Graph) -> None:
    before = print_graph(conv_lif_graph)
    graph = conv_lif_graph.copy()
    graph.outputs = [graph.node("lif").output]  # makes %out dead
    PassManager([DeadCode()]).run(graph)
    assert len(graph.nodes) == 3
    assert print_graph(conv_lif_graph) == before


def test_dead_code_removes_what_no_output_needs(conv_lif_graph: Graph) -> None:
    graph = conv_lif_graph.copy()
    graph.outputs = [graph.node("lif").output]
    ctx = PassContext()
    result = PassManager([DeadCode()]).run(graph, ctx).graph
    assert [n.name for n in result.nodes] == ["conv", "lif"]
    assert ctx.reports["dead-code"]["removed_nodes"] == 1
    x = np.random.default_rng(0).normal(size=(4, 2, 1, 6, 6))
    np.testing.assert_array_equal(
        run_layerwise(graph, [x])["lif"], run_layerwise(result, [x])["lif"]
    )


def test_dump_ir_after_selected_passes(conv_lif_graph: Graph) -> None:
    dumps: list[tuple[str, str]] = []
    manager = PassManager(
        [_Record("a"), DeadCode()],
        dump_ir_after=["dead-code"],
        dump=lambda name, text: dumps.append((name, text)),
    )
    manager.run(conv_lif_graph)
    assert [name for name, _ in dumps] == ["dead-code"]
    assert dumps[0][1].startswith("graph @conv_lif stage=tensor {")


def test_dump_all(conv_lif_graph: Graph) -> None:
    dumps: list[str] = []
    PassManager(
        [_Record("a"), DeadCode()], dump_ir_after=["all"], dump=lambda n, t: dumps.append(n)
    ).run(conv_lif_graph)
    assert dumps == ["record", "dead-code"]


def test_failing_pass_is_named(conv_lif_graph: Graph) -> None:
    @dataclass(frozen=True)
    class Corrupt:
        name: ClassVar[str] = "corrupt-outputs"
        requires: ClassVar[frozenset[str]] = frozenset()
        ensures: ClassVar[frozenset[str]] = frozenset()

        def run(self, graph: Graph, ctx: PassContext) -> Graph:
            result = graph.copy()
            result.nodes.reverse()
            return result

    with pytest.raises(SnnCompileError) as info:
        PassManager([_Record("a"), Corrupt(), _Record("b")]).run(conv_lif_graph)
    assert info.value.code == "PM301"
    assert "pass corrupt-outputs" in info.value.message


# --- the rewrite driver -----------------------------------------------------------------------


class _MergeScales:
    """scale(scale(x, a), b) -> scale(x, a * b)."""

    name = "merge-scales"

    def apply(self, node: Node, rewriter: Rewriter) -> None:
        if node.op != "scale":
            return
        inner = node.inputs[0].producer
        if inner is None or inner.op != "scale":
            return
        merged = rewriter.insert_before(
            node,
            "scale",
            inner.inputs,
            ScaleAttrs(factor=inner.attrs.factor * node.attrs.factor),
            name=node.name,
        )
        rewriter.replace_uses(node.output, merged)


def _scale_chain(factors: list[float]) -> Graph:
    b = GraphBuilder("chain")
    value = b.input("x", TensorType((3,), "f64"))
    for i, factor in enumerate(factors):
        value = b.add_node("scale", [value], ScaleAttrs(factor=factor), name=f"s{i}")
    return b.finish([value])


def test_rewrite_driver_reaches_a_fixed_point() -> None:
    graph = _scale_chain([2.0, 3.0, 0.5, 4.0])
    result = apply_patterns(graph, [_MergeScales()], pass_name="test")
    assert [n.op for n in result.nodes] == ["scale"]
    assert result.nodes[0].attrs.factor == 12.0
    assert len(graph.nodes) == 4  # the input graph is untouched
    x = np.arange(6, dtype=float).reshape(2, 1, 3)
    out = run_layerwise(result, [x])[result.outputs[0].name]
    np.testing.assert_array_equal(out, x * 12.0)


def test_rewrite_driver_without_matches_changes_nothing(conv_lif_graph: Graph) -> None:
    result = apply_patterns(conv_lif_graph, [_MergeScales()], pass_name="test")
    assert print_graph(result) == print_graph(conv_lif_graph)


def test_rewrite_driver_caps_iterations() -> None:
    class Flip:
        name = "flip"

        def apply(self, node: Node, rewriter: Rewriter) -> None:
            if node.op == "scale":
                new = rewriter.insert_before(
                    node, "scale", node.inputs, ScaleAttrs(factor=-node.attrs.factor)
                )
                rewriter.replace_uses(node.output, new)

    with pytest.raises(SnnCompileError) as info:
        apply_patterns(_scale_chain([1.0]), [Flip()], pass_name="flipper", max_rewrites=5)
    assert info.value.code == "PM302"
    assert "pass flipper" in info.value.message and "pattern flip" in info.value.message
