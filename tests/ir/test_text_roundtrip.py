"""The text IR round-trips: print -> parse -> print is identical (property tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings

from snncompile.ir.graph import Graph
from snncompile.ir.parser import parse_graph
from snncompile.ir.printer import print_graph
from snncompile.ir.verify import verify
from tests.ir.strategies import network_graphs, tensor_graphs

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(tensor_graphs())
def test_tensor_graph_print_parse_print_is_identical(graph: Graph) -> None:
    verify(graph)
    text = print_graph(graph)
    parsed = parse_graph(text)
    verify(parsed)
    assert print_graph(parsed) == text


@SETTINGS
@given(network_graphs())
def test_network_graph_print_parse_print_is_identical(graph: Graph) -> None:
    verify(graph)
    text = print_graph(graph)
    parsed = parse_graph(text)
    verify(parsed)
    assert print_graph(parsed) == text


@settings(max_examples=60, deadline=None)
@given(tensor_graphs())
def test_parsed_graph_has_equal_attributes_and_types(graph: Graph) -> None:
    parsed = parse_graph(print_graph(graph))
    assert [v.type for v in parsed.values()] == [v.type for v in graph.values()]
    for original, copy in zip(graph.nodes, parsed.nodes, strict=True):
        assert original.op == copy.op
        assert original.attrs.same_as(copy.attrs)
        assert original.loc == copy.loc


def test_shared_array_is_printed_once_and_stays_shared() -> None:
    from snncompile.ir.graph import GraphBuilder
    from snncompile.ir.ops.tensor import LinearAttrs
    from snncompile.ir.types import TensorType

    weight = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = GraphBuilder("shared")
    x = b.input("x", TensorType((3,)))
    y1 = b.add_node("linear", [x], LinearAttrs(weight=weight, bias=None), name="a")
    y2 = b.add_node("linear", [x], LinearAttrs(weight=b.graph.nodes[0].attrs.weight, bias=None))
    text = print_graph(b.finish([y1, y2]))
    assert text.count("array<f32, [2, 3]>") == 1
    parsed = parse_graph(text)
    assert parsed.nodes[0].attrs.weight is parsed.nodes[1].attrs.weight
    np.testing.assert_array_equal(parsed.nodes[0].attrs.weight, weight)


GOLDEN = (Path(__file__).parent / "golden" / "conv_lif.snnir").read_text()


def test_golden_text_parses_and_prints_back_unchanged() -> None:
    graph = parse_graph(GOLDEN)
    verify(graph)
    assert print_graph(graph) == GOLDEN
    weight = graph.node("conv").attrs.weight
    np.testing.assert_array_equal(weight.ravel(), np.arange(1, 19, dtype=np.float32))
    assert graph.node("conv").loc.module == "stem.conv"


def test_elided_print_is_readable_but_not_parseable() -> None:
    from snncompile.diagnostics import SnnCompileError

    graph = parse_graph(GOLDEN)
    elided = print_graph(graph, elide_arrays=True)
    assert "elided sha256:" in elided and "min=1.0 max=18.0" in elided
    try:
        parse_graph(elided)
    except SnnCompileError as exc:
        assert exc.code == "IR108"
        assert "%conv" in exc.message
    else:
        raise AssertionError("parsing elided arrays must fail")
