"""Checks of a NIR file made before it is imported: neuron parameters and the memory the
declared shapes need.

**Neuron parameters** (:func:`check_neuron`). A LIF, IF or CubaLIF node is refused when a
parameter cannot be computed or means no neuron any writing tool builds:

- NaN or Inf in ``r``, ``v_threshold``, ``v_reset``, ``v_leak`` or ``w_in``, and NaN in a time
  constant: ML406 (``+inf`` is a time constant without leak, which NIR allows);
- a threshold ``θ <= 0``: IX831. Every tool NIR's writers come from (snntorch, norse, sinabs,
  rockpool, spikingjelly, lava-dl) fires when ``v`` reaches a *positive* threshold from a reset
  at or below it; with ``θ <= 0`` the neuron fires on every step with no input at all, Loihi's
  threshold mantissa is unsigned, and the tools disagree on ``>`` versus ``>=`` at ``v = θ = 0``,
  so no answer could be called the writer's;
- a time constant ``tau <= 0``: IX831 (the leak ``dt/tau`` would grow the voltage).

**Memory** (:func:`declared_bytes`): the bytes the graph's declared values (every node's
output type, over ``T`` steps) and arrays need, in float64, the same estimate
:func:`snncompile.frontend.load.to_graph` makes of an imported graph, computed from the file's
declarations before the import allocates anything (:func:`snncompile.limits.require_memory`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from snncompile import limits
from snncompile.diagnostics import error
from snncompile.frontend.finite import check_array

__all__ = ["check_neuron", "declared_bytes"]

#: One value's element limit (:data:`snncompile.frontend.nir.MAX_ELEMENTS`, IX815).
MAX_ELEMENTS = 1 << 28
_VALUES = ("r", "v_threshold", "v_reset", "v_leak", "w_in")
_TIMES = ("tau", "tau_mem", "tau_syn")


def check_neuron(name: str, node: Any) -> None:
    """ML406 or IX831 for a neuron parameter of ``node`` that cannot be computed (module
    docstring)."""
    where = f"NIR neuron {name} ({type(node).__name__})"
    for field in _VALUES:
        value = getattr(node, field, None)
        if value is not None:
            check_array(np.asarray(value, dtype=np.float64), field, where)
    for field in _TIMES:
        value = getattr(node, field, None)
        if value is None:
            continue
        tau = np.asarray(value, dtype=np.float64)
        if np.isnan(tau).any():
            check_array(tau, field, where)
        if (tau <= 0).any():
            raise error(
                "IX831",
                f"{where}: {field} = {float(tau[tau <= 0].ravel()[0])!r}; a time constant is "
                "positive (inf: no leak)",
                node=name,
            )
    threshold = getattr(node, "v_threshold", None)
    if threshold is not None:
        theta = np.asarray(threshold, dtype=np.float64)
        if (theta <= 0).any():
            raise error(
                "IX831",
                f"{where}: v_threshold = {float(theta[theta <= 0].ravel()[0])!r}; a threshold "
                "is positive (at or below zero the neuron fires on every step with no input)",
                node=name,
            )


def _shapes(types: Any) -> Iterator[tuple[int, ...]]:
    if not isinstance(types, dict):
        return
    for shape in types.values():
        try:
            dims = tuple(int(d) for d in np.asarray(shape).ravel())
        except (TypeError, ValueError, OverflowError):
            continue  # the import refuses it with IX815
        if dims and all(d > 0 for d in dims):
            yield dims


def declared_bytes(graph: Any, time_steps: int) -> int:
    """Float64 bytes of ``graph``'s declared values over ``time_steps`` steps plus its arrays
    (a NIR graph as :func:`nir.read` returns it, nothing imported yet;
    :func:`snncompile.limits.declared_bytes`)."""
    values = 0
    arrays = 0
    for node in getattr(graph, "nodes", {}).values():
        for dims in _shapes(getattr(node, "output_type", None)):  # each value once
            size = int(np.prod(dims, dtype=object))
            if size <= MAX_ELEMENTS:  # a larger one is refused by the import (IX815)
                values += size
        for field in ("weight", "bias", "r", "v_threshold", "tau", "scale"):
            array = getattr(node, field, None)
            if isinstance(array, np.ndarray):
                arrays += int(array.size)
    return limits.declared_bytes([values], [arrays], time_steps)
