"""netx import: a file written by lava-dl's slayer export runs the same spikes as netx in Lava."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from snncompile.diagnostics import SnnCompileError
from snncompile.frontend.load import load_model
from snncompile.frontend.netx import read_netx
from snncompile.ir.interpret import run_layerwise
from snncompile.passes.manager import PassContext
from snncompile.passes.pipeline_delays import PipelineDelays

STEPS = 20


def _slayer_file(path: Path) -> Path:
    """Two slayer CUBA Dense blocks with seeded random weights, exported by lava-dl."""
    import h5py
    import torch

    from snncompile.targets.loihi._lava import lava_module

    slayer = lava_module("lava.lib.dl.slayer")
    torch.manual_seed(0)
    params = {"threshold": 1.0, "current_decay": 1.0, "voltage_decay": 0.1, "requires_grad": False}
    blocks = [
        slayer.block.cuba.Dense(params, 10, 12, weight_scale=2, weight_norm=False, delay=False),
        slayer.block.cuba.Dense(params, 12, 5, weight_scale=2, weight_norm=False, delay=False),
    ]
    x = (torch.rand(1, 10, 8) > 0.5).float()
    for block in blocks:  # sets the neuron shapes the export writes
        x = block(x)
    with h5py.File(path, "w") as handle:
        layers = handle.create_group("layer")
        for index, block in enumerate(blocks):
            block.export_hdf5(layers.create_group(str(index)))
    return path


@pytest.mark.lava
@pytest.mark.timeout(240)
def test_slayer_export_matches_netx_in_lava(tmp_path: Path) -> None:
    from snncompile.targets.loihi.netx import run_netx

    path = _slayer_file(tmp_path / "slayer.net")
    graph = read_netx(path)
    assert graph.stage == "network"
    pipelined = PipelineDelays().run(graph, PassContext())
    spikes = (np.random.default_rng(4).random((STEPS, 1, 10)) < 0.5).astype(np.float64)
    record = run_layerwise(pipelined, [spikes], record=True)
    outputs = run_netx(path, spikes[:, 0], mode="spikes")
    populations = [n for n in pipelined.nodes if n.op == "population"]
    assert len(outputs) == len(populations) == 2
    for node, got in zip(populations, outputs, strict=True):
        want = record[node.output.name][:, 0]
        np.testing.assert_array_equal(got[node.attrs.start :], want[node.attrs.start :])
        assert want.sum() > 0, node.name
    loaded = load_model(path)
    assert loaded.graph is not None and loaded.graph.stage == "network"


def test_unsupported_layers_are_refused(tmp_path: Path) -> None:
    import h5py

    path = tmp_path / "pool.net"
    with h5py.File(path, "w") as handle:
        layer = handle.create_group("layer").create_group("0")
        layer.create_dataset("type", data=np.array([b"pool"], dtype="S10"))
    with pytest.raises(SnnCompileError) as info:
        read_netx(path)
    assert info.value.code == "LV506" and "layer/0 (pool)" in info.value.render()
