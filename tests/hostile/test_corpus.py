"""The hostile-input corpus (issue 19): every case ends with a coded diagnostic or a correct
result, never an internal error, a hang, a partial or NaN output or a payload run.

The hand-made cases (:mod:`tests.hostile.cases`) run in CI, one test per category and command;
hypothesis adds random bytes, random JSON card values, random IR text and random truncations.
``-m slow`` runs a larger random sweep. The per-category counts are printed at the end.
"""

from __future__ import annotations

import json
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hostile.cases import all_cases
from tests.hostile.conftest import COUNTS
from tests.hostile.corpus import Case, _check_model, judge, run_case, tiny_ir, tiny_model
from tests.hostile.exchange_cases import TARGETS, exchange_cases

CASES = all_cases()
GROUPS: dict[str, list[Case]] = defaultdict(list)
for _case in CASES:
    GROUPS[f"{_case.category}-{_case.name.split()[0]}"].append(_case)


def _run(case: Case) -> str | None:
    with tempfile.TemporaryDirectory(prefix="hostile_") as tmp:
        outcome = run_case(case, Path(tmp))
    COUNTS[(case.category, outcome.kind if outcome.kind != "error" else "coded")] += 1
    problem = judge(case, outcome)
    return None if problem is None else f"{case.category} / {case.name}: {problem}"


def test_the_corpus_is_large_and_covers_every_category() -> None:
    assert len(CASES) >= 150, len(CASES)
    categories = {c.category for c in CASES}
    assert categories == {
        *("checkpoint", "card", "text-ir", "data", "artifact", "output", "command"),
        *("nir", "onnx", "netx"),
    }
    for fmt in ("nir", "onnx", "netx"):
        names = {c.name.split()[0] for c in CASES if c.category == fmt}
        assert {"check", "run", "report", "compile"} <= names, (fmt, names)
        assert {f"compile-{t}" for t in TARGETS} <= names, (fmt, names)
    exchange = [c for c in CASES if c.category in ("nir", "onnx", "netx")]
    assert all(c.expect is not None and len(c.expect) == 1 for c in exchange), "pin one code"
    commands = {c.name.split()[0] for c in CASES}
    assert {"check", "run", "report", "compile", "info", "zoo", "card", "demo"} <= commands


@pytest.mark.timeout(900)
@pytest.mark.parametrize("group", sorted(GROUPS))
def test_hostile_cases(group: str) -> None:
    problems = [p for p in (_run(case) for case in GROUPS[group]) if p]
    assert not problems, "\n".join(problems)


# --- random inputs --------------------------------------------------------------------------

FAST = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
SWEEP = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


def _bytes_case(data: bytes) -> Case:
    def build(root: Path) -> list[str]:
        tiny_model(root)
        (root / "tiny.pt").write_bytes(data)
        return _check_model(root / "tiny.pt", root)

    return Case("checkpoint", "check random bytes", build, frozenset({"ML402", "ML404", "ML403"}))


def _card_value_case(field: str, value: object) -> Case:
    def build(root: Path) -> list[str]:
        path = tiny_model(root)
        card = {"arch": str(root / "tiny.py") + ":Tiny", "input_shape": [8], field: value}
        (root / "tiny.json").write_text(json.dumps(card))
        return ["check", str(path), "--trust-code", "--dataset", "random", "--samples", "2"]

    ok = {"ok", "ML408", "ML401", "ML402", "ML405", "IN601", "IN604", "CF201", "IN606", "FE701"}
    return Case("card", f"check random {field}", build, frozenset(ok))


def _card_judge(case: Case, field: str, value: object) -> str | None:
    return _run(case)


def _ir_text_case(text: str) -> Case:
    def build(root: Path) -> list[str]:
        (root / "random.snnir").write_text(text)
        return ["check", str(root / "random.snnir"), "--samples", "2"]

    codes = {f"IR1{n:02d}" for n in range(1, 12)} | {"IN601", "IN604", "ML406", "SD101"}
    return Case("text-ir", "check random text", build, frozenset(codes))


def _truncation_case(cut: float) -> Case:
    def build(root: Path) -> list[str]:
        path = tiny_ir(root)
        text = path.read_text()
        path.write_text(text[: int(len(text) * cut)])
        return ["check", str(path), "--samples", "2"]

    codes = {f"IR1{n:02d}" for n in range(1, 12)}
    return Case("text-ir", "check random truncation", build, frozenset(codes))


def _array_case(dtype: str, shape: tuple[int, ...], fill: float) -> Case:
    def build(root: Path) -> list[str]:
        np.save(root / "x.npy", np.full(shape, fill, dtype=dtype))
        return ["check", str(tiny_ir(root)), "--input", str(root / "x.npy"), "--samples", "2"]

    ok = {"ok", "IN601", "IN605", "IN606"}
    return Case("data", "check random array", build, frozenset(ok))


@FAST
@given(st.binary(max_size=512))
def test_random_bytes_as_a_checkpoint(data: bytes) -> None:
    assert (problem := _run(_bytes_case(data))) is None, problem


@FAST
@given(st.sampled_from(["input_shape", "time_steps", "arch_kwargs", "input", "dataset"]), JSON)
def test_random_card_values(field: str, value: object) -> None:
    assert (problem := _card_judge(_card_value_case(field, value), field, value)) is None, problem


@FAST
@given(st.text(max_size=300))
def test_random_text_as_ir(text: str) -> None:
    assert (problem := _run(_ir_text_case(text))) is None, problem


@FAST
@given(st.floats(min_value=0.0, max_value=0.999))
def test_random_truncations_of_ir(cut: float) -> None:
    assert (problem := _run(_truncation_case(cut))) is None, problem


@FAST
@given(
    st.sampled_from(["f4", "f8", "i4", "u1", "f2"]),
    st.sampled_from([(4, 8), (0, 8), (4, 9), (4,), (2, 8, 1)]),
    st.sampled_from([0.5, float("nan"), float("inf"), -1e30]),
)
def test_random_arrays_as_data(dtype: str, shape: tuple[int, ...], fill: float) -> None:
    if np.dtype(dtype).kind in "iu" and not np.isfinite(fill):
        fill = 1
    assert (problem := _run(_array_case(dtype, shape, fill))) is None, problem


@pytest.mark.slow
@SWEEP
@given(st.binary(max_size=4096))
def test_sweep_random_bytes_as_a_checkpoint(data: bytes) -> None:
    assert (problem := _run(_bytes_case(data))) is None, problem


@pytest.mark.slow
@SWEEP
@given(st.sampled_from(["input_shape", "time_steps", "arch_kwargs", "input", "dataset"]), JSON)
def test_sweep_random_card_values(field: str, value: object) -> None:
    assert (problem := _card_judge(_card_value_case(field, value), field, value)) is None, problem


@pytest.mark.slow
@SWEEP
@given(st.text(max_size=2000))
def test_sweep_random_text_as_ir(text: str) -> None:
    assert (problem := _run(_ir_text_case(text))) is None, problem


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_every_exchange_file_under_every_command() -> None:
    """The full exchange sweep: every broken NIR, ONNX and netx file under every command."""
    problems = [p for p in (_run(case) for case in exchange_cases(full=True)) if p]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("fmt", "kind", "code"),
    [
        ("netx", "fractional-weight", "LV521"),
        ("netx", "huge-weight", "LV521"),
        ("netx", "nan-weight", "LV521"),
        ("onnx", "no-outputs", "IX801"),
    ],
)
def test_exchange_readers_refuse_with_the_right_code(fmt: str, kind: str, code: str) -> None:
    """Values netx cannot hold (fractional or beyond int64) and an ONNX graph without outputs
    are refused by the reader, not truncated or crashed on."""
    from tests.hostile.exchange_cases import _builders

    with tempfile.TemporaryDirectory(prefix="hostile_") as tmp:
        root = Path(tmp)
        path = _builders(fmt)[kind](root)
        case = Case(
            fmt,
            f"run {kind}",
            lambda r: ["run", str(path), "--backend", "float", "--input", str(_zeros_input(r))],
            None,
        )
        outcome = run_case(case, root)
    assert (outcome.kind, outcome.code) == ("error", code), outcome.detail


def _zeros_input(root: Path) -> Path:
    np.save(root / "x.npy", np.zeros((2, 8), dtype=np.float32))
    return root / "x.npy"
