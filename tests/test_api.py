"""The Python API: snncompile.compile(...).run(...), and running a compiled artifact."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import snncompile
from snncompile.cli import main
from snncompile.data.digits import load_digits_split
from snncompile.diagnostics import SnnCompileError
from snncompile.models.neuron import MultiStepLIFNode

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "digits"


class TinySNN(torch.nn.Module):
    """Conv + LIF + linear readout, multi-step with T folded into the batch (zoo style)."""

    def __init__(self, steps: int = 3) -> None:
        super().__init__()
        self.steps = steps
        self.conv = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.lif = MultiStepLIFNode(tau=2.0, detach_reset=True)
        self.head = torch.nn.Linear(4 * 8 * 8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.unsqueeze(0).repeat(self.steps, 1, 1, 1, 1)
        t, b = x.shape[:2]
        y = self.conv(x.flatten(0, 1)).reshape(t, b, 4, 8, 8)
        s = self.lif(y)
        return self.head(s.flatten(2)).mean(0)


def test_compile_a_module_and_run_every_mode() -> None:
    torch.manual_seed(0)
    model = TinySNN().eval()
    x = torch.rand(5, 1, 8, 8) * 2
    compiled = snncompile.compile(model, example_input=x, time_steps=3)
    assert compiled.depth >= 1
    pipelined = compiled.run(x)
    layerwise = compiled.run(x, mode="layerwise")
    np.testing.assert_array_equal(pipelined.logits, layerwise.logits)
    assert pipelined.latency_steps == 3 + compiled.depth
    assert pipelined.stats is not None and pipelined.stats.samples == 5
    with torch.no_grad():
        reference = model(x).numpy()
    np.testing.assert_allclose(compiled.run(x, backend="float").logits, reference, atol=1e-5)
    recorded = compiled.run(x, record=True)
    lif = next(iter(recorded.spikes.values()))
    assert lif.shape[:2] == (3 + compiled.depth, 5)


def test_compile_refuses_unknown_options_and_backends() -> None:
    with pytest.raises(SnnCompileError, match="CF201"):
        snncompile.compile(EXAMPLES / "spikingformer.pt", expand_sewww=True)
    compiled = snncompile.compile(EXAMPLES / "spikingformer.pt")
    with pytest.raises(SnnCompileError, match="CF201"):
        compiled.run(np.zeros((1, 1, 16, 16)), backend="gpu")


def test_run_a_compiled_artifact(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "art"
    model = str(EXAMPLES / "spikingformer.pt")
    assert main([model, "--target", "loihi", "-o", str(out)]) == 0
    report = tmp_path / "run.json"
    assert main(["run", str(out), "--limit", "16", "--json", str(report)]) == 0
    from_artifact = json.loads(report.read_text())
    assert main(["run", model, "--limit", "16", "--json", str(report)]) == 0
    from_model = json.loads(report.read_text())
    assert from_artifact["predictions"] == from_model["predictions"]
    assert from_artifact["latency_steps"] == from_model["latency_steps"]
    assert from_artifact["accuracy"] is not None  # the card beside the source gives the data
    compiled = snncompile.api.compile_config(out, snncompile.config.CompileConfig())
    split = load_digits_split(image_size=16)
    floats = compiled.run(split.x_test[:4], backend="float")  # recompiled from the source
    assert floats.logits.shape == (4, 10)


def test_api_and_cli_trace_the_same_graph_in_one_dtype() -> None:
    """One trace dtype (driver.TRACE_DTYPE, float32) for the API and every command: the API's
    traced graph prints exactly as the driver's (which compile, run and check read)."""
    from snncompile.config import CompileConfig
    from snncompile.driver import TRACE_DTYPE, read_model
    from snncompile.ir.printer import print_graph

    path = EXAMPLES / "spikingformer.pt"
    graph, _ = read_model(path, CompileConfig())
    assert TRACE_DTYPE == "float32"
    assert {v.type.dtype for v in graph.values()} == {"f32"}
    api_graph = snncompile.compile(path, "sim").graph
    assert print_graph(api_graph) == print_graph(graph)
