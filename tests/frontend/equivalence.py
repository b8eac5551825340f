"""Helpers: run a PyTorch model and its traced IR side by side, compare logits and spikes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from snncompile.frontend.neurons import is_neuron
from snncompile.frontend.simulate import time_major_inputs
from snncompile.frontend.torch import trace_with_info
from snncompile.ir.graph import Graph
from snncompile.ir.interpret import run_layerwise


@dataclass
class Comparison:
    graph: Graph
    torch_logits: np.ndarray
    ir_logits: np.ndarray
    torch_spikes: dict[str, list[np.ndarray]]
    ir_spikes: dict[str, list[np.ndarray]]


def reset_state(model: nn.Module) -> None:
    for module in model.modules():
        reset = getattr(module, "reset", None)
        if callable(reset):
            reset()


def torch_run(model: nn.Module, x: torch.Tensor) -> tuple[np.ndarray, dict[str, list[np.ndarray]]]:
    """Logits and every neuron's ``[T, B, ...]`` spikes (by module path, one per call)."""
    spikes: dict[str, list[np.ndarray]] = {}
    handles = []
    for path, module in model.named_modules():
        if is_neuron(module):

            def hook(m: nn.Module, args: object, out: torch.Tensor, path: str = path) -> None:
                spikes.setdefault(path, []).append(out.detach().numpy().copy())

            handles.append(module.register_forward_hook(hook))
    reset_state(model)
    try:
        with torch.no_grad():
            logits = model(x).detach().numpy()
    finally:
        for handle in handles:
            handle.remove()
        reset_state(model)
    return logits, spikes


def ir_run(
    graph: Graph, x: torch.Tensor, time_steps: int, input_layout: str | None = None
) -> tuple[np.ndarray, dict[str, list[np.ndarray]]]:
    """Logits averaged over T and every lif node's ``[T, B, ...]`` spikes by module path."""
    steps = time_major_inputs(graph, x, time_steps, input_layout)
    values = run_layerwise(graph, [steps], record=True)
    logits = values[graph.outputs[0].name].mean(axis=0)
    spikes: dict[str, list[np.ndarray]] = {}
    for node in graph.nodes:
        if node.op == "lif":
            assert node.loc is not None and node.loc.module is not None
            spikes.setdefault(node.loc.module, []).append(values[node.output.name])
    return logits, spikes


def compare(
    model: nn.Module, x: torch.Tensor, time_steps: int, *, input_layout: str | None = None
) -> Comparison:
    """Trace ``model`` on ``x`` and run both sides on ``x``."""
    model.eval()
    info = trace_with_info(model, x, time_steps=time_steps, input_layout=input_layout)
    torch_logits, torch_spikes = torch_run(model, x)
    ir_logits, ir_spikes = ir_run(info.graph, x, time_steps, info.input_layout)
    return Comparison(info.graph, torch_logits, ir_logits, torch_spikes, ir_spikes)


def assert_equivalent(c: Comparison, rtol: float = 1e-5) -> None:
    """Logits within ``rtol`` (relative to the largest logit) and identical spike tensors."""
    assert c.ir_logits.shape == c.torch_logits.shape
    scale = max(float(np.abs(c.torch_logits).max()), 1e-12)
    err = float(np.abs(c.ir_logits - c.torch_logits).max()) / scale
    assert err <= rtol, f"logits differ: max relative error {err:.3g}"
    assert set(c.ir_spikes) == set(c.torch_spikes), sorted(set(c.ir_spikes) ^ set(c.torch_spikes))
    for path, torch_list in c.torch_spikes.items():
        ir_list = c.ir_spikes[path]
        assert len(ir_list) == len(torch_list), path
        for got, want in zip(ir_list, torch_list, strict=True):
            assert got.shape == want.shape, (path, got.shape, want.shape)
            mismatches = int((got != want).sum())
            assert mismatches == 0, f"{path}: {mismatches} of {want.size} spikes differ"


def randomize(model: nn.Module, seed: int) -> nn.Module:
    """Random batch-norm statistics and affine parameters (so that neurons fire at useful
    rates), and positive firing-rate buffers where a family has them (SpikingResformer)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                c = module.num_features
                module.weight.copy_(0.5 + 1.5 * torch.rand(c, generator=gen))
                module.bias.copy_(0.4 + 0.6 * torch.randn(c, generator=gen))
                module.running_mean.copy_(0.1 * torch.randn(c, generator=gen))
                module.running_var.copy_(0.5 + torch.rand(c, generator=gen))
            for name in ("firing_rate_x", "firing_rate_attn"):
                buffer = getattr(module, name, None)
                if isinstance(buffer, torch.Tensor):
                    buffer.copy_(0.05 + 0.3 * torch.rand(buffer.shape, generator=gen))
    return model
