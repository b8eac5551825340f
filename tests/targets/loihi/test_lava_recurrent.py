"""Lava (stock and fused) runs a recurrent network bit-exact with the reference kernels and the
simulator: recurrent projections are synapses from a population's own spikes, one step longer
(onto itself a ``Sparse``, the recurrent Dense of a recurrent layer)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("lava.magma", reason="needs the loihi extra")

from snncompile.config import CompileConfig
from snncompile.ir.interpret import run_layerwise
from snncompile.targets.loihi._lava import require_lava
from snncompile.targets.loihi.run import run_lava
from snncompile.targets.sim.engine import Simulator
from snncompile.targets.sim.program import build_program
from tests.targets.sim.recurrent_graphs import inputs, recurrent_mlp

require_lava()
pytestmark = pytest.mark.lava


@pytest.mark.timeout(300)
@pytest.mark.parametrize("form", ["stock", "fused"])
def test_lava_equals_simulator_on_a_recurrent_network(form: str) -> None:
    program = build_program(recurrent_mlp(skip=True), CompileConfig())
    x = inputs(14, 1, seed=4)
    x = np.concatenate([x, np.zeros((program.depth, *x.shape[1:]), x.dtype)])
    ref = run_layerwise(program.pipelined, [x], record=True)
    sim = Simulator(program.pipelined).run([x], record=True)
    got = run_lava(program, [x], form=form)
    assert set(got.spikes) == {"s1", "s2"}
    for name, spikes in got.spikes.items():
        np.testing.assert_array_equal(spikes, ref[name], err_msg=f"{name} ({form})")
        np.testing.assert_array_equal(spikes, sim.spikes[name], err_msg=f"{name} ({form})")
        assert 3 < spikes.sum() < spikes.size - 3, name  # neither silent nor saturated
    for name, value in got.outputs.items():
        np.testing.assert_array_equal(value, ref[name])
    flat = build_program(recurrent_mlp(skip=True, rec_gain=0.0), CompileConfig())
    without = Simulator(flat.pipelined).run([x], record=True).spikes
    assert any(not np.array_equal(without[k], got.spikes[k]) for k in got.spikes)
