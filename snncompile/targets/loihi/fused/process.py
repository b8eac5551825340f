"""One custom Lava process for a network's whole chip partition (tag ``fixed_pt``).

:class:`FusedChip` runs every population, projection and current probe of a pipelined network
graph in one Lava process, with the reference kernels of :mod:`snncompile.ir.ops.network`
(Lava's bit-accurate LIF, :mod:`snncompile.targets.loihi.arch`; synapses ``shift(M·s, e)``
delayed by the projection's ``delay``). Per Lava step ``t`` (1-based; network step ``t - 1``)::

    x          = x_in.recv()                      host payloads of step t-1 (RingBuffer)
    env        = {host value: x[slice]}
    for node in nodes:  env[node] = kernel(node, env[inputs], state[node])
    file[:, t-1] = concat(env[recorded])          population spikes, current sums

The mid host ops (if any) run inside the same process, in graph order, exactly as the
reference runs them. ``fail_at_step`` (tests only) raises inside the model at that step.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.process.ports.ports import InPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from snncompile.targets.loihi.plan import HostEvaluator

__all__ = ["FusedChip", "PyFusedChipModel"]


class FusedChip(AbstractProcess):
    """The chip partition as one process.

    Args:
        in_size: the flat size of the host payload vector received each step.
        nodes: chip nodes (and mid host nodes) in graph order.
        in_layout: ``(value name, shape, offset)``: host value ``name`` is
            ``x[offset : offset + prod(shape)]``.
        record: ``(value name, offset)``: ``file[offset : offset + size, t-1] = value``.
        path, rows, steps: the int64 memory-mapped record file, ``(rows, steps)``.
        fail_at_step: raise inside the model at this Lava step (fault injection for tests).
    """

    def __init__(self, *, in_size: int, **kwargs: Any) -> None:
        super().__init__(in_size=in_size, **kwargs)
        self.x_in = InPort(shape=(max(in_size, 1),))


@implements(proc=FusedChip, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyFusedChipModel(PyLoihiProcessModel):
    """Steps the chip partition's kernels once per Lava step (see the module docstring)."""

    x_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)

    def __init__(self, proc_params: Any) -> None:
        super().__init__(proc_params)
        # A forked child hangs in torch's OpenMP pool (conv kernels) unless it runs inline.
        torch.set_num_threads(1)
        self._evaluator = HostEvaluator(proc_params["nodes"], batch=1)
        self._in_layout = proc_params["in_layout"]
        self._record = proc_params["record"]
        self._fail_at = proc_params.get("fail_at_step")
        self._file = np.memmap(
            proc_params["path"],
            dtype=np.int64,
            mode="r+",
            shape=(int(proc_params["rows"]), int(proc_params["steps"])),
        )

    def run_spk(self) -> None:
        if self._fail_at is not None and self.time_step == self._fail_at:
            raise RuntimeError(f"fused model: deliberate failure at step {self.time_step}")
        x = self.x_in.recv().astype(np.float64)
        env: dict[str, np.ndarray] = {}
        for name, shape, offset in self._in_layout:
            size = int(np.prod(shape))
            env[name] = x[offset : offset + size].reshape((1, *shape))
        self._evaluator.step(env)
        t = self.time_step - 1
        for name, offset in self._record:
            value = env[name].reshape(-1)
            self._file[offset : offset + value.size, t] = np.rint(value).astype(np.int64)
