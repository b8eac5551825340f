"""Spiking neurons as ONNX local functions in the ``snncompile`` domain.

A neuron is one node ``S, V_next = snncompile.LIF(X, V)`` whose body (standard ONNX ops) is one
step of the ``lif`` op, written with exactly the reference kernel's arithmetic so that
onnxruntime reproduces the simulator (docs/onnx.md). Parameters are node attributes:

- ``LIF`` / ``LIF_SoftReset`` / ``LIF_NoDecayInput`` / ...: the charge divides by ``tau``;
- ``ParametricLIF...``: the charge multiplies by ``decay`` (spikingjelly's ParametricLIF);
- ``v_threshold`` always; ``v_reset`` for the hard-reset variants only.

The export (:mod:`snncompile.targets.onnx`) and the import (:mod:`snncompile.frontend.onnx`)
share the names below.
"""

from __future__ import annotations

from dataclasses import dataclass

import onnx
from onnx import helper

__all__ = [
    "DOMAIN",
    "OPSET",
    "NeuronKind",
    "lif_function",
    "neuron_kind",
    "parse_function_name",
]

#: The custom ONNX domain of snncompile's neuron functions.
DOMAIN = "snncompile"
#: Standard ONNX opset the export targets (ReduceMean takes its axes as an input from 18 on).
OPSET = 18


@dataclass(frozen=True)
class NeuronKind:
    """Which variant of the ``lif`` step a function computes."""

    parametric: bool
    decay_input: bool
    soft_reset: bool

    @property
    def function_name(self) -> str:
        """``LIF``, ``ParametricLIF``, with ``_NoDecayInput`` / ``_SoftReset`` suffixes."""
        name = "ParametricLIF" if self.parametric else "LIF"
        if not self.decay_input:
            name += "_NoDecayInput"
        if self.soft_reset:
            name += "_SoftReset"
        return name

    @property
    def attributes(self) -> tuple[str, ...]:
        """The node attributes the function reads."""
        leak = "decay" if self.parametric else "tau"
        return (leak, "v_threshold") if self.soft_reset else (leak, "v_threshold", "v_reset")


def neuron_kind(parametric: bool, decay_input: bool, soft_reset: bool) -> NeuronKind:
    """The :class:`NeuronKind` for a ``lif`` node's attributes."""
    return NeuronKind(parametric, decay_input, soft_reset)


def parse_function_name(name: str) -> NeuronKind | None:
    """The kind a function name denotes, or None if it is not one of ours."""
    for parametric in (False, True):
        for decay_input in (True, False):
            for soft_reset in (False, True):
                kind = NeuronKind(parametric, decay_input, soft_reset)
                if kind.function_name == name:
                    return kind
    return None


def _attr_constant(output: str, attribute: str) -> onnx.NodeProto:
    """``output = Constant(value_float = <the calling node's attribute>)``."""
    node = helper.make_node("Constant", [], [output], name=output)
    ref = onnx.AttributeProto()
    ref.name = "value_float"
    ref.ref_attr_name = attribute
    ref.type = onnx.AttributeProto.FLOAT
    node.attribute.append(ref)
    return node


def lif_function(kind: NeuronKind) -> onnx.FunctionProto:
    """The function body of one ``lif`` step (see the module docstring and docs/ir.md)::

    charge  H = V + (X - (V - v_reset)) / tau   (· decay for ParametricLIF; see ``lif``)
    fire    S = cast(H >= v_threshold)
    reset   V' = H · (1 - S) + v_reset · S      (hard)   or   V' = H - S · v_threshold (soft)
    """
    nodes: list[onnx.NodeProto] = []
    leak = "decay" if kind.parametric else "tau"
    nodes += [_attr_constant("leak_f", leak), helper.make_node("CastLike", ["leak_f", "X"], ["k"])]
    nodes += [
        _attr_constant("vth_f", "v_threshold"),
        helper.make_node("CastLike", ["vth_f", "X"], ["vth"]),
    ]
    if kind.soft_reset:
        nodes.append(helper.make_node("Constant", [], ["reset_f"], value_float=0.0))
    else:
        nodes.append(_attr_constant("reset_f", "v_reset"))
    nodes.append(helper.make_node("CastLike", ["reset_f", "X"], ["reset"]))
    leak_op = "Mul" if kind.parametric else "Div"
    nodes.append(helper.make_node("Sub", ["V", "reset"], ["v_rel"]))
    if kind.decay_input:
        nodes += [
            helper.make_node("Sub", ["X", "v_rel"], ["drive"]),
            helper.make_node(leak_op, ["drive", "k"], ["charge"]),
            helper.make_node("Add", ["V", "charge"], ["H"]),
        ]
    else:
        nodes += [
            helper.make_node(leak_op, ["v_rel", "k"], ["leak"]),
            helper.make_node("Sub", ["V", "leak"], ["kept"]),
            helper.make_node("Add", ["kept", "X"], ["H"]),
        ]
    nodes += [
        helper.make_node("GreaterOrEqual", ["H", "vth"], ["fired"]),
        helper.make_node("CastLike", ["fired", "X"], ["S"]),
    ]
    if kind.soft_reset:
        nodes += [
            helper.make_node("Mul", ["S", "vth"], ["dropped"]),
            helper.make_node("Sub", ["H", "dropped"], ["V_next"]),
        ]
    else:
        nodes += [
            helper.make_node("Constant", [], ["one_f"], value_float=1.0),
            helper.make_node("CastLike", ["one_f", "X"], ["one"]),
            helper.make_node("Sub", ["one", "S"], ["silent"]),
            helper.make_node("Mul", ["H", "silent"], ["kept_v"]),
            helper.make_node("Mul", ["reset", "S"], ["reset_v"]),
            helper.make_node("Add", ["kept_v", "reset_v"], ["V_next"]),
        ]
    return helper.make_function(
        DOMAIN,
        kind.function_name,
        ["X", "V"],
        ["S", "V_next"],
        nodes,
        [helper.make_opsetid("", OPSET)],
        list(kind.attributes),
        doc_string=lif_function.__doc__,
    )
