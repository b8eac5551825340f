"""snntorch ``RLeaky`` in the torch frontend: the recurrent synapses on a ``recurrent`` node
(the neuron's spikes of the previous step), exact against snntorch step by step."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from snncompile.diagnostics import SnnCompileError
from snncompile.frontend.torch import trace_with_info
from snncompile.ir.interpret import run_layerwise

snn = pytest.importorskip("snntorch")
snn_utils = pytest.importorskip("snntorch.utils")

T = 24


class StepRMLP(nn.Module):
    """Linear -> RLeaky (all-to-all Linear or one-to-one V) -> Linear -> Leaky, one step."""

    def __init__(self, one_to_one: bool, reset: str = "subtract", gain: float = 3.0) -> None:
        super().__init__()
        torch.manual_seed(2)
        self.fc1 = nn.Linear(10, 12)
        kw: dict[str, Any] = (
            {"all_to_all": False, "V": torch.linspace(-1.2, 0.9, 12) * gain / 3}
            if one_to_one
            else {"linear_features": 12}
        )
        self.lif1 = snn.RLeaky(
            beta=torch.full((12,), 0.8),
            threshold=1.0,
            init_hidden=True,
            reset_mechanism=reset,
            **kw,
        )
        self.fc2 = nn.Linear(12, 4)
        self.lif2 = snn.Leaky(beta=0.9, threshold=0.5, init_hidden=True, reset_mechanism=reset)
        with torch.no_grad():
            self.fc1.weight.mul_(3)
            self.fc2.weight.mul_(2)
            if not one_to_one:
                self.lif1.recurrent.weight.mul_(gain)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lif2(self.fc2(self.lif1(self.fc1(x))))


def _reference(model: nn.Module, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """snntorch's per-step output spikes, and the hidden RLeaky's spikes."""
    snn_utils.reset(model)
    outs, hidden = [], []
    with torch.no_grad():
        for t in range(x.shape[0]):
            outs.append(model(x[t]))
            hidden.append(model.lif1.spk.clone())
    return torch.stack(outs).numpy(), torch.stack(hidden).numpy()


@pytest.mark.parametrize("one_to_one", [False, True])
def test_step_rleaky_matches_snntorch_every_step(one_to_one: bool) -> None:
    model = StepRMLP(one_to_one).eval()
    x = torch.rand(T, 4, 10)
    info = trace_with_info(model, x, time_steps=T)
    ops = info.graph.op_counts()
    assert ops["recurrent"] == 1 and ops["lif"] == 2
    (rec,) = [n for n in info.graph.nodes if n.op == "recurrent"]
    lif1 = next(n for n in info.graph.nodes if n.op == "lif")
    assert rec.attrs.source == lif1.output.name
    out, hidden = _reference(model, x)
    got = run_layerwise(info.graph, [x.numpy()], record=True)
    np.testing.assert_array_equal(got[lif1.output.name], hidden)
    np.testing.assert_array_equal(got[info.graph.outputs[0].name], out)
    assert 10 < hidden.sum() < hidden.size - 10
    # the recurrence changes the hidden spikes (so the comparison above could fail)
    flat = StepRMLP(one_to_one, gain=0.0).eval()
    assert not np.array_equal(_reference(flat, x)[1], hidden)


def test_rleaky_zero_reset_and_loop_models_are_refused() -> None:
    x = torch.rand(T, 2, 10)
    with pytest.raises(SnnCompileError) as info:
        trace_with_info(StepRMLP(False, reset="zero").eval(), x, time_steps=T)
    assert info.value.code == "FE701" and "zeroes the whole update" in info.value.message

    class Loop(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(10, 6)
            self.lif = snn.RLeaky(beta=0.8, linear_features=6)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            spk, mem = self.lif.init_rleaky()
            out = []
            for t in range(x.shape[0]):
                spk, mem = self.lif(self.fc(x[t]), spk, mem)
                out.append(spk)
            return torch.stack(out)

    with pytest.raises(SnnCompileError) as info:
        trace_with_info(Loop().eval(), x, time_steps=T)
    assert info.value.code == "FE701" and "init_hidden=True" in info.value.message
