"""The op definition record: attributes, type rule, reference kernel, equations.

Reference kernels are the executable meaning of an op (ARCHITECTURE convention 9). They run one
time step on a batch: every input array has a leading batch axis ``[B, *value_shape]``. Stateful
ops (neurons) keep their state in a dict created by ``init_state`` and updated in place.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from snncompile.ir.attrs import OpAttrs
from snncompile.ir.types import TensorType

__all__ = ["Kernel", "OpDef", "ShapeError", "State"]

State = dict[str, np.ndarray]
#: ``kernel(attrs, inputs, state) -> outputs``; ``state`` is None for stateless ops.
Kernel = Callable[[Any, Sequence[np.ndarray], "State | None"], tuple[np.ndarray, ...]]
TypeRule = Callable[[Sequence[TensorType], Any], tuple[TensorType, ...]]
StateInit = Callable[[Any, Sequence[TensorType], int], State]


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
    """

    name: str
    attrs: type[OpAttrs]
    infer: TypeRule
    kernel: Kernel
    stages: frozenset[str]
    arity: int | None = 1
    init_state: StateInit | None = None
    doc: str = ""

    @property
    def stateful(self) -> bool:
        return self.init_state is not None

    def check_arity(self, count: int) -> str | None:
        """A message if ``count`` inputs are wrong for this op, else None."""
        if self.arity is None:
            return None if count >= 1 else f"{self.name} needs at least one input, got {count}"
        if count != self.arity:
            return f"{self.name} takes {self.arity} input(s), got {count}"
        return None
