"""Host-side Lava processes: they run on the host CPU, never on a neurocore.

- :class:`HostOps` evaluates host ops in the middle of a network (SDT's max-pool over
  currents) once per step: it receives chip values, steps the ops' reference kernels
  (:class:`~snncompile.targets.loihi.plan.HostEvaluator`) and sends the results to the chip as
  graded payloads. Timing: like a neuron, it receives in step ``t`` and sends in step ``t``,
  so it adds no latency; the projections behind it add theirs.
- :class:`Recorder` writes what it receives in step ``t`` into column ``t - 1`` of a memory
  mapped file (reading a Lava ``Var`` back costs one message per element, far too slow for
  every spike of a network).

Both take port counts and shapes at construction (``in_0 .. in_{n-1}``, ``out_0 ..``); the
models declare up to :data:`MAX_PORTS` of each.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from snncompile.targets.loihi.plan import HostEvaluator

__all__ = ["MAX_PORTS", "HostOps", "Recorder", "assemble_inputs", "check_payload"]

#: The most in-ports (and out-ports) one host process has.
MAX_PORTS = 32


def check_payload(name: str, value: np.ndarray) -> np.ndarray:
    """``value`` flattened to int32 for a graded message; it must be an integer below 2^31."""
    flat = np.asarray(value, dtype=np.float64).reshape(-1)
    if flat.size and (np.any(flat != np.rint(flat)) or np.abs(flat).max() >= 2**31):
        raise ValueError(f"host value {name} is not an int32 payload: {flat[:8]}...")
    return flat.astype(np.int32)


def assemble_inputs(
    layout: list[tuple[str, tuple[int, ...], np.ndarray]], data: list[np.ndarray]
) -> dict[str, np.ndarray]:
    """Values ``[1, *shape]`` by name from port data: port ``i`` holds ``layout[i]``'s
    flat elements ``indices`` (a population split over several processes has several ports)."""
    flat: dict[str, np.ndarray] = {}
    shapes: dict[str, tuple[int, ...]] = {}
    for (name, shape, indices), received in zip(layout, data, strict=True):
        if name not in flat:
            flat[name] = np.zeros(int(np.prod(shape)))
            shapes[name] = shape
        flat[name][indices] = received
    return {name: array.reshape((1, *shapes[name])) for name, array in flat.items()}


def _make_ports(proc: AbstractProcess, sizes: list[int], kind: type, prefix: str) -> None:
    """Ports ``prefix_0 .. prefix_{MAX_PORTS-1}``: the model declares all of them and Lava
    wants every declared port on the process; the unused ones (shape (1,)) stay unconnected."""
    for i in range(MAX_PORTS):
        setattr(proc, f"{prefix}_{i}", kind(shape=(sizes[i],) if i < len(sizes) else (1,)))


class HostOps(AbstractProcess):
    """Host ops evaluated in the loop (proc params, see :class:`PyHostOpsModel`).

    Args:
        in_sizes, out_sizes: the flat size of each in-port and out-port.
        nodes: the host nodes, in graph order.
        in_layout: per in-port, ``(value name, value shape, flat indices)``.
        out_names: per out-port, the value it sends (flattened).
        zero_before: per out-port, send zeros in network steps before this one.
        pre_data: host values computed before the run, ``[T, 1, ...]`` by name.
    """

    def __init__(self, *, in_sizes: list[int], out_sizes: list[int], **kwargs: Any) -> None:
        super().__init__(in_sizes=in_sizes, out_sizes=out_sizes, **kwargs)
        if len(in_sizes) > MAX_PORTS or len(out_sizes) > MAX_PORTS:
            raise ValueError(f"a host process has at most {MAX_PORTS} in- and out-ports")
        _make_ports(self, in_sizes, InPort, "in")
        _make_ports(self, out_sizes, OutPort, "out")


class Recorder(AbstractProcess):
    """Writes port ``i``'s data of step ``t`` to ``file[o_i : o_i + n_i, t - 1]`` with
    ``o_i = offset + Σ_{j<i} n_j``.

    Args:
        in_sizes: the flat size ``n_i`` of each in-port.
        path: an int64 file of shape ``(rows, steps)`` (``np.memmap``), shared by recorders.
        steps: the number of columns.
        offset: this recorder's first row; rows: the file's rows.
    """

    def __init__(self, *, in_sizes: list[int], path: str, steps: int, **kwargs: Any) -> None:
        super().__init__(in_sizes=in_sizes, path=path, steps=steps, **kwargs)
        if len(in_sizes) > MAX_PORTS:
            raise ValueError(f"a recorder has at most {MAX_PORTS} in-ports")
        _make_ports(self, in_sizes, InPort, "in")


def _declare_ports(namespace: dict[str, Any], inputs: bool, outputs: bool) -> None:
    for i in range(MAX_PORTS):
        if inputs:
            namespace[f"in_{i}"] = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
        if outputs:
            namespace[f"out_{i}"] = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)


@implements(proc=HostOps, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyHostOpsModel(PyLoihiProcessModel):
    """Per step ``t``: receive chip values, step the host ops, send their results::

    env = pre_data[t-1] ∪ {in-port values};  env = kernels(env);  out_j = env[out_names[j]]
    (0 before the value's arrival step: its readers are gated until then)
    """

    _declare_ports(locals(), inputs=True, outputs=True)

    def __init__(self, proc_params: Any) -> None:
        super().__init__(proc_params)
        # A forked child hangs in torch's OpenMP pool (conv kernels) unless it runs inline.
        torch.set_num_threads(1)
        self._evaluator = HostEvaluator(proc_params["nodes"], batch=1)
        self._in_layout = proc_params["in_layout"]
        self._out_names = proc_params["out_names"]
        self._pre = proc_params["pre_data"]
        self._zero_before = proc_params["zero_before"]

    def run_spk(self) -> None:
        t = self.time_step - 1
        data = [getattr(self, f"in_{i}").recv() for i in range(len(self._in_layout))]
        env = {name: array[t] for name, array in self._pre.items()}
        env.update(assemble_inputs(self._in_layout, data))
        self._evaluator.step(env)
        for j, name in enumerate(self._out_names):
            value = env[name]
            if t < self._zero_before[j]:  # before its data arrives: f(0) would reach a LIF
                value = np.zeros_like(value)  # that the reference holds gated, so send 0
            getattr(self, f"out_{j}").send(check_payload(name, value))


@implements(proc=Recorder, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyRecorderModel(PyLoihiProcessModel):
    """Per step ``t``: ``file[offset_i : offset_i + n_i, t - 1] = in_i.recv()``."""

    _declare_ports(locals(), inputs=True, outputs=False)

    def __init__(self, proc_params: Any) -> None:
        super().__init__(proc_params)
        self._sizes = list(proc_params["in_sizes"])
        first = int(proc_params["offset"])
        self._offsets = first + np.concatenate([[0], np.cumsum(self._sizes)]).astype(int)
        self._file = np.memmap(
            proc_params["path"],
            dtype=np.int64,
            mode="r+",
            shape=(int(proc_params["rows"]), int(proc_params["steps"])),
        )

    def run_spk(self) -> None:
        t = self.time_step - 1
        for i in range(len(self._sizes)):
            self._file[self._offsets[i] : self._offsets[i + 1], t] = getattr(self, f"in_{i}").recv()
