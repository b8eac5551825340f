"""Where the time and batch axes are in a traced PyTorch tensor (SEMANTICS.md section 1).

A spiking model in PyTorch runs on ``[T, B, ...]`` tensors; stateless layers see ``[T·B, ...]``;
a static image is ``[B, ...]`` until it is repeated over T. The IR describes one time step of one
sample, so the frontend tracks, for every traced tensor, which of its leading axes are time and
batch (its *lead*) and keeps only the remaining per-sample axes in IR types.

Leads:

===========  ===============================  ============================================
lead         tensor shape                     produced by
===========  ===============================  ============================================
``T, B``     ``[T, B, *sample]``              ``reshape(T, B, ...)``, ``repeat(T, 1, ...)``
``TB``       ``[T·B, *sample]`` (T-major)     ``flatten(0, 1)``, ``reshape(T·B, ...)``
``B``        ``[B, *sample]``                 the static input image; the mean over T
``B, T``     ``[B, T, *sample]``              event-frame input (before its transpose)
===========  ===============================  ============================================

A ``T`` axis of size 1 (``x.unsqueeze(0)`` of a static image) is constant over time. A value
marked ``averaged`` is the mean over T of the per-step values: the IR keeps the per-step value
and the simulator takes the mean at the end, which is exact for the affine ops allowed after it
(linear, batch norm, scaling, sums, layout changes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from snncompile.ir.graph import Value

__all__ = ["Act", "Layout", "LayoutError", "permute_layout", "reshape_layout"]


class LayoutError(ValueError):
    """An op would mix the time or batch axes with per-sample axes (the message says how)."""


@dataclass(frozen=True)
class Layout:
    """The leading time/batch axes of a traced tensor.

    Attributes:
        lead: the names of the leading axes, each ``"T"``, ``"B"`` or ``"TB"`` (merged, T-major).
        sizes: their sizes in the traced example.
        averaged: the tensor is the mean over T of per-step values (see the module docstring).
    """

    lead: tuple[str, ...]
    sizes: tuple[int, ...]
    averaged: bool = False

    @property
    def rank(self) -> int:
        """Number of leading (non-sample) axes."""
        return len(self.lead)

    @property
    def time_steps(self) -> int:
        """The size of the time axis (1 when the tensor is constant over time)."""
        if "T" in self.lead:
            return self.sizes[self.lead.index("T")]
        return 1

    def describe(self) -> str:
        """A readable form, e.g. ``[T=4, B=2, ...]``."""
        names = ", ".join(f"{n}={s}" for n, s in zip(self.lead, self.sizes, strict=True))
        return f"[{names}, ...]" + (" (mean over T)" if self.averaged else "")


@dataclass(frozen=True)
class Act:
    """A traced activation: its IR value (per-sample type) and where its T/B axes are."""

    value: Value
    layout: Layout

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """The per-sample shape (the IR type's shape)."""
        return self.value.type.shape


def reshape_layout(
    layout: Layout,
    sample: tuple[int, ...],
    out: tuple[int, ...],
    *,
    time_steps: int,
    batch: int,
) -> tuple[Layout, tuple[int, ...]]:
    """The layout and per-sample shape after reshaping a tensor to full shape ``out``.

    Recognises ``flatten(0, 1)`` (``T, B`` -> ``TB``), ``reshape(T, B, ...)`` (``TB`` ->
    ``T, B``), ``unsqueeze(0)`` of a static ``B`` tensor (-> ``T, B`` with T of size 1) and any
    reshape that keeps the leading axes. Anything else mixes the time or batch axes with
    per-sample axes: :class:`LayoutError`.
    """
    lead, sizes = layout.lead, layout.sizes
    numel = math.prod(sample)
    candidates: list[tuple[Layout, int]] = []
    if len(out) >= len(lead) and tuple(out[: len(lead)]) == sizes:
        candidates.append((layout, len(lead)))
    if not layout.averaged:
        if lead == ("T", "B") and out[:1] == (sizes[0] * sizes[1],):
            candidates.append((Layout(("TB",), (sizes[0] * sizes[1],)), 1))
        if lead == ("TB",) and sizes[0] == time_steps * batch and out[:2] == (time_steps, batch):
            candidates.append((Layout(("T", "B"), (time_steps, batch)), 2))
        if lead == ("B",) and out[:2] == (1, batch):
            candidates.append((Layout(("T", "B"), (1, batch)), 2))
    for new, k in candidates:
        if math.prod(out[k:]) == numel:
            return new, tuple(out[k:])
    raise LayoutError(
        f"reshaping {layout.describe()} with per-sample shape {list(sample)} to {list(out)} "
        f"mixes the time/batch axes with per-sample axes"
    )


def permute_layout(layout: Layout, perm: tuple[int, ...]) -> tuple[Layout, tuple[int, ...]]:
    """The layout and per-sample permutation after permuting the full tensor by ``perm``.

    The leading axes may be reordered among themselves (``[B, T, ...]`` -> ``[T, B, ...]``);
    moving a time or batch axis among per-sample axes is a :class:`LayoutError`.
    """
    k = layout.rank
    if sorted(perm[:k]) != list(range(k)) or any(p < k for p in perm[k:]):
        raise LayoutError(
            f"permutation {list(perm)} moves a time/batch axis of {layout.describe()} "
            f"among the per-sample axes"
        )
    lead = tuple(layout.lead[p] for p in perm[:k])
    sizes = tuple(layout.sizes[p] for p in perm[:k])
    if "T" in lead and "B" in lead and lead != ("T", "B") and lead != ("B", "T"):
        raise LayoutError(f"unexpected time/batch order {lead}")
    return Layout(lead, sizes, layout.averaged), tuple(p - k for p in perm[k:])
