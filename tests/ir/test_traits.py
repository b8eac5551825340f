"""Op traits: every op declares its traits, spike-domain rule and count; tables derive from them."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from snncompile.diagnostics import SnnCompileError
from snncompile.ir import counts, domains
from snncompile.ir.attrs import NoAttrs
from snncompile.ir.dataflow import forward
from snncompile.ir.domains import REAL, Flow
from snncompile.ir.graph import GraphBuilder
from snncompile.ir.ops import OPS, OpDef, Trait, build_registry, has_trait, ops_with
from snncompile.ir.ops.tensor import LifAttrs, LinearAttrs
from snncompile.ir.types import TensorType
from snncompile.passes import analyze_spike_domain
from snncompile.passes.analyze_spike_domain import DOMAIN_RULES, STATS, analyze
from snncompile.passes.partition_host import NEURON_OPS
from snncompile.report.energy import flops_of

_BASE = OPS["mul"]


def _op(**changes: object) -> OpDef:
    """A throwaway op modelled on ``mul`` (a product of two activations)."""
    return dataclasses.replace(_BASE, **{"name": "bilinear", **changes})  # type: ignore[arg-type]


def test_op_without_a_domain_rule_is_refused_naming_it() -> None:
    with pytest.raises(SnnCompileError) as info:
        build_registry([OPS["add"]], [_op(domain=None)])
    assert info.value.code == "IR112" and "'bilinear'" in info.value.message


def test_op_without_a_count_is_refused_naming_it() -> None:
    with pytest.raises(SnnCompileError) as info:
        build_registry([_op(count=None)])
    assert info.value.code == "IR113" and "'bilinear'" in info.value.message


def test_op_that_counts_but_is_neither_weighted_nor_a_product_is_refused() -> None:
    # the compliance check looks at weighted ops and products: this op would slip past it
    with pytest.raises(SnnCompileError) as info:
        build_registry([_op(traits=frozenset({Trait.LINEAR}))])
    assert info.value.code == "IR114" and "'bilinear'" in info.value.message
    with pytest.raises(SnnCompileError) as info:
        build_registry([_op(count=counts.no_synaptic_ops)])
    assert info.value.code == "IR114" and "counts no" in info.value.message


def test_complete_op_registers() -> None:
    table = build_registry([OPS["add"]], [_op()])
    assert set(table) == {"add", "bilinear"}


def test_every_registered_op_declares_rule_and_count() -> None:
    for op in OPS.values():
        assert op.domain is not None and op.count is not None, op.name
    assert set(DOMAIN_RULES) == set(OPS)


def test_tables_are_derived_from_the_traits() -> None:
    assert NEURON_OPS == {"lif", "lif_fixed", "population"} == ops_with(Trait.NEURON)
    assert ops_with(Trait.WEIGHTED) == {"conv2d", "linear", "projection"}
    assert ops_with(Trait.PRODUCT) == {"matmul", "mul"}
    assert ops_with(Trait.LAYOUT) == {"reshape", "permute", "slice"}
    assert ops_with(Trait.MONOTONE) == {"maxpool2d"}
    assert has_trait("maxpool2d", Trait.MAXIMUM) and not has_trait("frobnicate", Trait.LAYOUT)
    # layout ops pass a factor through; the factor-carrying ops are not marked
    assert ops_with(Trait.LAYOUT) <= ops_with(Trait.LINEAR)
    assert not ops_with(Trait.LINEAR) & {"scale", "mul_const", "conv2d", "add", "batchnorm"}


def test_layout_ops_are_value_preserving() -> None:
    """A layout op's kernel only moves elements: the multiset of values is unchanged."""
    graph_values = np.arange(24.0).reshape(1, 2, 3, 4)
    from snncompile.ir.ops.tensor import PermuteAttrs, ReshapeAttrs, SliceAttrs

    examples = {
        "reshape": ReshapeAttrs(shape=(6, 4)),
        "permute": PermuteAttrs(perm=(2, 0, 1)),
        "slice": SliceAttrs(axis=1, start=0, stop=2, step=1),
    }
    assert set(examples) == ops_with(Trait.LAYOUT)
    for name, attrs in examples.items():
        (out,) = OPS[name].kernel(attrs, [graph_values], None)
        assert set(np.unique(out)) <= set(np.unique(graph_values))


def test_counts_are_the_declared_ones() -> None:
    b = GraphBuilder("g")
    x = b.input("x", TensorType((5, 3), "f64"))
    s = b.add_node("lif", [x], LifAttrs(), name="s")
    fc = b.add_node("linear", [s], LinearAttrs(weight=np.ones((7, 3)), bias=None), name="fc")
    m = b.add_node("mul", [s, s], NoAttrs(), name="m")
    b.finish([fc, m])
    assert flops_of(fc.producer) == 5 * 7 * 3  # type: ignore[arg-type]
    assert flops_of(m.producer) == 15  # type: ignore[arg-type]
    assert flops_of(s.producer) == 0  # type: ignore[arg-type]  # declared: no synaptic ops
    assert OPS["lif"].count is counts.no_synaptic_ops and OPS["mul"].domain is domains.mul_rule


def test_analysis_is_computed_once_per_graph(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analyze_spike_domain, "_CACHE", type(analyze_spike_domain._CACHE)())
    for key in STATS:
        monkeypatch.setitem(STATS, key, 0)
    b = GraphBuilder("g")
    x = b.input("x", TensorType((3,), "f64"))
    s = b.add_node("lif", [x], LifAttrs(), name="s")
    fc = b.add_node("linear", [s], LinearAttrs(weight=np.ones((3, 3)), bias=None), name="fc")
    graph = b.finish([fc])
    first = analyze(graph)
    assert analyze(graph) == first and analyze(graph.copy()) == first
    assert (STATS["computed"], STATS["reused"]) == (1, 2)
    # the caller may extend its copy without touching the remembered flows
    first["extra"] = first["s"]
    assert "extra" not in analyze(graph)
    # new attributes (real weights): analysed afresh, and the answer changes
    changed = graph.copy()
    node = changed.nodes[1]
    node.attrs = LinearAttrs(weight=np.full((3, 3), 0.5), bias=None)
    flows = analyze(changed)
    # updated from the first analysis: only the changed node's rule runs again
    assert (STATS["computed"], STATS["updated"], STATS["evaluated"]) == (1, 1, 3)
    assert str(flows["fc"].domain) != str(first["fc"].domain)
    assert flows == forward(changed, Flow(REAL), analyze_spike_domain._transfer)
    # with no earlier analysis to update from, it is computed afresh, with the same answer
    monkeypatch.setattr(analyze_spike_domain, "_CACHE", type(analyze_spike_domain._CACHE)())
    assert analyze(changed) == flows and STATS["computed"] == 2


def test_per_op_pass_tables_cover_the_traits() -> None:
    """Passes whose rules are per op (not per trait) must decide about every op with the
    trait: a new layout, weighted or neuron op fails here until its rule is written."""
    from snncompile.passes import lower_to_network, quantize

    assert set(lower_to_network._VIEW_OPS) == ops_with(Trait.LAYOUT)
    tensor_ops = {name for name, op in OPS.items() if "tensor" in op.stages}
    # the quantizer's rules, and the tensor ops it refuses on chip (IR115) on purpose:
    # constants in float units, and ops of an already quantized graph
    refused = {"add_const", "delay", "round", "shift", "lif_fixed"}
    assert tensor_ops - quantize.RULES == refused
    assert ops_with(Trait.WEIGHTED) & tensor_ops <= quantize.WEIGHTED
