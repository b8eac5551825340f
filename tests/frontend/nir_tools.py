"""NIR files written by the real tools, each with the tool's own forward: the cases of the
tool × neuron × option table in docs/nir.md (rendered by ``tools/gen_docs.py`` from
:data:`CASES`; ``tests/frontend/test_nir_tools.py`` proves every row).

Each case builds a small seeded network in the tool, exports it with the tool's own exporter
(snntorch ``export_to_nir``, norse ``to_nir``, sinabs ``to_nir``, rockpool ``to_nir``), and
runs the tool's forward for ``STEPS`` steps on a fixed random input that changes every step.
The expected outcome is ``exact`` (snncompile's import simulates the same spikes at every step),
a refusal with a code, or a warning with a code (the import goes on with an assumption).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

STEPS = 30
#: The tool versions the cases were written for (the dev extra pins them).
VERSIONS = {"snntorch": "1.0.0", "norse": "1.1.0", "sinabs": "3.1.3", "rockpool": "3.1.0"}


@dataclass(frozen=True)
class Case:
    """One row of the table.

    Attributes:
        tool: the writing tool (also the ``--nir-convention``).
        neuron: the tool's neuron (and layers) in words.
        options: the import options, as ``import_nir`` keywords (CLI: ``--nir-*``).
        expect: ``exact``, or a diagnostic code (``IX8xx``: refused; with ``warn`` a warning).
        build: ``seed -> (graph, run)``; ``run(x)`` is the tool's forward on ``[T, B, *shape]``
            returning the output spikes ``[T, B, *out]``.
        warn: the code is a warning, the import goes on.
        same: for a warning, whether the import (with its assumption) then equals the tool.
        note: what the row shows.
    """

    tool: str
    neuron: str
    options: dict[str, Any]
    expect: str
    build: Callable[[int], tuple[Any, Callable[[np.ndarray], np.ndarray]]]
    warn: bool = False
    note: str = ""
    input_shape: tuple[int, ...] = (16,)
    scale: float = 1.0
    same: bool | None = None

    @property
    def id(self) -> str:
        opts = "-".join(f"{k}={v}" for k, v in self.options.items()) or "none"
        return f"{self.tool}-{self.neuron.split(' ')[0].strip(',')}-{opts}-{self.expect}"

    @property
    def status(self) -> str:
        if self.expect == "exact":
            return "exact"
        return f"warns {self.expect}" if self.warn else f"refused {self.expect}"


def installed(tool: str) -> bool:
    return importlib.util.find_spec(tool) is not None


# --- snntorch ---------------------------------------------------------------------------------


def _snntorch(kind: str, reset: str = "zero") -> Callable[[int], Any]:
    def build(seed: int) -> tuple[Any, Callable[[np.ndarray], np.ndarray]]:
        import snntorch as snn
        from snntorch import utils
        from snntorch.export_nir import export_to_nir

        torch.manual_seed(seed)
        if kind == "leaky":
            neurons: list[torch.nn.Module] = [
                snn.Leaky(
                    beta=torch.full((12,), 0.8),
                    threshold=torch.ones(12),
                    init_hidden=True,
                    reset_mechanism=reset,
                ),
                snn.Leaky(
                    beta=torch.linspace(0.5, 0.95, 4),
                    threshold=torch.full((4,), 0.5),
                    init_hidden=True,
                    reset_mechanism=reset,
                    output=True,
                ),
            ]
        elif kind in ("rleaky", "rleaky_v"):
            one_to_one = kind == "rleaky_v"
            neurons = [
                snn.RLeaky(
                    beta=torch.full((12,), 0.8),
                    threshold=torch.ones(12),
                    linear_features=None if one_to_one else 12,
                    all_to_all=not one_to_one,
                    V=torch.linspace(-1.5, 1.0, 12) if one_to_one else 1.0,
                    init_hidden=True,
                    reset_mechanism=reset,
                ),
                snn.Leaky(
                    beta=torch.full((4,), 0.9),
                    threshold=torch.full((4,), 0.5),
                    init_hidden=True,
                    reset_mechanism=reset,
                    output=True,
                ),
            ]
        elif kind in ("rsynaptic", "rsynaptic0"):  # the recurrent current joins syn
            neurons = [
                snn.RSynaptic(
                    alpha=torch.full((12,), 0.0 if kind == "rsynaptic0" else 0.5),
                    beta=torch.full((12,), 0.8),
                    threshold=torch.ones(12),
                    linear_features=12,
                    init_hidden=True,
                    reset_mechanism=reset,
                ),
                snn.Leaky(
                    beta=torch.full((4,), 0.9),
                    threshold=torch.full((4,), 0.5),
                    init_hidden=True,
                    reset_mechanism=reset,
                    output=True,
                ),
            ]
        else:  # synaptic, alpha 0 or 0.5
            alpha = 0.0 if kind == "synaptic0" else 0.5
            neurons = [
                snn.Synaptic(
                    alpha=torch.full((12,), alpha),
                    beta=torch.full((12,), 0.8),
                    threshold=torch.ones(12),
                    init_hidden=True,
                    reset_mechanism=reset,
                ),
                snn.Synaptic(
                    alpha=torch.full((4,), alpha),
                    beta=torch.full((4,), 0.9),
                    threshold=torch.full((4,), 0.5),
                    init_hidden=True,
                    reset_mechanism=reset,
                    output=True,
                ),
            ]
        net = torch.nn.Sequential(
            torch.nn.Linear(16, 12), neurons[0], torch.nn.Linear(12, 4), neurons[1]
        )
        with torch.no_grad():
            for layer in (net[0], net[2]):
                layer.weight.mul_(3)
            if kind in ("rleaky", "rsynaptic0"):  # recurrence that changes the output spikes
                net[1].recurrent.weight.mul_(4)
        graph = export_to_nir(net, torch.rand(16))

        def run(x: np.ndarray) -> np.ndarray:
            utils.reset(net)
            out = []
            with torch.no_grad():
                for step in x:
                    result = net(torch.from_numpy(step))
                    out.append(result[0].numpy())
            return np.stack(out)

        return graph, run

    return build


# --- norse ------------------------------------------------------------------------------------


def _norse(kind: str) -> Callable[[int], Any]:
    def build(seed: int) -> tuple[Any, Callable[[np.ndarray], np.ndarray]]:
        import norse.torch as norse

        torch.manual_seed(seed)
        fast = norse.LIFBoxParameters(tau_mem_inv=torch.tensor(200.0), v_th=torch.tensor(0.5))
        if kind == "mlp":
            net = norse.SequentialState(
                torch.nn.Linear(16, 12),
                norse.LIFBoxCell(fast),
                torch.nn.Linear(12, 4),
                norse.LIFBoxCell(),
                norse.IAFCell(),
            )
            sample = torch.rand(1, 16)
            layers = (net[0], net[2])
        elif kind == "conv":
            net = norse.SequentialState(torch.nn.Conv2d(1, 3, 3), norse.LIFBoxCell(fast))
            sample = torch.rand(1, 1, 6, 6)
            layers = (net[0],)
        elif kind == "recurrent":
            net = norse.SequentialState(torch.nn.Linear(16, 4), norse.LIFRecurrentCell(4, 4))
            sample = torch.rand(1, 16)
            layers = (net[0],)
        else:  # LIFCell: a current with memory
            net = norse.SequentialState(torch.nn.Linear(16, 4), norse.LIFCell())
            sample = torch.rand(1, 16)
            layers = (net[0],)
        with torch.no_grad():
            for layer in layers:
                layer.weight.mul_(8)
        graph = norse.to_nir(net, sample)

        def run(x: np.ndarray) -> np.ndarray:
            state = None
            out = []
            with torch.no_grad():
                for step in x:
                    spikes, state = net(torch.from_numpy(step), state)
                    out.append(spikes.numpy())
            return np.stack(out)

        return graph, run

    return build


# --- sinabs -----------------------------------------------------------------------------------


def _sinabs(kind: str, single: bool = True, norm_input: bool = False) -> Callable[[int], Any]:
    def build(seed: int) -> tuple[Any, Callable[[np.ndarray], np.ndarray]]:
        import sinabs.activation as sa
        import sinabs.layers as sl
        from sinabs.nir import to_nir

        torch.manual_seed(seed)
        spike = sa.SingleSpike if single else sa.MultiSpike
        if kind == "iaf":
            net = torch.nn.Sequential(
                torch.nn.Conv2d(1, 2, 3),
                sl.IAFSqueeze(batch_size=2, spike_fn=spike),
                sl.SumPool2d(2),
                torch.nn.Flatten(),
                torch.nn.Linear(8, 5),
                sl.IAFSqueeze(batch_size=2, spike_fn=spike, spike_threshold=torch.tensor(2.0)),
            )
            sample = torch.rand(2, 1, 6, 6)
            layers = (net[0], net[4])
        else:
            net = torch.nn.Sequential(
                torch.nn.Linear(16, 6),
                sl.LIFSqueeze(
                    tau_mem=torch.tensor(4.0),
                    batch_size=2,
                    spike_fn=spike,
                    norm_input=norm_input,
                ),
            )
            sample = torch.rand(2, 16)
            layers = (net[0],)
        with torch.no_grad():
            for layer in layers:
                layer.weight.mul_(4 if norm_input else 2)
        graph = to_nir(net, sample)

        def run(x: np.ndarray) -> np.ndarray:
            steps, batch = x.shape[:2]
            for module in net.modules():
                if hasattr(module, "reset_states"):
                    module.reset_states()
            flat = torch.from_numpy(np.swapaxes(x, 0, 1).reshape(batch * steps, *x.shape[2:]))
            with torch.no_grad():
                out = net(flat).numpy()
            return np.swapaxes(out.reshape(batch, steps, *out.shape[1:]), 0, 1)

        return graph, run

    return build


# --- rockpool ---------------------------------------------------------------------------------


def _rockpool(kind: str, single: bool = True) -> Callable[[int], Any]:
    def build(seed: int) -> tuple[Any, Callable[[np.ndarray], np.ndarray]]:
        from rockpool.nn.combinators import Sequential
        from rockpool.nn.modules import LIFNeuronTorch, LIFTorch, LinearTorch
        from rockpool.nn.modules.torch.nir import to_nir

        torch.manual_seed(seed)
        extra = {"max_spikes_per_dt": torch.tensor(1.0)} if single else {}
        if kind == "lif":
            neuron = LIFNeuronTorch(6, tau_mem=0.02, threshold=1.0, dt=1e-3, **extra)
        elif kind == "recurrent":
            neuron = LIFTorch(6, tau_mem=0.02, tau_syn=0.01, dt=1e-3, has_rec=True, **extra)
        else:
            neuron = LIFTorch(6, tau_mem=0.02, tau_syn=0.01, dt=1e-3, **extra)
        net = Sequential(LinearTorch((16, 6)), neuron)
        with torch.no_grad():
            net[0].weight.mul_(2)
        graph = to_nir(net, torch.zeros(1, 16))

        def run(x: np.ndarray) -> np.ndarray:
            net.reset_state()
            with torch.no_grad():
                out, _, _ = net(torch.from_numpy(np.swapaxes(x, 0, 1)))
            return np.swapaxes(out.detach().numpy(), 0, 1)

        return graph, run

    return build


_SUB = {"reset": "subtract"}
CASES: tuple[Case, ...] = (
    Case(
        "snntorch",
        "Leaky (reset_mechanism zero)",
        {"reset": "value"},
        "exact",
        _snntorch("leaky", "zero"),
    ),
    Case(
        "snntorch",
        "Leaky (reset_mechanism subtract, the default)",
        _SUB,
        "exact",
        _snntorch("leaky", "subtract"),
        note="snntorch's own update (lif snntorch dynamics)",
    ),
    Case(
        "snntorch",
        "Leaky",
        {},
        "IX811",
        _snntorch("leaky", "subtract"),
        note="the file cannot say the reset",
    ),
    Case(
        "snntorch",
        "Leaky (reset_mechanism zero)",
        {"strict": False},
        "IX812",
        _snntorch("leaky", "zero"),
        warn=True,
        same=True,
        note="assumes reset value (zero); exact for this model",
    ),
    Case(
        "snntorch",
        "Synaptic (alpha 0)",
        _SUB,
        "exact",
        _snntorch("synaptic0", "subtract"),
        note="float32 tau_syn within tolerance of dt",
    ),
    Case(
        "snntorch",
        "Synaptic (alpha 0.5)",
        _SUB,
        "IX808",
        _snntorch("synaptic", "subtract"),
        note="a synaptic current with memory",
    ),
    Case(
        "snntorch",
        "RLeaky all_to_all (recurrent Linear)",
        _SUB,
        "exact",
        _snntorch("rleaky", "subtract"),
        note="the `1.lif` → `1.w_rec` → `1.lif` cycle: a one-step recurrent edge",
    ),
    Case(
        "snntorch",
        "RLeaky one-to-one V",
        _SUB,
        "exact",
        _snntorch("rleaky_v", "subtract"),
        note="V as a diagonal Linear in the cycle",
    ),
    Case(
        "snntorch",
        "RSynaptic (alpha 0)",
        _SUB,
        "exact",
        _snntorch("rsynaptic0", "subtract"),
        note="the recurrent current joins a current that decays fully each step",
    ),
    Case(
        "snntorch",
        "RSynaptic (alpha 0.5)",
        _SUB,
        "IX808",
        _snntorch("rsynaptic", "subtract"),
        note="the recurrent current enters a synaptic current with memory",
    ),
    Case(
        "snntorch",
        "RLeaky (reset_mechanism zero)",
        {"reset": "value"},
        "IX814",
        _snntorch("rleaky", "zero"),
        note="RLeaky zeroes β·V + X + V·S; the lif op zeroes only β·V",
    ),
    Case(
        "norse",
        "LIFBoxCell, IAFCell (MLP)",
        {"dt": 1e-3},
        "exact",
        _norse("mlp"),
        scale=3.0,
        note="the Input keeps a batch axis [1, 16]",
    ),
    Case(
        "norse",
        "LIFBoxCell (conv)",
        {"dt": 1e-3},
        "exact",
        _norse("conv"),
        input_shape=(1, 6, 6),
        scale=0.5,
        note="the Input keeps a batch axis [1, 1, 6, 6]",
    ),
    Case("norse", "LIFBoxCell, IAFCell (MLP)", {}, "IX811", _norse("mlp"), note="no dt"),
    Case(
        "norse",
        "LIFBoxCell, IAFCell (MLP)",
        {"strict": False},
        "IX812",
        _norse("mlp"),
        warn=True,
        same=True,
        scale=3.0,
        note="assumes dt = 1e-3 (to_nir's default); exact here",
    ),
    Case("norse", "LIFCell", {"dt": 1e-3}, "IX808", _norse("lifcell"), note="current memory"),
    Case(
        "norse",
        "LIFRecurrentCell",
        {"dt": 1e-3},
        "IX808",
        _norse("recurrent"),
        note="norse 1.1's to_nir writes an empty node for it",
    ),
    Case(
        "sinabs",
        "IAFSqueeze SingleSpike (conv, sum pool)",
        {"spikes": "single"},
        "exact",
        _sinabs("iaf"),
        input_shape=(1, 6, 6),
        scale=2.0,
    ),
    Case(
        "sinabs",
        "IAFSqueeze MultiSpike (the default)",
        {},
        "IX811",
        _sinabs("iaf", single=False),
        input_shape=(1, 6, 6),
        note="the file cannot say single or multi spike",
    ),
    Case(
        "sinabs",
        "IAFSqueeze MultiSpike",
        {"spikes": "multi"},
        "IX813",
        _sinabs("iaf", single=False),
        input_shape=(1, 6, 6),
    ),
    Case(
        "sinabs",
        "IAFSqueeze MultiSpike",
        {"strict": False},
        "IX812",
        _sinabs("iaf", single=False),
        warn=True,
        same=False,
        input_shape=(1, 6, 6),
        scale=20.0,
        note="assumes single spikes: this model's spikes differ",
    ),
    Case(
        "sinabs",
        "LIFSqueeze SingleSpike norm_input=False",
        {"spikes": "single", "input_gain": "r"},
        "exact",
        _sinabs("lif"),
    ),
    Case(
        "sinabs",
        "LIFSqueeze SingleSpike norm_input=True (the default)",
        {"spikes": "single", "input_gain": "leak"},
        "exact",
        _sinabs("lif", norm_input=True),
    ),
    Case(
        "sinabs",
        "LIFSqueeze SingleSpike",
        {"spikes": "single"},
        "IX811",
        _sinabs("lif"),
        note="the file cannot say norm_input",
    ),
    Case(
        "rockpool",
        "LIFNeuronTorch max_spikes_per_dt=1",
        {"spikes": "single"},
        "exact",
        _rockpool("lif"),
        note="dt solved from r = tau·exp(-dt/tau)/dt",
    ),
    Case(
        "rockpool",
        "LIFNeuronTorch (multi-spike default)",
        {},
        "IX811",
        _rockpool("lif", single=False),
    ),
    Case(
        "rockpool",
        "LIFTorch",
        {"spikes": "single"},
        "IX808",
        _rockpool("cuba"),
        note="CubaLIF with current memory",
    ),
    Case(
        "rockpool",
        "LIFTorch(has_rec=True)",
        {"spikes": "single"},
        "IX808",
        _rockpool("recurrent"),
        note="rockpool's to_nir drops w_rec (no cycle in the file); refused for the current",
    ),
)


def table_markdown() -> str:
    """The table docs/nir.md shows (between ``<!-- nir-tools -->`` markers)."""
    lines = [
        "| tool (version) | neuron | options (with `--nir-convention TOOL`) | status | note |",
        "|---|---|---|---|---|",
    ]
    for case in CASES:
        opts = " ".join(_flag(k, v) for k, v in case.options.items()) or "(none)"
        lines.append(
            f"| {case.tool} {VERSIONS[case.tool]} | {case.neuron} | `{opts}` | {case.status} "
            f"| {case.note} |"
        )
    return "\n".join(lines)


def _flag(key: str, value: Any) -> str:
    if key == "strict":
        return "--nir-strict" if value else "--no-nir-strict"
    return f"--nir-{key.replace('_', '-')} {value}"
