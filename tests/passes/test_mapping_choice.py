"""Cost-chosen lowering (``--objective``): every mapping is bit-exact, and the choice follows
the cost model (docs/resources.md, "Cost-chosen lowering")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import snncompile
from snncompile.config import CompileConfig
from snncompile.data.digits import load_digits_split
from snncompile.diagnostics import SnnCompileError
from snncompile.frontend.load import load_configured, to_graph
from snncompile.ir.interpret import run_layerwise
from snncompile.targets.sim.cores import place_cores
from snncompile.targets.sim.program import build_program

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "digits"


def _products(compiled: snncompile.api.Compiled) -> list[dict[str, object]]:
    return list(compiled.reports["lower-to-network"]["products"])


@pytest.mark.parametrize("family", ["spikingformer", "spikformer"])
def test_both_objectives_compute_the_same_logits(family: str) -> None:
    model = EXAMPLES / f"{family}.pt"
    sew = {"expand_sew": True} if family == "spikformer" else {}
    fast = snncompile.compile(model, objective="latency", **sew)
    small = snncompile.compile(model, objective="cores", **sew)
    x = load_digits_split(image_size=16).x_test[:6]
    np.testing.assert_array_equal(fast.run(x).logits, small.run(x).logits)
    products = _products(small)
    assert products, "the digits transformers have gated products of broadcast reductions"
    for p in products:
        chosen = "relay" if p["relay_cores_estimate"] < p["fan_in_cores_estimate"] else "fan-in"
        assert p["lowered_as"] == chosen
    assert all(p["lowered_as"] == "fan-in" for p in _products(fast))
    relays = sum(p["lowered_as"] == "relay" for p in products)
    assert small.depth == fast.depth + relays  # one hop per block, the blocks in series
    assert sum(p["relay_synapses"] for p in products) < sum(p["fan_in_synapses"] for p in products)


@pytest.mark.parametrize("objective", ["cores", "latency"])
def test_each_mapping_equals_the_layerwise_reference(objective: str) -> None:
    """A small random configuration (zoo weights from a seed): the network, layerwise and
    pipelined, equals the tensor IR it was lowered from."""
    config = CompileConfig(arch="spikingformer_digits", seed=3, objective=objective)
    loaded = load_configured("zoo:spikingformer_digits", config)
    graph = to_graph(loaded, torch.float64)
    program = build_program(graph, config)
    rng = np.random.default_rng(0)
    x = rng.random((loaded.time_steps, 2, *loaded.input_shape))
    name = program.layerwise.outputs[0].name
    want = run_layerwise(program.layerwise, [x])[name]
    drained = np.concatenate([x, np.zeros((program.depth, *x.shape[1:]))])
    got = run_layerwise(program.pipelined, [drained])[program.pipelined.outputs[0].name]
    np.testing.assert_array_equal(got[program.depth :], want)


def test_relay_cuts_the_gated_populations_cores() -> None:
    model = EXAMPLES / "spikingformer.pt"
    fast = place_cores(snncompile.compile(model, objective="latency").program)
    small = place_cores(snncompile.compile(model, objective="cores").program)
    assert len(small.cores) <= len(fast.cores)
    gated = [p for p, k in small.kinds.items() if k == "gated"]
    for name in gated:
        assert small.cores_of()[name] and small.binding[name] in ("fits", "neurons_per_core")


def test_latency_budget_gives_up_relays_then_refuses() -> None:
    model = EXAMPLES / "spikingformer.pt"
    small = snncompile.compile(model)  # objective cores by default
    fast = snncompile.compile(model, objective="latency")
    t = small.time_steps
    assert small.reports["objective"]["latency_steps"] == t + small.depth
    budget = t + fast.depth  # enough for fan-in, not for the relays
    fitted = snncompile.compile(model, max_latency_steps=budget)
    assert fitted.depth == fast.depth
    assert fitted.reports["objective"]["objective"] == "latency"
    assert all(p["lowered_as"] == "fan-in" for p in _products(fitted))
    with pytest.raises(SnnCompileError) as info:
        snncompile.compile(model, max_latency_steps=budget - 1).program  # noqa: B018
    assert info.value.code == "RS981"
    assert f"more than --max-latency-steps {budget - 1}" in info.value.message
