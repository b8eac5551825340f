"""netx ``dense_rec`` layers (lava-dl's ``RecurrentDense``, written by slayer's ``Recurrent``
block): the import's recurrent projection runs the same spikes as netx in Lava."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from snncompile.frontend.netx import read_netx
from snncompile.ir.interpret import run_layerwise
from snncompile.passes.manager import PassContext
from snncompile.passes.pipeline_delays import PipelineDelays

STEPS = 24


def _slayer_recurrent_file(path: Path, *, recurrent_scale: float = 3.0) -> Path:
    """slayer CUBA Recurrent(10 -> 12) then Dense(12 -> 5), seeded, exported by lava-dl."""
    import h5py
    import torch

    from snncompile.targets.loihi._lava import lava_module

    slayer = lava_module("lava.lib.dl.slayer")
    torch.manual_seed(1)
    params = {"threshold": 1.0, "current_decay": 1.0, "voltage_decay": 0.1, "requires_grad": False}
    blocks = [
        slayer.block.cuba.Recurrent(params, 10, 12, weight_scale=2, weight_norm=False),
        slayer.block.cuba.Dense(params, 12, 5, weight_scale=2, weight_norm=False, delay=False),
    ]
    with torch.no_grad():
        blocks[0].recurrent_synapse.weight.mul_(recurrent_scale)
    x = (torch.rand(1, 10, 8) > 0.5).float()
    with torch.no_grad():  # slayer's step delay edits a view in place (refused under autograd)
        for block in blocks:  # sets the neuron shapes the export writes
            x = block(x)
    with h5py.File(path, "w") as handle:
        layers = handle.create_group("layer")
        for index, block in enumerate(blocks):
            block.export_hdf5(layers.create_group(str(index)))
    return path


def test_dense_rec_becomes_a_recurrent_projection(tmp_path: Path) -> None:
    pytest.importorskip("lava.lib.dl.slayer", reason="needs the loihi extra")
    graph = read_netx(_slayer_recurrent_file(tmp_path / "rec.net"))
    rec = [n for n in graph.nodes if n.op == "recurrent"]
    assert len(rec) == 1 and rec[0].attrs.source == "l0"
    (proj,) = [n for n in graph.nodes if n.op == "projection" and n.inputs[0] is rec[0].output]
    assert proj.attrs.weight.shape == (12, 12)


@pytest.mark.lava
@pytest.mark.timeout(240)
def test_dense_rec_matches_netx_in_lava(tmp_path: Path) -> None:
    pytest.importorskip("lava.lib.dl.slayer", reason="needs the loihi extra")
    from snncompile.targets.loihi.netx import run_netx

    path = _slayer_recurrent_file(tmp_path / "rec.net")
    pipelined = PipelineDelays().run(read_netx(path), PassContext())
    spikes = (np.random.default_rng(4).random((STEPS, 1, 10)) < 0.5).astype(np.float64)
    record = run_layerwise(pipelined, [spikes], record=True)
    outputs = run_netx(path, spikes[:, 0], mode="spikes")
    populations = [n for n in pipelined.nodes if n.op == "population"]
    assert len(outputs) == len(populations) == 2
    for node, got in zip(populations, outputs, strict=True):
        want = record[node.output.name][:, 0]
        np.testing.assert_array_equal(got[node.attrs.start :], want[node.attrs.start :])
        assert want.sum() > 3, node.name
    # the recurrent synapses change the spikes (so the comparison above could fail)
    flat = PipelineDelays().run(
        read_netx(_slayer_recurrent_file(tmp_path / "flat.net", recurrent_scale=0.0)),
        PassContext(),
    )
    other = run_layerwise(flat, [spikes])[flat.outputs[0].name]
    assert not np.array_equal(other, record[pipelined.outputs[0].name])
