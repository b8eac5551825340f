"""NIR graphs as other tools write them, for the import tests.

snntorch and norse install here, so their fixtures are made by the tools themselves
(``snntorch.export_nir.export_to_nir``, ``norse.torch.to_nir``) from small seeded models at test
time, and the tests run the original torch model for reference. sinabs, rockpool and lava-dl do
not install here: their graphs are written with ``nir`` directly, following each tool's
conventions as read from its public source (see :mod:`snncompile.frontend.nir_conventions`), and
the tests compare with a numpy simulation of that tool's documented discrete dynamics.
"""

from __future__ import annotations

import itertools
from typing import Any

import nir
import numpy as np
import torch


def snntorch_model(seed: int = 0) -> tuple[torch.nn.Module, nir.NIRGraph]:
    """Linear -> Leaky -> Linear -> Leaky (reset to zero: the mechanism snntorch's own NIR
    import uses) and ``export_to_nir`` of it. Vector ``beta``/``threshold``: snntorch's export
    of a scalar beta fails NIR's type check (NIR issue 176)."""
    import snntorch as snn
    from snntorch.export_nir import export_to_nir

    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Linear(16, 12),
        snn.Leaky(
            beta=torch.full((12,), 0.8),
            threshold=torch.ones(12),
            init_hidden=True,
            reset_mechanism="zero",
        ),
        torch.nn.Linear(12, 4),
        snn.Leaky(
            beta=torch.full((4,), 0.9),
            threshold=torch.full((4,), 0.5),
            init_hidden=True,
            reset_mechanism="zero",
            output=True,
        ),
    )
    with torch.no_grad():
        for layer in (net[0], net[2]):
            layer.weight.mul_(3)
    return net, export_to_nir(net, torch.rand(16))


def run_snntorch(net: torch.nn.Module, x: torch.Tensor, steps: int) -> np.ndarray:
    """The spikes of the last layer at every step, ``[T, B, 4]``."""
    from snntorch import utils

    utils.reset(net)
    out = []
    with torch.no_grad():
        for _ in range(steps):
            spikes, _ = net(x)
            out.append(spikes.numpy())
    return np.stack(out)


def norse_model(seed: int = 0) -> tuple[torch.nn.Module, nir.NIRGraph]:
    """Linear -> LIFBoxCell -> Linear -> LIFBoxCell -> IAFCell and ``norse.torch.to_nir``."""
    import norse.torch as norse

    torch.manual_seed(seed)
    fast = norse.LIFBoxParameters(tau_mem_inv=torch.tensor(200.0), v_th=torch.tensor(0.5))
    net = norse.SequentialState(
        torch.nn.Linear(16, 12),
        norse.LIFBoxCell(fast),
        torch.nn.Linear(12, 4),
        norse.LIFBoxCell(),
        norse.IAFCell(),
    )
    with torch.no_grad():
        for layer in (net[0], net[2]):
            layer.weight.mul_(8)
    return net, norse.to_nir(net, torch.rand(1, 16))


def run_norse(net: torch.nn.Module, x: torch.Tensor, steps: int) -> np.ndarray:
    """The spikes of the IAF layer at every step, ``[T, B, 4]``."""
    state = None
    out = []
    with torch.no_grad():
        for _ in range(steps):
            spikes, state = net(x, state)
            out.append(spikes.numpy())
    return np.stack(out)


def _graph(nodes: dict[str, nir.NIRNode], edges: list[tuple[str, str]]) -> nir.NIRGraph:
    return nir.NIRGraph(nodes=nodes, edges=edges)


def sinabs_graph(seed: int = 0) -> tuple[nir.NIRGraph, dict[str, Any]]:
    """Conv2d -> IF -> SumPool2d -> Flatten -> Affine -> LIF as ``sinabs.to_nir`` writes it
    (``IF(r=1, v_threshold)``, ``LIF(tau, r=1, v_leak=0)``, tau in time steps, ``Flatten`` from
    torch's ``start_dim=1`` with a batch axis, which sinabs keeps: here written for NIR's
    batch-free tensors as ``start_dim=0``)."""
    rng = np.random.default_rng(seed)
    params = {
        "w": rng.normal(size=(2, 1, 3, 3)).astype(np.float32),
        "b": rng.normal(size=2).astype(np.float32),
        "fc_w": rng.normal(size=(5, 18)).astype(np.float32),
        "fc_b": rng.normal(size=5).astype(np.float32),
        "tau": 4.0,
        "thr_if": 1.0,
        "thr_lif": 1.5,
    }
    nodes = {
        "input": nir.Input(input_type={"input": np.array([1, 6, 6])}),
        "conv": nir.Conv2d((6, 6), params["w"], 1, 0, 1, 1, params["b"]),
        "iaf": nir.IF(r=np.ones((2, 4, 4)), v_threshold=np.full((2, 4, 4), params["thr_if"])),
        "pool": nir.SumPool2d(np.array([2, 2]), np.array([1, 1]), np.array([0, 0])),
        "flat": nir.Flatten(input_type={"input": np.array([2, 3, 3])}, start_dim=0),
        "fc": nir.Affine(weight=params["fc_w"], bias=params["fc_b"]),
        "lif": nir.LIF(
            tau=np.full(5, params["tau"]),
            r=np.ones(5),
            v_leak=np.zeros(5),
            v_threshold=np.full(5, params["thr_lif"]),
        ),
        "output": nir.Output(output_type={"output": np.array([5])}),
    }
    order = ["input", "conv", "iaf", "pool", "flat", "fc", "lif", "output"]
    return _graph(nodes, list(itertools.pairwise(order))), params


def run_sinabs(params: dict[str, Any], x: np.ndarray, steps: int) -> np.ndarray:
    """sinabs' discrete dynamics (SingleSpike, MembraneSubtract, ``v >= threshold``,
    ``alpha = exp(-1/tau)``, input unscaled)."""
    t = torch.from_numpy
    current = torch.nn.functional.conv2d(t(x), t(params["w"]), t(params["b"])).numpy()
    v_if = np.zeros_like(current)
    alpha = np.float32(np.exp(-1.0 / params["tau"]))
    v = np.zeros((x.shape[0], 5), np.float32)
    out = []
    for _ in range(steps):
        v_if = v_if + current
        s_if = (v_if >= params["thr_if"]).astype(np.float32)
        v_if = v_if - s_if * params["thr_if"]
        pooled = torch.nn.functional.avg_pool2d(t(s_if), 2, 1).numpy() * 4
        fc = pooled.reshape(len(x), -1) @ params["fc_w"].T + params["fc_b"]
        v = alpha * v + fc
        s = (v >= params["thr_lif"]).astype(np.float32)
        v = v - s * params["thr_lif"]
        out.append(s)
    return np.stack(out)


def lava_dl_graph(seed: int = 0) -> tuple[nir.NIRGraph, dict[str, Any]]:
    """Affine -> CubaLIF as the NIR paper's Lava scripts read it (dt = 1e-4,
    ``du = dt/tau_syn``, ``dv = dt/tau_mem``, ``r = tau_mem/dt``): a Loihi CUBA neuron with no
    current memory (``du = 1``: ``tau_syn = dt``)."""
    rng = np.random.default_rng(seed)
    dt = 1e-4
    params = {
        "w": rng.normal(size=(6, 8)).astype(np.float32),
        "b": rng.normal(size=6).astype(np.float32) * 0.1,
        "dv": 0.25,
        "thr": 1.0,
    }
    tau_mem = dt / params["dv"]
    nodes = {
        "input": nir.Input(input_type={"input": np.array([8])}),
        "fc": nir.Affine(weight=params["w"], bias=params["b"]),
        "cuba": nir.CubaLIF(
            tau_syn=np.full(6, dt),
            tau_mem=np.full(6, tau_mem),
            r=np.full(6, tau_mem / dt),
            v_leak=np.zeros(6),
            v_threshold=np.full(6, params["thr"]),
            w_in=np.ones(6),
        ),
        "output": nir.Output(output_type={"output": np.array([6])}),
    }
    edges = [("input", "fc"), ("fc", "cuba"), ("cuba", "output")]
    return _graph(nodes, edges), params


def run_lava_dl(params: dict[str, Any], x: np.ndarray, steps: int) -> np.ndarray:
    """Loihi CUBA in float: ``u = (1-du)·u + a_in``, ``v = (1-dv)·v + u``, spike on
    ``v > vth``, ``v = 0`` after a spike (``du = 1``)."""
    current = x @ params["w"].T + params["b"]
    v = np.zeros_like(current)
    out = []
    for _ in range(steps):
        u = current
        v = (1 - params["dv"]) * v + u
        s = (v > params["thr"]).astype(np.float32)
        v = v * (1 - s)
        out.append(s)
    return np.stack(out)


def rockpool_graph(seed: int = 0) -> nir.NIRGraph:
    """Linear -> CubaLIF as ``rockpool.nn.modules.torch.nir.to_nir`` writes a ``LIFTorch``:
    ``r = tau_mem · exp(-dt/tau_mem) / dt`` with ``dt = 1e-3``, and a synaptic current with
    memory (``tau_syn = 20 ms``)."""
    rng = np.random.default_rng(seed)
    dt, tau_mem, tau_syn = 1e-3, 2e-2, 2e-2
    nodes = {
        "input": nir.Input(input_type={"input": np.array([8])}),
        "fc": nir.Linear(weight=rng.normal(size=(6, 8))),
        "lif": nir.CubaLIF(
            tau_syn=np.full(6, tau_syn),
            tau_mem=np.full(6, tau_mem),
            r=np.full(6, tau_mem * np.exp(-dt / tau_mem) / dt),
            v_leak=np.zeros(6),
            v_threshold=np.ones(6),
        ),
        "output": nir.Output(output_type={"output": np.array([6])}),
    }
    return _graph(nodes, [("input", "fc"), ("fc", "lif"), ("lif", "output")])
