"""Compiled network programs of the shipped digits models, built once per test session."""

from __future__ import annotations

from functools import cache

import numpy as np
import torch

from snncompile.config import CompileConfig
from snncompile.data.digits import load_digits_split
from snncompile.frontend.load import LoadedModel, load_configured, to_graph
from snncompile.frontend.simulate import time_major_inputs
from snncompile.ir.graph import Graph
from snncompile.targets.sim.program import NetworkProgram, build_program

FAMILIES = ("spikformer", "spikingformer", "sdt", "spikingresformer")

#: spikformer's SEW residuals need --expand-sew; SDT max-pools currents (a host op).
CONFIG = CompileConfig(expand_sew=True, allow_host_ops=True)


@cache
def digits_model(family: str) -> tuple[LoadedModel, Graph, NetworkProgram]:
    """The loaded model, its traced float64 graph and its network program."""
    loaded = load_configured(f"examples/digits/{family}.pt", CONFIG)
    graph = to_graph(loaded, torch.float64)
    return loaded, graph, build_program(graph, CONFIG)


def digits_inputs(family: str, samples: int, *, drain: int = 0) -> np.ndarray:
    """``[T + drain, B, 1, 16, 16]`` time-major test images (zeros in the drain steps)."""
    loaded, graph, _ = digits_model(family)
    assert loaded.input_shape is not None
    split = load_digits_split(image_size=loaded.input_shape[1])
    x = time_major_inputs(graph, split.x_test[:samples].astype(np.float64), loaded.time_steps)
    return np.concatenate([x, np.zeros((drain, *x.shape[1:]))]) if drain else x
