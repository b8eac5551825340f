"""The op definition record: attributes, type rule, reference kernel, equations.

Reference kernels are the executable meaning of an op (ARCHITECTURE convention 9). They run one
time step on a batch: every input array has a leading batch axis ``[B, *value_shape]``. Stateful
ops (neurons) keep their state in a dict created by ``init_state`` and updated in place.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from snncompile.ir.attrs import OpAttrs
from snncompile.ir.types import TensorType

if TYPE_CHECKING:
    from snncompile.ir.domains import Rule as DomainRule
    from snncompile.ir.graph import Node

__all__ = ["Kernel", "OpCount", "OpDef", "ShapeError", "State", "Trait"]

State = dict[str, np.ndarray]
#: ``kernel(attrs, inputs, state) -> outputs``; ``state`` is None for stateless ops.
Kernel = Callable[[Any, Sequence[np.ndarray], "State | None"], tuple[np.ndarray, ...]]
TypeRule = Callable[[Sequence[TensorType], Any], tuple[TensorType, ...]]
StateInit = Callable[[Any, Sequence[TensorType], int], State]
#: ``count(node) -> int``: synaptic operations per sample and time step (:mod:`ir.counts`).
OpCount = Callable[["Node"], int]


class Trait(enum.Enum):
    """What an op is, for the passes and reports that ask (ARCHITECTURE convention 13).

    Every table of ops is derived from these (:func:`snncompile.ir.ops.ops_with`); a pass asks
    ``has_trait(node, Trait.WEIGHTED)`` instead of comparing op names.
    """

    #: A spiking neuron: its output is binary spikes (or a population's graded payload).
    NEURON = "neuron"
    #: Static synapses (a weight array) applied to one activation: ``y = W x (+ b)``.
    WEIGHTED = "weighted"
    #: A product of two activations (``mul``, ``matmul``): spike-driven only with a spike
    #: operand.
    PRODUCT = "product"
    #: Moves elements within one step without changing them (reshape, permute, slice).
    LAYOUT = "layout"
    #: A factor on any one input moves to the output: ``f(c·x, y) = c·f(x, y)`` for every real
    #: ``c``. The factor-carrying ops themselves (``scale``, ``mul_const``) are not marked.
    LINEAR = "linear"
    #: Commutes with positive factors only: ``f(c·x) = c·f(x)`` for ``c > 0`` (max-pooling).
    MONOTONE = "monotone"
    #: A maximum over a window: an OR of spikes, with no synaptic form over graded values.
    MAXIMUM = "maximum"


class ShapeError(ValueError):
    """A type rule rejected its inputs (wrong rank, mismatched shapes, bad attribute values)."""


@dataclass(frozen=True)
class OpDef:
    """One op, declared once.

    Attributes:
        name: the op name used in the IR text form.
        attrs: the op's :class:`OpAttrs` dataclass.
        infer: type rule, input types and attrs -> result types; raises :class:`ShapeError`.
        kernel: reference kernel for one time step on a batch.
        stages: the IR stages the op may appear in.
        arity: number of inputs, or ``None`` for one or more (variadic fan-in).
        init_state: for stateful ops, creates the per-batch state.
        doc: the op's equations (shown by ``docs/ir.md``).
        traits: what the op is (:class:`Trait`).
        domain: its spike-domain rule (:mod:`snncompile.ir.domains`); required, the registry
            refuses an op without one (IR112).
        count: its synaptic operations per sample and step (:mod:`snncompile.ir.counts`);
            required (IR113); nonzero exactly for weighted ops and products (IR114).
    """

    name: str
    attrs: type[OpAttrs]
    infer: TypeRule
    kernel: Kernel
    stages: frozenset[str]
    arity: int | None = 1
    init_state: StateInit | None = None
    doc: str = ""
    traits: frozenset[Trait] = frozenset()
    domain: DomainRule | None = None
    count: OpCount | None = None

    @property
    def stateful(self) -> bool:
        return self.init_state is not None

    def has(self, trait: Trait) -> bool:
        """Whether the op declares ``trait``."""
        return trait in self.traits

    def check_arity(self, count: int) -> str | None:
        """A message if ``count`` inputs are wrong for this op, else None."""
        if self.arity is None:
            return None if count >= 1 else f"{self.name} needs at least one input, got {count}"
        if count != self.arity:
            return f"{self.name} takes {self.arity} input(s), got {count}"
        return None
