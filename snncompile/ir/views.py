"""View programs: the reshapes, permutations, slices and broadcasts a projection absorbs.

At the network level no op moves data around: a projection reads its source population through
a *view* (``pre``) and writes into its target population through another (``post``). A view is a
short program of layout steps, kept symbolic (a few integers, never an index array of the full
size) so that ImageNet-size attention stays small; :func:`index_map` expands it into a gather
index when a backend needs explicit connectivity (Lava's ``Sparse``).

Text form (an attribute string), steps separated by spaces::

    reshape(64,16) permute(1,0) slice(axis,start,stop,step) expand(2,16,16,16)

Each step acts on the per-sample shape (arrays carry a leading batch axis):
``reshape`` is row-major, ``permute`` puts input axis ``perm[i]`` at result axis ``i``,
``slice`` keeps ``start:stop:step`` of one axis, ``expand`` broadcasts size-1 axes (numpy rules).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["View", "ViewError", "ViewStep", "parse_view"]

_STEP = re.compile(r"(reshape|permute|slice|expand)\(([-0-9, ]*)\)")


class ViewError(ValueError):
    """A view program does not parse or does not fit the shape it is applied to."""


@dataclass(frozen=True)
class ViewStep:
    """One layout step: ``kind`` in reshape/permute/slice/expand with its integer arguments."""

    kind: str
    args: tuple[int, ...]

    def __str__(self) -> str:
        return f"{self.kind}({','.join(str(a) for a in self.args)})"

    def shape_after(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """The per-sample shape after this step, or :class:`ViewError`."""
        if self.kind == "reshape":
            if int(np.prod(self.args)) != int(np.prod(shape)):
                raise ViewError(f"cannot reshape {shape} to {self.args}")
            return self.args
        if self.kind == "permute":
            if sorted(self.args) != list(range(len(shape))):
                raise ViewError(f"permute {self.args} does not fit {shape}")
            return tuple(shape[p] for p in self.args)
        if self.kind == "slice":
            axis, start, stop, step = self.args
            if not 0 <= axis < len(shape) or not 0 <= start < stop <= shape[axis] or step < 1:
                raise ViewError(f"slice {self.args} does not fit {shape}")
            out = list(shape)
            out[axis] = len(range(start, stop, step))
            return tuple(out)
        try:
            return tuple(np.broadcast_shapes(shape, self.args))
        except ValueError as exc:
            raise ViewError(f"cannot expand {shape} to {self.args}") from exc

    def apply(self, x: np.ndarray) -> np.ndarray:
        """The step on a batch ``[B, *shape]`` (a numpy view where possible)."""
        if self.kind == "reshape":
            return x.reshape((x.shape[0], *self.args))
        if self.kind == "permute":
            return np.transpose(x, (0, *(p + 1 for p in self.args)))
        if self.kind == "slice":
            axis, start, stop, step = self.args
            index = [slice(None)] * x.ndim
            index[axis + 1] = slice(start, stop, step)
            return x[tuple(index)]
        return np.broadcast_to(x, (x.shape[0], *np.broadcast_shapes(x.shape[1:], self.args)))


@dataclass(frozen=True)
class View:
    """A sequence of :class:`ViewStep`; the empty view is the identity."""

    steps: tuple[ViewStep, ...] = ()

    def __str__(self) -> str:
        return " ".join(str(s) for s in self.steps)

    def __bool__(self) -> bool:
        return bool(self.steps)

    def then(self, kind: str, args: Sequence[int]) -> View:
        """This view followed by one more step."""
        return View((*self.steps, ViewStep(kind, tuple(int(a) for a in args))))

    def shape_after(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        for step in self.steps:
            shape = step.shape_after(shape)
        return shape

    def apply(self, x: np.ndarray) -> np.ndarray:
        """The view of a batch ``[B, *shape]``."""
        for step in self.steps:
            x = step.apply(x)
        return x

    def index_map(self, shape: tuple[int, ...]) -> np.ndarray:
        """For every element of the result, the flat index of the input element it reads."""
        flat = np.arange(int(np.prod(shape)), dtype=np.int64).reshape((1, *shape))
        return np.ascontiguousarray(self.apply(flat)[0])

    def is_gather_free(self) -> bool:
        """True when every result element reads a distinct input element (no broadcast)."""
        return all(s.kind != "expand" for s in self.steps)


def parse_view(text: str) -> View:
    """The :class:`View` written as ``text`` (see the module docstring)."""
    steps: list[ViewStep] = []
    rest = text.strip()
    while rest:
        match = _STEP.match(rest)
        if match is None:
            raise ViewError(f"bad view step at {rest!r}; expected e.g. 'reshape(4,8)'")
        args = tuple(int(a) for a in match.group(2).replace(" ", "").split(",") if a)
        if match.group(1) == "slice" and len(args) != 4:
            raise ViewError(f"slice needs (axis,start,stop,step), got {args}")
        steps.append(ViewStep(match.group(1), args))
        rest = rest[match.end() :].lstrip()
    return View(tuple(steps))
