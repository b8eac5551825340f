"""Our ``events`` and ``paper`` counts against spikingjelly 2.0's independent aten-level counter.

``spikingjelly.activation_based.op_counter`` counts on the PyTorch model itself (dispatch-level
rules per aten op, recorded per module scope). On the same float64 model and inputs the spikes
are the same, so per synaptic op:

- a weighted op (conv, linear) with a **binary** input: our ``events`` ACs equal its
  ``SynOpCounter`` count exactly (both: non-zero inputs times their fan-out, padding taps
  excluded);
- a weighted op with a **non-binary** input (the image, a SEW count stream, a head on the mean
  over T): it counts no SynOps, and its ``MACCounter`` count (dense: out elements x fan-in,
  padding taps included) equals our ``paper`` MACs exactly, including the head that runs once
  after the mean over T;
- the products of an attention block (``bmm`` in the module scope of the attention): its rule is
  ``Σ out`` when both operands look binary, ``nnz(B) · N`` when only ``B`` does (a zero attention
  entry counts too), ``nnz(A) · M`` when only ``A`` does, else 0; ours is the non-zero products
  ``Σ_k nnz(A[:, k]) · nnz(B[k, :])``. The difference is asserted from the recorded operands
  (values whose entries are all 0 or 1 look binary to it: a data-dependent rule);
- Hadamard products (``aten.mul``, SDT): it has no rule, we count ``nnz(A ⊙ B)``;
- BatchNorm, neuron charge, residual and bias adds, pooling, memory traffic: counted by its
  other counters, not by its SynOps nor by our synaptic counts.

spikingjelly 2.0 is a dev dependency; the test skips where only 0.0.0.0.14 is installed.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

op_counter = pytest.importorskip("spikingjelly.activation_based.op_counter")

from snncompile.data.samples import sample_inputs  # noqa: E402
from snncompile.frontend.load import load_model, to_graph  # noqa: E402
from snncompile.frontend.simulate import time_major_inputs  # noqa: E402
from snncompile.ir.interpret import run_layerwise  # noqa: E402
from snncompile.passes.analyze_spike_domain import analyze  # noqa: E402
from snncompile.report.energy import OperationCounter  # noqa: E402
from tests.frontend.equivalence import randomize  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "digits"
BATCH = 4


def _looks_binary(x: np.ndarray) -> bool:
    return bool(np.all((x == 0) | (x == 1)))


def _sj_bmm(a: np.ndarray, b: np.ndarray) -> float:
    """spikingjelly's SynOp rule for ``A @ B`` (``[..., N, K] @ [..., K, M]``)."""
    if _looks_binary(a) and _looks_binary(b):
        return float(np.sum(a @ b))
    if _looks_binary(b):
        return float(np.count_nonzero(b)) * a.shape[-2]
    if _looks_binary(a):
        return float(np.count_nonzero(a)) * b.shape[-1]
    return 0.0


def _ours(name: str, batch: int) -> tuple[Any, dict[str, Any], dict[str, float]]:
    """Our counts on the float64 trace of a model, and sj's rule on our products.

    ``name``: a digits example (its test split), or ``zoo:NAME`` with batch-norm statistics
    randomised so that its neurons fire (uniform random images).
    """
    if name.startswith("zoo:"):
        loaded = load_model(name)
        assert loaded.module is not None
        randomize(loaded.module, 0)
        dataset = None
    else:
        loaded = load_model(EXAMPLES / f"{name}.pt")
        dataset = "digits"
    graph = to_graph(loaded, torch.float64)
    x = sample_inputs(graph.inputs[0].type.shape, samples=batch, dataset=dataset, seed=0)
    inputs = time_major_inputs(graph, x.astype(np.float64), loaded.time_steps)
    counter = OperationCounter(graph, analyze(graph), {n.name: "chip" for n in graph.nodes})
    operands: dict[str, list[tuple[np.ndarray, np.ndarray]]] = defaultdict(list)
    matmuls = [n for n in graph.nodes if n.op == "matmul"]

    def observe(step: int, values: Any) -> None:
        counter.observe(step, values)
        for node in matmuls:
            a, b = (values[v.name].copy() for v in node.inputs)
            operands[node.name].append((a, b))

    counter.start_batch(batch)
    run_layerwise(graph, [inputs], observer=observe)
    report = counter.report()
    # one aten.bmm call sees all T steps of the batch: its binary test is over all of them
    sj_products: dict[str, float] = defaultdict(float)
    for node in matmuls:
        a = np.stack([pair[0] for pair in operands[node.name]])
        b = np.stack([pair[1] for pair in operands[node.name]])
        module = node.loc.module if node.loc and node.loc.module else node.name
        sj_products[module] += _sj_bmm(a, b)
    return loaded, {"report": report, "x": x}, dict(sj_products)


def _theirs(loaded: Any, x: np.ndarray) -> tuple[dict[str, dict[str, int]], dict[str, Any]]:
    """spikingjelly's SynOp and MAC counts per module scope (without the model's class)."""
    model = loaded.module.double().eval()
    syn, mac = op_counter.SynOpCounter(), op_counter.MACCounter()
    with torch.no_grad(), op_counter.DispatchCounterMode([syn, mac]):
        model(torch.from_numpy(x.astype(np.float64)))
    prefix = type(model).__name__ + "."

    def strip(counts: dict[str, dict[Any, int]]) -> dict[str, dict[str, int]]:
        return {
            scope[len(prefix) :]: {str(op): n for op, n in ops.items()}
            for scope, ops in counts.items()
            if scope.startswith(prefix)
        }

    return strip(syn.get_counts()), strip(mac.get_counts())


def _agree(name: str, batch: int) -> dict[str, int]:
    """Assert the agreement described in the module docstring; return what was compared."""
    loaded, ours, sj_rule = _ours(name, batch)
    report = ours["report"]
    syn, mac = _theirs(loaded, ours["x"])
    compared = dict.fromkeys(
        ("binary", "firing", "binary_looking", "dense", "products", "hadamard"), 0
    )
    for c in report.layers:
        if c.op in ("matmul", "mul"):  # products: compared below
            continue
        assert c.module is not None
        theirs_syn = sum(syn.get(c.module, {}).values())
        theirs_mac = sum(mac.get(c.module, {}).values())
        if c.input_domain == "binary":  # synaptic events, equal op for op
            assert c.event_acs * batch == theirs_syn, c.module
            compared["binary"] += 1
            compared["firing"] += c.event_acs > 0
        elif theirs_syn:  # count values that happen to be all 0 or 1 look binary to it
            assert c.event_macs * batch == theirs_syn, c.module
            compared["binary_looking"] += 1
        else:  # not binary: its dense MACs are our paper MACs (a head after the mean: once)
            assert c.macs * batch == theirs_mac, (c.module, c.steps_charged)
            compared["dense"] += 1
    products = [c for c in report.layers if c.op == "matmul"]
    for module in {c.module for c in products}:
        assert module is not None
        bmm = syn.get(module, {}).get("aten.bmm.default", 0)
        assert bmm == sj_rule[module], module  # the documented rule, on our operands
        ours_events = sum(c.event_acs + c.event_macs for c in products if c.module == module)
        assert ours_events * batch <= bmm  # it also counts zero attention entries
        compared["products"] += 1
    for c in report.layers:
        if c.op == "mul":  # Hadamard products: no spikingjelly rule; ours are events
            assert "aten.mul.Tensor" not in syn.get(c.module or "", {})
            compared["hadamard"] += 1
    return compared


@pytest.mark.parametrize("name", ["spikformer", "spikingformer", "sdt", "spikingresformer"])
def test_events_agree_with_spikingjelly_on_the_digits_models(name: str) -> None:
    compared = _agree(name, BATCH)
    assert compared["binary"] >= 3 and compared["dense"] >= 1
    assert compared["firing"] == compared["binary"]
    if name != "spikingresformer":
        assert compared["products" if name != "sdt" else "hadamard"] >= 1


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["zoo:spikformer_4_384", "zoo:spikingformer_4_384", "zoo:sdt_2_512"]
)
def test_events_agree_with_spikingjelly_at_cifar_size(name: str) -> None:
    compared = _agree(name, 2)
    assert compared["binary"] >= 10 and compared["dense"] >= 1
    assert compared["firing"] >= compared["binary"] - 2  # the randomised statistics fire
