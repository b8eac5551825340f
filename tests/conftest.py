"""Shared test fixtures: small graphs built through the public builder."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from snncompile.ir.graph import Graph, GraphBuilder, SourceLoc
from snncompile.ir.ops.tensor import Conv2dAttrs, LifAttrs, ScaleAttrs
from snncompile.ir.types import SpikeDomain, TensorType
from tests.golden import UPDATE_OPTION, Goldens

torch.set_num_threads(1)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        UPDATE_OPTION,
        action="store_true",
        default=False,
        help="(re)write the golden files the selected tests compare with (tests/golden.py)",
    )


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Goldens:
    """Compare text with a committed golden file; a missing one fails (tests/golden.py)."""
    return Goldens(bool(request.config.getoption(UPDATE_OPTION)))


def make_conv_lif_graph(seed: int = 0) -> Graph:
    """input [1, 6, 6] -> conv2d 3x3 (4 channels) -> lif -> scale 0.5."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder("conv_lif")
    x = b.input("x", TensorType((1, 6, 6), "f64", SpikeDomain.real()))
    weight = rng.normal(size=(4, 1, 3, 3))
    c = b.add_node(
        "conv2d",
        [x],
        Conv2dAttrs(weight=weight, bias=rng.normal(size=4), padding=(1, 1)),
        name="conv",
        loc=SourceLoc("stem.conv", "model.py:10"),
    )
    s = b.add_node("lif", [c], LifAttrs(tau=2.0, v_threshold=1.0), name="lif")
    y = b.add_node("scale", [s], ScaleAttrs(factor=0.5), name="out")
    return b.finish([y])


@pytest.fixture
def conv_lif_graph() -> Graph:
    return make_conv_lif_graph()
