"""Core placement: hand-computed slices, packing, memory model, RS951, and the shipped models."""

from __future__ import annotations

import dataclasses
import itertools
import json
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from snncompile.config import CompileConfig
from snncompile.diagnostics import ResourceLimitError
from snncompile.frontend.load import load_configured, load_model, to_graph
from snncompile.ir.graph import Graph, GraphBuilder, Value
from snncompile.ir.ops.network import PopulationAttrs, ProjectionAttrs
from snncompile.ir.types import TensorType
from snncompile.passes.manager import PassContext, PassManager
from snncompile.passes.place_cores import PlaceCores
from snncompile.targets.loihi.arch import LIMITS as LOIHI2
from snncompile.targets.sim.cores import Placement, place_cores
from snncompile.targets.sim.program import build_program

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "digits"
DIGITS = ("spikformer", "spikingformer", "sdt", "spikingresformer")


def _pop(b: GraphBuilder, name: str, source: Value, attrs: ProjectionAttrs) -> Value:
    current = b.add_node("projection", [source], attrs, name=f"{name}.in0")
    return b.add_node("population", [current], PopulationAttrs(kind="lif", vth=1), name=name)


def _identity_pops(*sizes: int) -> Graph:
    """Populations of ``sizes`` neurons, each fed by unit synapses from its own host input."""
    b = GraphBuilder("pops", "network")
    outs = []
    for i, n in enumerate(sizes):
        x = b.input(f"x{i}", TensorType((n,), "f64"))
        outs.append(_pop(b, f"p{i}", x, ProjectionAttrs(kind="sum", graded=True)))
    return b.finish(outs)


def _dense(n_in: int, n_out: int) -> Graph:
    b = GraphBuilder("dense", "network")
    x = b.input("x", TensorType((n_in,), "f64"))
    src = _pop(b, "src", x, ProjectionAttrs(kind="sum", graded=True))
    w = np.ones((n_out, n_in))
    out = _pop(b, "tgt", src, ProjectionAttrs(kind="dense", weight=w))
    return b.finish([out])


def _check_limits(placement: Placement) -> None:
    lim = placement.limits
    for core in placement.cores:
        assert 0 < core.neurons <= lim.neurons_per_core
        assert core.synapse_bytes <= lim.synapse_bytes_per_core
    for pop, n in placement.populations.items():
        spans = sorted((s.start, s.stop) for _, s in placement.slices_of(pop))
        assert spans[0][0] == 0 and spans[-1][1] == n
        assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))


def test_big_population_splits_into_two_cores() -> None:
    placement = place_cores(_identity_pops(10000))
    assert len(placement.cores) == 2 and placement.chips == 1
    slices = [(c, s.start, s.stop, s.synapse_bytes) for c, s in placement.slices_of("p0")]
    # unit synapses: 2 B of index per neuron (fan-in 1)
    assert slices == [(0, 0, 8192, 16384), (1, 8192, 10000, 3616)]
    _check_limits(placement)


def test_small_populations_share_a_core() -> None:
    placement = place_cores(_identity_pops(100, 200))
    assert len(placement.cores) == 1
    (core,) = placement.cores
    assert [(s.population, s.start, s.stop) for s in core.slices] == [
        ("p0", 0, 100),
        ("p1", 0, 200),
    ]
    assert core.neurons == 300 and core.synapse_bytes == 600
    assert placement.cores_of() == {"p0": [0], "p1": [0]}


def test_dense_weights_beyond_a_core_split_by_memory() -> None:
    # one target neuron stores its 1000-weight row (1000 B): 131072 // 1000 = 131 per core
    placement = place_cores(_dense(1000, 1000))
    tgt = sorted(
        ((c, s.start, s.stop, s.synapse_bytes) for c, s in placement.slices_of("tgt")),
        key=lambda row: row[1],
    )
    assert [(a, b) for _, a, b, _ in tgt] == [(131 * i, min(131 * (i + 1), 1000)) for i in range(8)]
    assert all(m == 131_000 for _, _, _, m in tgt[:-1]) and tgt[-1][3] == 83_000
    # the full slices get cores 1..7; the 83-neuron remainder joins src (1000 neurons, 2000 B)
    assert [c for c, *_ in tgt] == [1, 2, 3, 4, 5, 6, 7, 0]
    assert placement.cores[0].synapse_bytes == 2000 + 83_000
    assert len(placement.cores) == 8
    _check_limits(placement)


def test_dense_row_beyond_a_core_is_rs951_with_numbers() -> None:
    with pytest.raises(ResourceLimitError) as info:
        place_cores(_dense(140_000, 2))
    assert info.value.code == "RS951"
    assert "140000 B" in info.value.message and "131072 B" in info.value.message
    assert "tgt" in info.value.message


def test_conv_kernel_is_stored_once_per_core() -> None:
    b = GraphBuilder("conv", "network")
    x = b.input("x", TensorType((2, 8, 8), "f64"))
    src = _pop(b, "src", x, ProjectionAttrs(kind="sum", graded=True))
    w = np.ones((4, 2, 3, 3))
    out = _pop(b, "tgt", src, ProjectionAttrs(kind="conv", weight=w, padding=(1, 1)))
    placement = place_cores(b.finish([out]))
    ((_, s),) = placement.slices_of("tgt")
    assert s.synapse_bytes == 4 * 2 * 3 * 3  # 4 channels' kernels, not 256 x 18 synapses
    # a slice of one channel (64 neurons) needs one kernel row
    small = dataclasses.replace(LOIHI2, neurons_per_core=64)
    rows = [s.synapse_bytes for _, s in place_cores(b.graph, small).slices_of("tgt")]
    assert rows == [18, 18, 18, 18]


def test_max_chips_is_rs951_with_numbers() -> None:
    graph = _identity_pops(128 * 8192 + 1)
    assert place_cores(graph).chips == 2
    with pytest.raises(ResourceLimitError) as info:
        place_cores(graph, dataclasses.replace(LOIHI2, max_chips=1))
    assert "129 cores = 2 chips" in info.value.message and "max_chips=1" in info.value.message


def test_place_cores_pass_publishes_its_report() -> None:
    ctx = PassContext()
    graph = _identity_pops(10000, 10)
    result = PassManager([PlaceCores()], initial_properties={"network"}).run(graph, ctx)
    assert result.graph is graph and "placed" in ctx.properties
    report = ctx.reports["place-cores"]
    assert report["cores"] == 2 and report["chips"] == 1
    assert report["populations"]["p0"]["cores"] == [[0, 1]]
    assert report["limits"]["neurons_per_core"] == LOIHI2.neurons_per_core
    json.dumps(report)


@pytest.mark.parametrize("model", DIGITS)
def test_digits_models_place_with_a_report(model: str) -> None:
    cfg = CompileConfig(expand_sew=True, allow_host_ops=True)
    loaded = load_configured(str(EXAMPLES / f"{model}.pt"), cfg)
    program = build_program(to_graph(loaded, torch.float64), cfg)
    placement = place_cores(program)
    _check_limits(placement)
    assert placement.chips == 1 and 1 <= len(placement.cores) <= 16
    report = json.loads(json.dumps(placement.to_dict()))
    pops = {n.name for n in program.populations()}
    assert pops <= set(report["populations"])
    assert report["neurons"] == sum(p["neurons"] for p in report["populations"].values())
    assert len(report["per_core"]) == report["cores"]


@pytest.mark.slow
def test_spikformer_8_768_at_imagenet_size() -> None:
    cfg = CompileConfig(expand_sew=True, allow_host_ops=True)
    start = time.perf_counter()
    loaded = load_model("zoo:spikformer_8_768")
    program = build_program(to_graph(loaded, torch.float64), cfg)
    placement = place_cores(program)
    _check_limits(placement)
    summary = placement.summary()
    print("spikformer_8_768:", summary, f"{time.perf_counter() - start:.1f} s")
    assert summary["chips"] > 1  # hundreds of millions of attention neurons
    with pytest.raises(ResourceLimitError, match="max_chips=1"):
        place_cores(program, dataclasses.replace(LOIHI2, max_chips=1))


def test_binding_limit_per_population() -> None:
    assert place_cores(_identity_pops(10000)).binding == {"p0": "neurons_per_core"}
    assert place_cores(_identity_pops(100)).binding == {"p0": "fits"}
    dense = place_cores(_dense(1000, 200))  # 1,000 B of weights per target neuron
    assert dense.binding["tgt"] == "synapse_bytes_per_core"
    assert dense.drivers["tgt"] == "dense tgt.in0"
    spans = sorted((s.start, s.stop) for _, s in dense.slices_of("tgt"))
    assert spans == [(0, 131), (131, 200)]  # 131 x 1000 B <= 131072 B < 132 x 1000 B
    assert dense.to_dict()["populations"]["tgt"]["binding"] == "synapse_bytes_per_core"


def test_fan_in_limit_cuts_slices_and_keeps_populations_apart() -> None:
    limits = dataclasses.replace(LOIHI2, max_fan_in=4096)
    placement = place_cores(_identity_pops(10000), limits)
    assert placement.binding == {"p0": "max_fan_in"}
    assert [s.neurons for _, s in placement.slices_of("p0")] == [4096, 4096, 1808]
    assert all(c.axons_in <= 4096 for c in placement.cores)
    # two populations of 3,000 share a core without the limit, not with it
    assert len(place_cores(_identity_pops(3000, 3000)).cores) == 1
    assert len(place_cores(_identity_pops(3000, 3000), limits).cores) == 2


def test_fan_out_limit_counts_routes_per_consumer() -> None:
    from tests.targets.sim.test_perf import _chain

    limits = dataclasses.replace(LOIHI2, max_fan_out=1000)
    placement = place_cores(_chain(2500), limits)
    assert placement.binding["p0"] == "max_fan_out"  # one consumer: one route per neuron
    assert [s.neurons for _, s in placement.slices_of("p0")] == [1000, 1000, 500]
    assert placement.binding["p1"] == "fits"  # read by nobody on the chip
    assert all(c.axons_out <= 1000 for c in placement.cores)


def test_one_neuron_over_the_fan_in_is_rs951() -> None:
    with pytest.raises(ResourceLimitError) as info:
        place_cores(_dense(5000, 2), dataclasses.replace(LOIHI2, max_fan_in=4096))
    assert "needs 5000 input axons" in info.value.message
    assert "max_fan_in=4096" in info.value.message


def test_board_check_names_the_largest_consumers() -> None:
    from snncompile.targets.sim.cores import check_board

    placement = place_cores(_identity_pops(129 * 8192, 10))
    check_board(placement, "chips:2")  # 130 cores: two chips
    with pytest.raises(ResourceLimitError) as info:
        check_board(placement, "chips:1")
    message = info.value.message
    assert info.value.code == "RS980"
    assert "needs 130 cores = 2 chips; board chips:1 has 1 chips (128 cores): 2 cores must go" in (
        message
    )
    assert "p0: 129 cores (1056768 neurons, bound by neurons_per_core" in message
    assert "only fewer neurons" in message


def test_permuted_dense_charges_the_rows_a_slice_spans() -> None:
    """A dense over 256 tokens written channel-major (``permute(1,0)``): a slice of ``n``
    neurons spans ``ceil(n / 256)`` weight rows of 2,000 B, not ``min(64, n)``."""
    b = GraphBuilder("perm", "network")
    x = b.input("x", TensorType((256, 2000), "f64"))
    src = _pop(b, "src", x, ProjectionAttrs(kind="sum", graded=True))
    w = np.ones((64, 2000))
    proj = b.add_node(
        "projection",
        [src],
        ProjectionAttrs(kind="dense", weight=w, post="permute(1,0)"),
        name="t.in0",
    )
    out = b.add_node("population", [proj], PopulationAttrs(kind="lif", vth=1), name="t")
    placement = place_cores(b.finish([out]))
    spans = sorted((s.start, s.stop, s.synapse_bytes) for _, s in placement.slices_of("t"))
    assert spans[0] == (0, 8192, 32 * 2000)  # 32 channels of 256 tokens, 64,000 B
    assert placement.binding["t"] == "neurons_per_core"
    _check_limits(placement)


def test_dense_over_tokens_is_sliced_by_weight_rows() -> None:
    """``[64 tokens, 1536 features]`` from 384 inputs: flat slices span a row per neuron (341
    neurons per core at 384 B a row); feature-major slices share each row over 64 tokens."""
    b = GraphBuilder("mlp", "network")
    x = b.input("x", TensorType((64, 384), "f64"))
    src = _pop(b, "src", x, ProjectionAttrs(kind="sum", graded=True))
    out = _pop(b, "fc1", src, ProjectionAttrs(kind="dense", weight=np.ones((1536, 384))))
    placement = place_cores(b.finish([out]))
    assert placement.orders == {"fc1": "feature-major (64 tokens per row)"}
    spans = sorted((s.start, s.stop, s.synapse_bytes) for _, s in placement.slices_of("fc1"))
    assert spans[0] == (0, 8192, 128 * 384)  # 8192 neurons = 128 features x 64 tokens
    assert len(spans) == 12 and placement.binding["fc1"] == "neurons_per_core"
    assert placement.to_dict()["populations"]["fc1"]["order"].startswith("feature-major")
    _check_limits(placement)
