"""Every row of the tool × neuron × option table (docs/nir.md): a network built in the tool,
exported by the tool's own NIR exporter, imported by snncompile and run against the tool's own
forward. ``exact`` rows compare the output spikes at every step; the others assert the code of
the refusal or warning. sinabs and rockpool rows skip where those tools are not installed (the
dev extra installs them)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from snncompile.diagnostics import SnnCompileError
from snncompile.frontend.nir import NirAssumption, import_nir
from snncompile.ir.graph import Graph
from snncompile.ir.interpret import run_layerwise
from snncompile.ir.verify import verify
from tests.frontend.nir_tools import CASES, STEPS, Case, installed, table_markdown

ROOT = Path(__file__).resolve().parents[2]
BATCH = 2


def _ours(graph: Graph, x: np.ndarray) -> np.ndarray:
    verify(graph)
    return run_layerwise(graph, [x])[graph.outputs[0].name]


def _import(case: Case, graph: object) -> Graph:
    return import_nir(graph, convention=case.tool, **case.options)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_tool_case(case: Case) -> None:
    if not installed(case.tool):
        pytest.skip(f"{case.tool} is not installed (pip install -e .[dev])")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        graph, run = case.build(0)
    rng = np.random.default_rng(7)
    x = (rng.random((STEPS, BATCH, *case.input_shape)) * case.scale).astype(np.float32)
    if case.expect == "exact":
        ours = _import(case, graph)
        reference = run(x)
        got = _ours(ours, x).reshape(reference.shape)
        assert reference.sum() > 10 and (reference == 0).sum() > 10  # not saturated, not silent
        np.testing.assert_array_equal(got, reference)
    elif case.warn:
        with pytest.warns(NirAssumption) as record:
            ours = _import(case, graph)
        codes = {w.message.error.code for w in record if isinstance(w.message, NirAssumption)}
        assert codes == {case.expect}
        reference = run(x)
        got = _ours(ours, x).reshape(reference.shape)
        assert reference.sum() > 10
        assert np.array_equal(got, reference) == case.same
    else:
        with pytest.raises(SnnCompileError) as info:
            _import(case, graph)
        assert info.value.code == case.expect, info.value.render()


def test_docs_show_the_table() -> None:
    text = (ROOT / "docs" / "nir.md").read_text()
    start, end = "<!-- nir-tools -->\n", "\n<!-- /nir-tools -->"
    assert start in text and end in text, "run tools/gen_docs.py"
    assert text.split(start)[1].split(end)[0] == table_markdown(), "run tools/gen_docs.py"
