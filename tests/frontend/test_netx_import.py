"""netx import: a file written by lava-dl's slayer export runs the same spikes as netx in Lava."""

from __future__ import annotations

import sysconfig
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


LAVA_DL_NETX = Path(sysconfig.get_paths()["purelib"]) / "tests" / "lava" / "lib" / "dl" / "netx"


def _shipped(name: str) -> Path:
    path = LAVA_DL_NETX / name
    if not path.exists():
        pytest.skip(f"lava-dl's test networks are not installed ({path})")
    return path


def test_lava_dl_shipped_networks_import() -> None:
    """lava-dl's own ``tiny.net`` and ``pilotnet_lif/network.net`` read; pilotnet's last dense
    layer has a 1-D weight ``(10,)``, which netx reshapes to ``(1, 10)``."""
    tiny = read_netx(_shipped("tiny.net"))
    assert [n.output.type.shape for n in tiny.nodes if n.op == "population"] == [
        (3, 16, 16),
        (24, 6, 6),
        (36, 1, 1),
    ]
    pilot = read_netx(_shipped("gts/pilotnet_lif/network.net"))
    pops = [n for n in pilot.nodes if n.op == "population"]
    assert len(pops) == 10 and pops[-1].output.type.shape == (1,)
    last = pops[-1].inputs[0].producer
    assert last is not None and last.attrs.weight.shape == (1, 10)
    assert pops[-1].attrs.dv == 0 and pops[-1].attrs.vth == 131071


@pytest.mark.parametrize(
    ("name", "code", "words"),
    [
        ("gts/pilotnet_sdnn/network.net", "LV520", "layer/0 (input) has a sigma-delta"),
        ("mnist.net", "LV506", "no neuron group"),
        ("gts/ntidigits/ntidigits.net", "LV506", "synaptic delays"),
    ],
)
def test_lava_dl_networks_we_cannot_run_are_refused_precisely(
    name: str, code: str, words: str
) -> None:
    with pytest.raises(SnnCompileError) as info:
        read_netx(_shipped(name))
    assert info.value.code == code and words in info.value.message


@pytest.mark.lava
@pytest.mark.timeout(240)
def test_lava_dl_tiny_network_runs_like_netx_in_lava() -> None:
    """lava-dl's shipped ``tiny.net`` (LOIHI neurons, conv with bias, 5x5 stride 2): the
    imported network, pipelined, spikes as netx runs the file in Lava (gated at each layer's
    start, as the pipeline does), bit for bit at every population."""
    from snncompile.targets.loihi.netx import run_netx

    path = _shipped("tiny.net")
    graph = PipelineDelays().run(read_netx(path), PassContext())
    x = np.random.default_rng(0).integers(0, 400, (12, 1, 3, 16, 16)).astype(np.float64)
    record = run_layerwise(graph, [x], record=True)
    populations = [n for n in graph.nodes if n.op == "population"]
    feed = record[populations[0].inputs[0].name][:, 0]
    outputs = run_netx(path, feed, mode="current", gated=True)
    assert len(outputs) == len(populations) == 3
    for node, got in zip(populations, outputs, strict=True):
        want = record[node.output.name][:, 0]
        start = node.attrs.start
        assert want[start:].sum() > 10, node.name
        np.testing.assert_array_equal(got[start:], want[start:], err_msg=node.name)


def _broken(path: Path, kind: str) -> Path:
    """A hand-made broken netx file of one kind."""
    import h5py

    def neuron(group: h5py.Group, skip: str = "") -> None:
        n = group.create_group("neuron")
        n.create_dataset("type", data=np.array([b"CUBA"]))
        for key, value in (("iDecay", 4096), ("vDecay", 1024), ("vThMant", 80)):
            if key != skip:
                n.create_dataset(key, data=value)

    def dense(group: h5py.Group, weight: np.ndarray, skip: str = "") -> None:
        group.create_dataset("type", data=np.array([b"dense"]))
        group.create_dataset("shape", data=np.array([weight.shape[0]]))
        group.create_dataset("weight", data=weight)
        neuron(group, skip)

    with h5py.File(path, "w") as handle:
        if kind == "layer_dataset":
            handle.create_dataset("layer", data=np.zeros(3))
            return path
        layers = handle.create_group("layer")
        if kind == "no_type":
            layers.create_group("0").create_dataset("weight", data=np.ones((2, 3)))
        elif kind == "keys":
            dense(layers.create_group("first"), np.ones((2, 3)))
        elif kind == "gap":
            dense(layers.create_group("0"), np.ones((2, 3)))
            dense(layers.create_group("2"), np.ones((2, 2)))
        elif kind == "negative_shape":
            first = layers.create_group("0")
            first.create_dataset("type", data=np.array([b"input"]))
            first.create_dataset("shape", data=np.array([3, -4, 4]))
            neuron(first)
        elif kind == "huge_shape":
            first = layers.create_group("0")
            first.create_dataset("type", data=np.array([b"input"]))
            first.create_dataset("shape", data=np.array([1 << 20, 1 << 20]))
            neuron(first)
        elif kind == "huge_weight":  # declared in the header only: never read
            group = layers.create_group("0")
            group.create_dataset("type", data=np.array([b"dense"]))
            group.create_dataset("shape", data=np.array([1 << 15]))
            group.create_dataset("weight", shape=(1 << 15, 1 << 14), dtype="i1")
            neuron(group)
        elif kind == "in_features":
            dense(layers.create_group("0"), np.ones((2, 3)))
            dense(layers.create_group("1"), np.ones((4, 5)))
        elif kind == "conv_rank":
            dense(layers.create_group("0"), np.ones((12, 3)))
            conv = layers.create_group("1")
            conv.create_dataset("type", data=np.array([b"conv"]))
            conv.create_dataset("weight", data=np.ones((2, 3, 3)))
            neuron(conv)
        elif kind == "no_threshold":
            dense(layers.create_group("0"), np.ones((2, 3)), skip="vThMant")
        elif kind == "no_weight":
            group = layers.create_group("0")
            group.create_dataset("type", data=np.array([b"dense"]))
            neuron(group)
        elif kind == "nan_weight":
            dense(layers.create_group("0"), np.full((2, 3), np.nan))
    return path


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("layer_dataset", "/layer is a dataset"),
        ("no_type", "layer/0: has no 'type' field"),
        ("keys", "named 0..n-1"),
        ("gap", "named 0..n-1"),
        ("negative_shape", "needs positive integers"),
        ("huge_shape", "elements (limit"),
        ("huge_weight", "'weight' holds 536870912 values"),
        ("in_features", "reads 5 values; its source has 2"),
        ("conv_rank", "conv weight of shape (2, 3, 3)"),
        ("no_threshold", "has no 'vThMant' field"),
        ("no_weight", "has no 'weight' field"),
        ("nan_weight", "not finite"),
    ],
)
def test_malformed_netx_files_have_lv521(tmp_path: Path, kind: str, words: str) -> None:
    path = _broken(tmp_path / f"{kind}.net", kind)
    assert path.stat().st_size < 1 << 20  # the huge cases are declared, not stored
    with pytest.raises(SnnCompileError) as info:
        read_netx(path)
    assert info.value.code == "LV521", info.value.render()
    assert words in info.value.message
