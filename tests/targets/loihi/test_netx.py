"""netx export: sequential chains go to lava-dl's HDF5 format and run the same spikes in Lava."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from snncompile.config import CompileConfig
from snncompile.diagnostics import SnnCompileError
from snncompile.frontend.netx import read_netx
from snncompile.frontend.torch import trace
from snncompile.ir.graph import Graph, GraphBuilder
from snncompile.ir.interpret import run_layerwise
from snncompile.ir.ops.network import PopulationAttrs, ProjectionAttrs
from snncompile.ir.types import TensorType
from snncompile.models.neuron import MultiStepLIFNode
from snncompile.passes.manager import PassContext
from snncompile.passes.pipeline_delays import PipelineDelays
from snncompile.targets.loihi.netx import export_netx, netx_layers, run_netx
from snncompile.targets.sim.program import build_program

T = 4
STEPS = 16


def _lif() -> nn.Module:
    return MultiStepLIFNode(tau=2.0, detach_reset=True)


class LinearChain(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.l1, self.n1 = nn.Linear(8, 12), _lif()
        self.l2, self.n2 = nn.Linear(12, 6), _lif()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.unsqueeze(0).repeat(T, 1, 1)
        return self.n2(self.l2(self.n1(self.l1(x)))).mean(0)


class ConvChain(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.c1, self.n1 = nn.Conv2d(1, 4, 3, padding=1), _lif()
        self.c2, self.n2 = nn.Conv2d(4, 4, 3, stride=2), _lif()
        self.l3, self.n3 = nn.Linear(36, 5), _lif()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.unsqueeze(0).repeat(T, 1, 1, 1, 1)
        t, b = x.shape[:2]
        y = self.n1(self.c1(x.flatten(0, 1)).reshape(t, b, 4, 8, 8))
        y = self.n2(self.c2(y.flatten(0, 1)).reshape(t, b, 4, 3, 3))
        return self.n3(self.l3(y.flatten(2))).mean(0)


def _traced(kind: type[nn.Module], shape: tuple[int, ...], bias: float) -> Graph:
    """The pipelined network of a seeded ``kind()`` with ``bias`` added to every layer bias."""
    torch.manual_seed(0)
    model = kind()
    for name, p in model.named_parameters():
        if name.endswith("bias"):
            p.data.add_(bias)
    graph = trace(
        model.double().eval(), torch.zeros((2, *shape), dtype=torch.float64), time_steps=T
    )
    return build_program(graph, CompileConfig(allow_host_ops=True)).pipelined


def _spike_chain() -> Graph:
    """x (spikes, 10) -> dense -> lif(du=1000, bias) -> dense -> lif, as network IR directly."""
    rng = np.random.default_rng(3)
    b = GraphBuilder("spikes", "network")
    x = b.input("x", TensorType((10,), "f64"))
    w1 = (rng.integers(-30, 60, (12, 10)) * 2).astype(np.float64)
    p1 = b.add_node("projection", [x], ProjectionAttrs("dense", weight=w1), name="h.in0")
    h = b.add_node(
        "population",
        [p1],
        PopulationAttrs("lif", du=1000, dv=300, vth=150, bias_mant=np.full((12,), 3.0), bias_exp=6),
        name="h",
    )
    w2 = rng.integers(-40, 90, (6, 12)).astype(np.float64)
    p2 = b.add_node("projection", [h], ProjectionAttrs("dense", weight=w2), name="o.in0")
    o = b.add_node("population", [p2], PopulationAttrs("lif", du=4095, dv=0, vth=100), name="o")
    return PipelineDelays().run(b.finish([o]), PassContext())


def _compare(graph: Graph, path: Path, x: np.ndarray, *, spikes_in: bool) -> list[int]:
    """Run ``graph`` (pipelined) and its netx export; every population equal from its start."""
    record = run_layerwise(graph, [x], record=True)
    populations = [n for n in graph.nodes if n.op == "population"]
    if spikes_in:
        feed = x[:, 0]
    else:
        entry = populations[0].inputs[0]
        feed = record[entry.name][:, 0]
    outputs = run_netx(path, feed)
    assert len(outputs) == len(populations)
    counts = []
    for node, got in zip(populations, outputs, strict=True):
        want = record[node.output.name][:, 0]
        start = node.attrs.start
        np.testing.assert_array_equal(got[start:], want[start:], err_msg=node.name)
        counts.append(int(want.sum()))
    return counts


@pytest.mark.lava
@pytest.mark.timeout(240)
def test_linear_chain_matches_lava(tmp_path: Path) -> None:
    graph = _traced(LinearChain, (8,), 0.6)
    path = export_netx(graph, tmp_path / "linear.net")
    x = np.random.default_rng(1).random((STEPS, 1, 8)) * 8
    counts = _compare(graph, path, x, spikes_in=False)
    assert all(c > 0 for c in counts), counts


@pytest.mark.lava
@pytest.mark.timeout(240)
def test_conv_flatten_dense_chain_matches_lava(tmp_path: Path) -> None:
    graph = _traced(ConvChain, (1, 8, 8), 0.6)
    path = export_netx(graph, tmp_path / "conv.net")
    x = np.random.default_rng(1).random((STEPS, 1, 1, 8, 8)) * 8
    counts = _compare(graph, path, x, spikes_in=False)
    assert counts[0] > 0, counts


@pytest.mark.lava
@pytest.mark.timeout(240)
def test_spike_input_chain_with_biases_matches_lava(tmp_path: Path) -> None:
    graph = _spike_chain()
    path = export_netx(graph, tmp_path / "spikes.net")
    x = (np.random.default_rng(2).random((STEPS, 1, 10)) < 0.4).astype(np.float64)
    counts = _compare(graph, path, x, spikes_in=True)
    assert all(c > 0 for c in counts), counts


def test_export_reimports_to_the_same_network(tmp_path: Path) -> None:
    for graph, shape in ((_traced(ConvChain, (1, 8, 8), 0.6), None), (_spike_chain(), (10,))):
        path = export_netx(graph, tmp_path / f"{graph.name}.net")
        imported = PipelineDelays().run(read_netx(path), PassContext())
        populations = [n for n in graph.nodes if n.op == "population"]
        rng = np.random.default_rng(0)
        if shape is None:  # current input: feed the original's input-projection output
            x = rng.random((STEPS, 2, 1, 8, 8)) * 2
            record = run_layerwise(graph, [x], record=True)
            entry = populations[0].inputs[0].producer
            assert entry is not None
            feed = record[entry.inputs[0].name]  # the host current before the chip
        else:
            feed = (rng.random((STEPS, 2, *shape)) < 0.4).astype(np.float64)
            record = run_layerwise(graph, [feed], record=True)
        mine = run_layerwise(imported, [feed], record=True)
        ours = [n for n in imported.nodes if n.op == "population"]
        for a, b in zip(populations, ours, strict=True):
            got = mine[b.output.name]
            want = record[a.output.name]
            np.testing.assert_array_equal(got, want, err_msg=a.name)
            assert b.attrs.start == a.attrs.start


def test_non_sequential_networks_are_refused() -> None:
    from snncompile.frontend.load import load_configured, to_graph

    config = CompileConfig(expand_sew=True, allow_host_ops=True)
    digits = Path(__file__).resolve().parents[3] / "examples" / "digits" / "spikingformer.pt"
    program = build_program(to_graph(load_configured(digits, config), torch.float64), config)
    with pytest.raises(SnnCompileError) as info:
        netx_layers(program.pipelined)
    assert info.value.code == "LV505"
    assert "netx cannot express it" in info.value.render()


def or_graph() -> Graph:
    """A chain whose second population is an ``or`` neuron, which netx has not."""
    b = GraphBuilder("branch", "network")
    x = b.input("x", TensorType((4,), "f64"))
    w = np.eye(4) * 2
    p = b.add_node("projection", [x], ProjectionAttrs("dense", weight=w), name="a.in0")
    a = b.add_node("population", [p], PopulationAttrs("lif", vth=1), name="a")
    q = b.add_node("projection", [a], ProjectionAttrs("dense", weight=w), name="c.in0")
    c = b.add_node("population", [q], PopulationAttrs("or"), name="c")
    return b.finish([c])


def test_refusals_name_the_construct() -> None:
    with pytest.raises(SnnCompileError) as info:
        netx_layers(or_graph())
    assert info.value.code == "LV505" and "%c (population)" in info.value.render()
