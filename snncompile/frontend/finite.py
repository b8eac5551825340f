"""Numbers that cannot be computed are refused before anything is traced or quantized.

:func:`check_module` looks at every floating-point parameter and buffer of a model, and
:func:`check_graph` at every array and float attribute of an imported graph (text IR, ONNX,
NIR, netx): NaN or Inf, or a float64 value beyond float32's range (the trace would make it
Inf), is ML406, naming the tensor and the first bad index; a BatchNorm
``running_var`` below zero is ML407 (``1 / sqrt(var + eps)`` would be NaN). Quantization then
never sees a NaN to cast.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from torch import nn

from snncompile.diagnostics import error
from snncompile.ir.graph import Graph

__all__ = ["check_array", "check_graph", "check_module"]


def check_array(values: np.ndarray, name: str, where: str) -> None:
    """ML406 when the float array ``values`` holds NaN or Inf; ML407 for a negative variance
    (``name`` ending in ``running_var``)."""
    array = np.asarray(values)
    if array.dtype.kind not in "fc" or array.size == 0:
        return
    bad = ~np.isfinite(array)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise error(
            "ML406",
            f"{where}: {name} holds {int(bad.sum())} NaN/Inf value(s), the first "
            f"{array[index]!r} at index {list(index)}",
            node=name,
        )
    if array.dtype.kind == "f" and array.dtype.itemsize > 4:
        big = np.abs(array) > np.finfo(np.float32).max
        if big.any():  # the float32 trace would turn it into Inf
            index = tuple(int(i) for i in np.argwhere(big)[0])
            raise error(
                "ML406",
                f"{where}: {name} holds {int(big.sum())} value(s) beyond float32's range, the "
                f"first {float(array[index])!r} at index {list(index)} (it would become Inf)",
                node=name,
            )
    if name.endswith("running_var") and (array < 0).any():
        index = tuple(int(i) for i in np.argwhere(array < 0)[0])
        raise error(
            "ML407",
            f"{where}: {name} is {float(array[index])} at index {list(index)}; a variance "
            "is never negative",
            node=name,
        )


def check_module(module: nn.Module, where: str) -> None:
    """Check every floating-point parameter and buffer of ``module`` (see the module
    docstring)."""
    for name, tensor in [*module.named_parameters(), *module.named_buffers()]:
        if tensor.is_floating_point():
            check_array(tensor.detach().cpu().numpy(), name, where)


def check_graph(graph: Graph, where: str) -> None:
    """Check every array attribute (and NaN in float attributes) of ``graph``'s nodes."""
    for node in graph.nodes:
        attrs = node.attrs
        if not dataclasses.is_dataclass(attrs):
            continue
        for field in dataclasses.fields(attrs):
            value = getattr(attrs, field.name)
            label = f"%{node.name}.{field.name}"
            if isinstance(value, np.ndarray):
                check_array(value, label, where)
            elif isinstance(value, float) and math.isnan(value):
                raise error("ML406", f"{where}: {label} is NaN", node=label)
            elif isinstance(value, tuple) and any(
                isinstance(v, float) and math.isnan(v) for v in value
            ):
                raise error("ML406", f"{where}: {label} holds NaN: {value}", node=label)
