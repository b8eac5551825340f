"""CompileConfig: frozen, JSON round trip, validation with CF201, mirrored by the CLI."""

from __future__ import annotations

import dataclasses

import pytest
from click.testing import CliRunner

from snncompile.cli import cli
from snncompile.config import CompileConfig
from snncompile.diagnostics import ConfigError


def test_json_round_trip() -> None:
    config = CompileConfig(target="loihi", arch="spikformer_digits", dump_ir_after=("a", "b"))
    assert CompileConfig.from_json(config.to_json()) == config


def test_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        CompileConfig().target = "onnx"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"target": "fpga"}, "target"),
        ({"time_steps": 0}, "time_steps"),
        ({"time_steps": "4"}, "time_steps"),
        ({"weight_bits": 9}, "weight_bits"),
        ({"input_shape": (1, 0, 4)}, "input_shape"),
        ({"input_shape": "1,28,28"}, "input_shape"),
        ({"weight_bits": 0}, "weight_bits"),
        ({"verify_each_pass": "yes"}, "verify_each_pass"),
        ({"nir_extensions": 1}, "nir_extensions"),
        ({"nir_convention": "brian2"}, "nir_convention"),
        ({"nir_dt": 0.0}, "nir_dt"),
        ({"nir_dt": "1e-3"}, "nir_dt"),
        ({"nir_reset": "zero"}, "nir_reset"),
    ],
)
def test_invalid_values_name_the_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        CompileConfig(**changes)  # type: ignore[arg-type]
    assert info.value.code == "CF201"
    assert field in info.value.render()


def test_unknown_keys_are_rejected() -> None:
    with pytest.raises(ConfigError) as info:
        CompileConfig.from_dict({"target": "ir", "optimise": True})
    assert "optimise" in info.value.message


def test_every_field_is_documented_and_on_the_cli() -> None:
    help_text = CliRunner().invoke(cli, ["compile", "--help"], terminal_width=200).output
    for f in dataclasses.fields(CompileConfig):
        assert f.metadata["help"]
        assert "--" + f.name.replace("_", "-") in help_text


def test_nir_options_round_trip_and_take_int_dt() -> None:
    config = CompileConfig(
        target="nir", nir_extensions=True, nir_convention="norse", nir_dt=1, nir_reset="value"
    )
    assert config.nir_dt == 1.0 and isinstance(config.nir_dt, float)
    assert CompileConfig.from_json(config.to_json()) == config
    assert CompileConfig().nir_convention is None and not CompileConfig().nir_extensions


def test_allow_saturation_is_an_alias_of_accept_saturation() -> None:
    from snncompile.cli import compile_command

    for flags, expected in (
        ([], False),
        (["--allow-saturation"], True),
        (["--accept-saturation"], True),
    ):
        ctx = compile_command.make_context("compile", ["model.pt", *flags])
        assert (
            CompileConfig.from_dict(
                {k: v for k, v in ctx.params.items() if k != "model" and k != "output"}
            ).accept_saturation
            is expected
        )


@pytest.mark.parametrize("command", ["run", "check"])
def test_run_and_check_take_every_compile_option(command: str) -> None:
    """``run`` and ``check`` accept the compile options of ``compile`` (generated from
    CompileConfig), and ``run`` every RunConfig field too (issue 16, deliverable 4)."""
    from snncompile.config import RunConfig

    help_text = CliRunner().invoke(cli, [command, "--help"], terminal_width=200).output
    missing = [
        f.name
        for f in dataclasses.fields(CompileConfig)
        if "--" + f.name.replace("_", "-") not in help_text
    ]
    assert not missing, f"{command} lacks {missing}"
    if command == "run":
        for f in dataclasses.fields(RunConfig):
            assert "--" + f.name.replace("_", "-") in help_text, f.name
