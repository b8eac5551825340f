"""The command line: info, zoo, compiling text IR, and errors as one paragraph with a code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from snncompile.cli import main
from snncompile.ir.parser import parse_graph
from snncompile.ir.printer import print_graph
from tests.conftest import make_conv_lif_graph


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.lava
@pytest.mark.timeout(180)
def test_info_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["info", "--json"], capsys)
    assert code == 0
    report = json.loads(out)
    for dist in ("torch", "numpy", "lava-nc", "lava-dl", "nir", "onnx"):
        assert dist in report["versions"]
    assert report["versions"]["lava-nc"] == "0.10.0"
    assert set(report["backends"]) == {"sim", "loihi", "nir", "onnx"}
    for status in report["backends"].values():
        assert set(status) == {"available", "reason"}
    assert report["backends"]["loihi"] == {"available": True, "reason": None}


def test_zoo_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["zoo", "--json"], capsys)
    assert code == 0
    rows = json.loads(out)
    assert rows, "the zoo lists models"
    for row in rows:
        assert {"name", "family", "params", "paper_params"} <= set(row)
        assert isinstance(row["params"], int) and row["params"] > 0
        assert row["paper_params"] is None or isinstance(row["paper_params"], int)


def test_compile_text_ir_to_ir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "net.snnir"
    graph = make_conv_lif_graph()
    source.write_text(print_graph(graph))
    out_file = tmp_path / "out.snnir"
    code, _, err = _run([str(source), "--target", "ir", "-o", str(out_file)], capsys)
    assert code == 0, err
    assert "wrote" in err
    assert print_graph(parse_graph(out_file.read_text())) == print_graph(graph)


def test_dump_ir_after(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "net.snnir"
    source.write_text(print_graph(make_conv_lif_graph()))
    code, out, err = _run(
        ["compile", str(source), "--target", "ir", "--dump-ir-after", "dead-code"], capsys
    )
    assert code == 0
    assert "IR after dead-code" in err
    assert out.startswith("# snncompile: time_steps=4")  # the recorded T (then the graph)
    assert "\ngraph @conv_lif" in out


def test_malformed_ir_is_one_paragraph_with_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "bad.snnir"
    source.write_text(
        "graph @g stage=tensor {\n  input %x : tensor<4xf32>\n  %y = scale(%x) {factor=} \n"
    )
    code, _, err = _run([str(source), "--target", "ir"], capsys)
    assert code == 1
    assert err.startswith("error[IR101]")
    assert "line 3" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "code_text"),
    [
        (["missing.snnir", "--target", "ir"], "IN601"),
        (["--target", "ir", "nothing.pt"], "IN601"),
    ],
)
def test_errors_have_codes(
    args: list[str], code_text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(args, capsys)
    assert code == 1
    assert f"error[{code_text}]" in err


def test_unknown_target_lists_the_targets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "net.snnir"
    source.write_text(print_graph(make_conv_lif_graph()))
    code, _, err = _run([str(source), "--target", "sim"], capsys)  # sim is a run backend
    assert code == 1 and "'sim' is not one of 'fixed', 'ir', 'loihi', 'netx', 'nir', 'onnx'" in err


def test_bad_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["compile", "x.snnir", "--target", "fpga"], capsys)
    assert code == 1
    assert "fpga" in err and "Traceback" not in err


def test_console_script_has_no_traceback(tmp_path: Path) -> None:
    source = tmp_path / "bad.snnir"
    source.write_text(
        "graph @g stage=tensor {\n  %y = frobnicate() : tensor<f32>\n  output %y\n}\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "snncompile.cli", str(source), "--target", "ir"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "error[IR102]" in proc.stderr and "frobnicate" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_debug_shows_traceback(tmp_path: Path) -> None:
    source = tmp_path / "bad.snnir"
    source.write_text(
        "graph @g stage=tensor {\n  %y = frobnicate() : tensor<f32>\n  output %y\n}\n"
    )
    with pytest.raises(Exception) as info:
        main(["--debug", str(source), "--target", "ir"])
    assert "IR102" in str(info.value)
