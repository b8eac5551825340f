"""The verifier accepts valid graphs and names the node of every violation."""

from __future__ import annotations

import numpy as np
import pytest

from snncompile.diagnostics import SnnCompileError
from snncompile.ir.graph import Graph, GraphBuilder, Node, Value
from snncompile.ir.ops.network import PopulationAttrs, ProjectionAttrs
from snncompile.ir.ops.tensor import ScaleAttrs
from snncompile.ir.types import TensorType
from snncompile.ir.verify import SPECS, verify


def test_valid_graph_passes(conv_lif_graph: Graph) -> None:
    verify(conv_lif_graph)


def test_stage_specs_split_the_op_sets() -> None:
    assert "conv2d" in SPECS["tensor"].allowed_ops
    assert "conv2d" in SPECS["network"].allowed_ops  # a host op in a network graph
    assert {"population", "projection", "current_sum"} <= SPECS["network"].allowed_ops
    assert "population" not in SPECS["tensor"].allowed_ops


def test_copy_is_independent_and_shares_arrays(conv_lif_graph: Graph) -> None:
    copy = conv_lif_graph.copy()
    verify(copy)
    copy.nodes.pop()
    assert len(conv_lif_graph.nodes) == 3
    assert copy.nodes[0].attrs.weight is conv_lif_graph.nodes[0].attrs.weight
    assert not copy.nodes[0].attrs.weight.flags.writeable


def test_declared_type_must_match_inferred(conv_lif_graph: Graph) -> None:
    node = conv_lif_graph.node("lif")
    node.outputs[0].type = TensorType((4, 6, 5), "f64")
    with pytest.raises(SnnCompileError) as info:
        verify(conv_lif_graph)
    assert info.value.code == "IR106"
    assert "%lif (lif)" in str(info.value)


def test_node_order_must_be_topological(conv_lif_graph: Graph) -> None:
    conv_lif_graph.nodes.reverse()
    with pytest.raises(SnnCompileError) as info:
        verify(conv_lif_graph)
    assert info.value.code == "IR104"
    assert "%out" in info.value.message


def test_network_graph_population_must_be_fed_by_projections() -> None:
    b = GraphBuilder("net", stage="network")
    x = b.input("x", TensorType((3,)))
    y = b.add_node("projection", [x], ProjectionAttrs(kind="dense", weight=np.ones((2, 3))))
    ok = b.add_node("population", [y], PopulationAttrs(kind="lif", vth=1), name="ok")
    z = b.add_node("scale", [ok], ScaleAttrs(factor=2.0), name="host")  # a host op is fine
    bad = b.add_node("population", [z], PopulationAttrs(kind="lif", vth=1), name="bad")
    with pytest.raises(SnnCompileError) as info:
        verify(b.finish([bad]))
    assert info.value.code == "NW902"
    assert "%bad (population)" in str(info.value)


def test_network_graph_projection_cannot_read_a_current() -> None:
    b = GraphBuilder("net", stage="network")
    x = b.input("x", TensorType((3,)))
    y = b.add_node("projection", [x], ProjectionAttrs(kind="sum"))
    z = b.add_node("projection", [y], ProjectionAttrs(kind="sum"), name="mac")
    with pytest.raises(SnnCompileError) as info:
        verify(b.finish([z]))
    assert info.value.code == "NW902"
    assert "%mac (projection)" in str(info.value)


def test_attrs_of_the_wrong_class_are_rejected(conv_lif_graph: Graph) -> None:
    conv_lif_graph.node("lif").attrs = ScaleAttrs(factor=1.0)
    with pytest.raises(SnnCompileError) as info:
        verify(conv_lif_graph)
    assert info.value.code == "IR103"


def test_value_objects_must_be_unique() -> None:
    v = Value("x", TensorType((2,)))
    graph = Graph("dup", inputs=[v])
    node = Node("scale", [v], ScaleAttrs(factor=1.0), [Value("x", TensorType((2,)))])
    graph.nodes.append(node)
    graph.outputs = [node.output]
    with pytest.raises(SnnCompileError) as info:
        verify(graph)
    assert info.value.code == "IR105"


def test_scalar_arrays_stay_scalar() -> None:
    from snncompile.ir.graph import freeze_array

    frozen = freeze_array(np.asarray(1.5))
    assert frozen.shape == () and not frozen.flags.writeable
