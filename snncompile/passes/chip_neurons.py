"""Which integer neuron step of the chip runs each traced neuron, or why none can.

One rule, read by ``quantize-fixed-point`` (which builds the step) and by ``check`` (which
reports the refusal as a finding), so that a green ``check`` means the neurons compile.

A traced ``lif`` charges ``H = ρ·V + g·X`` and the chip's integer LIF (:mod:`snncompile.chip`)
computes ``v = trunc(v·(D - dv)/D) + (a << i)``: with the current in units of ``1/(s·g)``
(``a = s·g·X``) and ``dv = round(D·λ)``, ``λ = 1 - ρ`` the leak, ``v ≈ 2^i·s·H``. Per library:

=============================================  ======  ==========  ===============  =========
neuron                                          ``g``   ``λ``       chip reset       fires at
=============================================  ======  ==========  ===============  =========
spikingjelly LIF, ``decay_input`` (PLIF: ``k``)  1/τ     1/τ (k)     zero / subtract  ``H >= θ``
spikingjelly LIF, not ``decay_input``; IF        1       1/τ (0)     zero / subtract  ``H >= θ``
snntorch Leaky (β), ``reset_delay=True``         1       1 - β       zero /           ``H > θ``
                                                                     subtract-next /
                                                                     none
=============================================  ======  ==========  ===============  =========

(spikingjelly: ``v_reset=0`` is the zero reset, ``v_reset=None`` the subtract; snntorch:
``reset_mechanism`` zero, subtract, none.) The chip fires at ``v > θ``; the quantizer gives
neurons fed by integer spike counts one unit of bias to fire at ``H >= θ`` where spikingjelly
does. Every neuron shares one current unit, so they must share one gain ``g``.

Refused, with a finding the quantizer raises and ``check`` reports:

- SD205: a snntorch ``Leaky`` the chip cannot run (``reset_delay=False`` with a reset, a
  per-neuron ``beta``, a reset the chip does not implement);
- SD206: a spikingjelly neuron the chip cannot run (``v_reset`` other than 0 or None, a reset
  the chip does not implement);
- QZ901: neurons with different input gains ``g`` (different ``tau`` with ``decay_input``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from snncompile.chip import ChipModel
from snncompile.ir.graph import Graph, Node
from snncompile.passes.compliance import Finding, finding_of

__all__ = ["ChipNeuron", "chip_neuron", "neuron_findings"]


@dataclass(frozen=True)
class ChipNeuron:
    """How one traced ``lif`` runs on the chip (module docstring).

    Attributes:
        reset: the chip's reset (:data:`snncompile.chip.RESETS`).
        gain: ``g``, the factor of the input in the charge.
        leak: ``λ``, the fraction of the potential lost per step (``dv = round(D·λ)``).
        fires_at_threshold: the library fires at ``H >= θ`` (spikingjelly), not ``H > θ``.
    """

    reset: str
    gain: float
    leak: float
    fires_at_threshold: bool


def _snntorch(node: Node, chip: ChipModel) -> ChipNeuron | Finding:
    a = node.attrs
    reset = {"zero": "zero", "subtract": "subtract-next", "none": "none"}[a.reset_mechanism]
    if a.decay_map is not None:
        return finding_of(
            "SD205",
            node,
            f"snntorch Leaky {node.describe()} has a per-neuron beta; a chip population has one "
            "voltage decay",
        )
    if not a.reset_delay and reset != "none":
        return finding_of(
            "SD205",
            node,
            f"snntorch Leaky {node.describe()} has reset_delay=False with reset_mechanism="
            f"'{a.reset_mechanism}'; the chip's neuron runs reset_delay=True (the reset at the "
            "next step)",
        )
    if not chip.can_reset(reset):
        return finding_of(
            "SD205",
            node,
            f"snntorch Leaky {node.describe()} has reset_mechanism='{a.reset_mechanism}' "
            f"(chip reset {reset!r}); chip {chip.name} runs {', '.join(sorted(chip.resets))}",
        )
    return ChipNeuron(reset, 1.0, 1.0 - float(a.decay), False)


def _spikingjelly(node: Node, chip: ChipModel) -> ChipNeuron | Finding:
    a = node.attrs
    if a.v_reset is not None and a.v_reset != 0.0:
        return finding_of(
            "SD206",
            node,
            f"{node.describe()} resets to v_reset={a.v_reset}; the chip's neuron resets to 0 "
            "(v_reset=0.0) or subtracts the threshold (v_reset=None)",
        )
    reset = "zero" if a.v_reset is not None else "subtract"
    if not chip.can_reset(reset):
        return finding_of(
            "SD206",
            node,
            f"{node.describe()} has v_reset={a.v_reset} (chip reset {reset!r}); chip "
            f"{chip.name} runs {', '.join(sorted(chip.resets))}",
        )
    leak = a.decay if a.decay is not None else (0.0 if math.isinf(a.tau) else 1.0 / a.tau)
    gain = leak if a.decay_input else 1.0
    return ChipNeuron(reset, gain, leak, True)


def chip_neuron(node: Node, chip: ChipModel) -> ChipNeuron | Finding:
    """The chip step of ``lif`` node ``node`` on ``chip``, or the finding that refuses it."""
    if node.attrs.dynamics == "snntorch":
        return _snntorch(node, chip)
    return _spikingjelly(node, chip)


def neuron_findings(graph: Graph, chip: ChipModel) -> list[Finding]:
    """Every neuron of ``graph`` the chip cannot run, in graph order (module docstring), and
    QZ901 for each neuron whose input gain differs from the first neuron's."""
    result: list[Finding] = []
    first: tuple[Node, float] | None = None
    for node in graph.nodes:
        if node.op != "lif":
            continue
        mapped = chip_neuron(node, chip)
        if isinstance(mapped, Finding):
            result.append(mapped)
            continue
        if first is None:
            first = (node, mapped.gain)
        elif not math.isclose(mapped.gain, first[1], rel_tol=1e-12):
            result.append(
                finding_of(
                    "QZ901",
                    node,
                    f"{node.describe()} scales its input by {mapped.gain:g} (1/tau with "
                    f"decay_input) but {first[0].describe()} by {first[1]:g}; the currents "
                    "shared by the network's neurons need one unit",
                )
            )
    return result
