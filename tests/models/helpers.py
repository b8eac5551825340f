"""Shared checks for the zoo family tests (forward pass at a small resolution, fx tracing)."""

from __future__ import annotations

import torch
import torch.fx
from torch import nn

from snncompile.models.neuron import is_neuron, reset_net
from snncompile.models.registry import ModelSpec


class NeuronLeafTracer(torch.fx.Tracer):
    """The compiler frontend's view: neurons are leaf modules."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return is_neuron(m) or super().is_leaf_module(m, module_qualified_name)


def small_input(spec: ModelSpec, size: int, batch: int = 2, time_steps: int = 2) -> torch.Tensor:
    """A random input of the spec's layout at ``size`` x ``size``."""
    g = torch.Generator().manual_seed(0)
    if spec.extra.get("input") == "frames":
        return (
            torch.rand(batch, time_steps, spec.in_channels, size, size, generator=g) < 0.3
        ).float()
    return torch.rand(batch, spec.in_channels, size, size, generator=g)


def check_small_forward(spec: ModelSpec, size: int) -> None:
    """Shape, finiteness, binary spikes, unused modules never called, fx trace equals eager."""
    torch.manual_seed(0)
    model = spec.build(img_size_h=size, img_size_w=size, T=2).eval()
    x = small_input(spec, size)
    spikes: list[torch.Tensor] = []
    called: list[str] = []
    hooks = []
    for name, module in model.named_modules():
        if is_neuron(module):
            hooks.append(module.register_forward_hook(lambda m, i, o: spikes.append(o)))
        if name.endswith(("norm1", "norm2", "res_lif", "attn_drop")) or name == "norm":
            hooks.append(module.register_forward_hook(lambda m, i, o, n=name: called.append(n)))
    with torch.no_grad():
        y = model(x)
    for h in hooks:
        h.remove()
    assert y.shape == (x.shape[0], spec.num_classes)
    assert torch.isfinite(y).all()
    assert spikes, "no neuron ran"
    for s in spikes:
        assert s.shape[0] == 2, "neurons see [T, ...] with T first"
        assert ((s == 0) | (s == 1)).all(), "neuron output is not binary"
    assert called == [], f"modules documented as unused were called: {called}"
    n_neurons = sum(1 for m in model.modules() if is_neuron(m))
    n_unused = sum(1 for n, m in model.named_modules() if is_neuron(m) and n.endswith("res_lif"))
    assert len(spikes) == n_neurons - n_unused, "every (used) neuron runs once per forward"

    reset_net(model)
    graph = torch.fx.GraphModule(model, NeuronLeafTracer().trace(model))
    with torch.no_grad():
        y_fx = graph(x)
    reset_net(model)
    assert torch.equal(y, y_fx), "fx-traced model differs from eager"
