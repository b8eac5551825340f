"""The hand-made cases of the hostile corpus, by category (see :mod:`tests.hostile.corpus`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tests.hostile.corpus import (
    Case,
    _arch,
    _check_model,
    compressed_bomb,
    dev_zero,
    fifo,
    huge_npy_header,
    npz_bytes,
    payload_pickle,
    set_key,
    tiny_artifact,
    tiny_ir,
    tiny_model,
    truncated_npz,
)

ML_LOAD = frozenset({"ML401", "ML402", "ML403", "ML404", "IN601"})


def _codes(*codes: str) -> frozenset[str]:
    return frozenset(codes)


# --- checkpoints ----------------------------------------------------------------------------

_COMMANDS: dict[str, Callable[[Path, Path], list[str]]] = {
    "check": lambda path, root: _check_model(path, root),
    "compile": lambda path, root: [str(path), *_arch(root), "--target", "ir"],
    "report": lambda path, root: ["report", str(path), *_arch(root)],
    "run": lambda path, root: [
        "run",
        str(path),
        *_arch(root),
        "--backend",
        "float",
        "--input",
        str(_zeros(root)),
    ],
}


def _checkpoint_files() -> dict[str, tuple[Callable[[Path], Path], frozenset[str] | None]]:
    def raw(data: bytes) -> Callable[[Path], Path]:
        def build(root: Path) -> Path:
            tiny_model(root)
            (root / "tiny.pt").write_bytes(data)
            return root / "tiny.pt"

        return build

    def mutated(fn: Callable[[dict[str, torch.Tensor]], None]) -> Callable[[Path], Path]:
        return lambda root: tiny_model(root, mutate=fn)

    def truncated(keep: float) -> Callable[[Path], Path]:
        def build(root: Path) -> Path:
            path = tiny_model(root)
            data = path.read_bytes()
            path.write_bytes(data[: int(len(data) * keep)])
            return path

        return build

    def payload(root: Path) -> Path:
        tiny_model(root)
        path = payload_pickle(root, "tiny.pt")
        return path

    def special(kind: str) -> Callable[[Path], Path]:
        def build(root: Path) -> Path:
            tiny_model(root)
            (root / "tiny.pt").unlink()
            if kind == "fifo":
                return fifo(root, "tiny.pt")
            if kind == "dev_zero":
                return dev_zero(root, "tiny.pt")
            (root / "tiny.pt").mkdir()
            return root / "tiny.pt"

        return build

    def drop(state: dict[str, torch.Tensor]) -> None:
        state.pop(next(iter(state)))

    def extra(state: dict[str, torch.Tensor]) -> None:
        state["surprise.weight"] = torch.zeros(3)

    def reshape(state: dict[str, torch.Tensor]) -> None:
        state["l1.weight"] = torch.zeros(7, 8)

    def integer(state: dict[str, torch.Tensor]) -> None:
        state["l1.weight"] = torch.zeros(6, 8, dtype=torch.int64)

    nan = _codes("ML406")
    return {
        "empty": (raw(b""), ML_LOAD),
        "text": (raw(b"this is not a checkpoint\n"), ML_LOAD),
        "zip-garbage": (raw(b"PK\x03\x04" + b"\x00" * 64), ML_LOAD),
        "truncated-10%": (truncated(0.1), ML_LOAD),
        "truncated-50%": (truncated(0.5), ML_LOAD),
        "truncated-99%": (truncated(0.99), ML_LOAD),
        "pickle-payload": (payload, _codes("ML404", "ML402")),
        "nan-weight": (mutated(lambda s: set_key(s, "l1.weight", float("nan"), 5)), nan),
        "inf-bias": (mutated(lambda s: set_key(s, "l2.bias", float("inf"), 1)), nan),
        "-inf-weight": (mutated(lambda s: set_key(s, "l2.weight", float("-inf"))), nan),
        "nan-bn-mean": (mutated(lambda s: set_key(s, "running_mean", float("nan"))), nan),
        "inf-bn-var": (mutated(lambda s: set_key(s, "running_var", float("inf"))), nan),
        "negative-bn-var": (
            mutated(lambda s: set_key(s, "running_var", -1.0, 2)),
            _codes("ML407"),
        ),
        "missing-key": (mutated(drop), _codes("ML403")),
        "unexpected-key": (mutated(extra), _codes("ML403")),
        "wrong-shape": (mutated(reshape), _codes("ML403")),
        "integer-weight": (mutated(integer), None),  # cast exactly: a valid model
        "fifo": (special("fifo"), _codes("IN603")),
        "dev-zero-link": (special("dev_zero"), _codes("IN603")),
        "directory": (special("dir"), _codes("IN601")),
    }


def checkpoint_cases() -> list[Case]:
    cases = []
    for name, (build, expect) in _checkpoint_files().items():
        for command, args in _COMMANDS.items():
            if command in ("report", "run") and name.startswith("truncated-1"):
                continue

            def make(root: Path, build: Any = build, args: Any = args) -> list[str]:
                return list(args(build(root), root))

            cases.append(Case("checkpoint", f"{command} {name}", make, expect))
    cases.append(
        Case("checkpoint", "check valid (control)", lambda r: _check_model(tiny_model(r), r), None)
    )
    return cases


# --- model cards ----------------------------------------------------------------------------

CARD_VALUES: dict[str, list[Any]] = {
    "input_shape": ["8", 8, [-8], [0], [], [[8]], ["8"], [8.5], [True], None, {"c": 8}, [10**12]],
    "time_steps": ["four", -2, 0, 1.5, True, 10**9, None, [4]],
    "arch": [5, "", None, ["Tiny"], "no_such_zoo_model_xyz"],
    "arch_kwargs": [[1, 2], "channels=4", 7],
    "input": ["video", 3],
    "dataset": [5, ["digits"]],
}


def _card_case(field: str, value: Any) -> Case:
    def build(root: Path) -> list[str]:
        path = tiny_model(root)
        card = {"arch": str(root / "tiny.py") + ":Tiny", "input_shape": [8], field: value}
        (root / "tiny.json").write_text(json.dumps(card))
        return ["check", str(path), "--trust-code", "--dataset", "random", "--samples", "2"]

    expect = _codes("ML408", "ML401", "ML402", "IN604")
    if field == "input_shape" and value is None:
        expect = _codes("ML408", "IN601")
    return Case("card", f"{field}={json.dumps(value)[:20]}", build, expect)


def card_cases() -> list[Case]:
    cases = [_card_case(f, v) for f, values in CARD_VALUES.items() for v in values]

    def raw(text: str, expect: frozenset[str], name: str) -> Case:
        def build(root: Path) -> list[str]:
            path = tiny_model(root)
            (root / "tiny.json").write_text(text)
            return ["check", str(path), "--dataset", "random", "--samples", "2"]

        return Case("card", name, build, expect)

    cases += [
        raw("{not json", _codes("ML402"), "not JSON"),
        raw("[1, 2, 3]", _codes("ML408"), "a list"),
        raw('"tiny"', _codes("ML408"), "a string"),
        raw("[" * 100_000 + "]" * 100_000, _codes("ML402"), "deeply nested"),
        raw('{"arch": "tiny.py:Tiny", "input_shape": [8]}', _codes("SC101"), "names code"),
        raw('{"arch": "os:system", "input_shape": [8]}', _codes("SC101"), "names a module"),
    ]

    def payload_card(root: Path) -> list[str]:
        (root / "card_payload.py").write_text(f"open({str(root / 'PWNED')!r}, 'w')\n")
        path = tiny_model(root)
        (root / "tiny.json").write_text(json.dumps({"arch": "card_payload.py:Net"}))
        return ["run", str(path), "--backend", "float"]

    def fifo_card(root: Path) -> list[str]:
        path = tiny_model(root)
        (root / "tiny.json").unlink()
        fifo(root, "tiny.json")
        return ["check", str(path), *_arch(root), "--dataset", "random"]

    def valid(root: Path) -> list[str]:
        path = tiny_model(root)
        card = {"arch": str(root / "tiny.py") + ":Tiny", "input_shape": [8], "time_steps": 4}
        (root / "tiny.json").write_text(json.dumps(card))
        return ["check", str(path), "--trust-code", "--dataset", "random", "--samples", "2"]

    cases += [
        Case("card", "payload never runs", payload_card, _codes("SC101")),
        Case("card", "a FIFO", fifo_card, _codes("IN603")),
        Case("card", "valid (control)", valid, None),
    ]
    return cases


# --- text IR --------------------------------------------------------------------------------


def _ir_variant(kind: str) -> Callable[[Path], Path]:
    def build(root: Path) -> Path:
        path = tiny_ir(root)
        text = path.read_text()
        if kind.startswith("truncate"):
            keep = float(kind.split(":")[1])
            path.write_text(text[: int(len(text) * keep)])
        elif kind == "binary":
            path.write_bytes(b"\xff\xfe\x00graph" * 10)
        elif kind == "empty":
            path.write_text("")
        elif kind == "huge-dims":
            path.write_text(
                "graph @huge stage=tensor {\n  input %x : tensor<1000000000xf32>\n"
                "  %y = lif(%x) : tensor<1000000000xf32, binary>\n  output %y\n}\n"
            )
        elif kind == "zero-dims":
            path.write_text(
                "graph @zero stage=tensor {\n  input %x : tensor<0xf32>\n  output %x\n}\n"
            )
        elif kind in ("nan", "inf"):
            path.write_text(_ir_with_weight(float(kind)))
        elif kind == "fifo":
            path.unlink()
            fifo(root, "tiny.snnir")
        elif kind == "dev-zero":
            path.unlink()
            dev_zero(root, "tiny.snnir")
        elif kind == "swap-lines":
            lines = text.splitlines()
            lines[1], lines[-2] = lines[-2], lines[1]
            path.write_text("\n".join(lines))
        return path

    return build


def _ir_with_weight(value: float) -> str:
    from snncompile.ir.graph import GraphBuilder
    from snncompile.ir.ops.tensor import LifAttrs, LinearAttrs
    from snncompile.ir.printer import print_graph
    from snncompile.ir.types import TensorType

    weight = np.ones((4, 4), np.float32)
    weight[1, 2] = value
    b = GraphBuilder("weights")
    x = b.input("x", TensorType((4,), "f32"))
    y = b.add_node("linear", [x], LinearAttrs(weight=weight, bias=None), name="fc")
    out = b.add_node("lif", [y], LifAttrs(), name="out")
    return print_graph(b.finish([out]))


IR_KINDS = {
    "truncate:0.3": _codes("IR101", "IR104", "IR108", "IR109"),
    "truncate:0.7": _codes("IR101", "IR104", "IR108", "IR109"),
    "truncate:0.95": _codes("IR101", "IR104", "IR108", "IR109"),
    "binary": _codes("IN601", "IR101"),
    "empty": _codes("IR101"),
    "huge-dims": _codes("IN604"),
    "zero-dims": _codes("ok", "IN601", "IR101", "SD101", "IN606", "CF201"),
    "nan": _codes("ML406"),
    "inf": _codes("ML406"),
    "fifo": _codes("IN603"),
    "dev-zero": _codes("IN603"),
    "swap-lines": _codes("IR101", "IR104", "IR108", "IR109"),
}


def text_ir_cases() -> list[Case]:
    cases = []
    for kind, expect in IR_KINDS.items():
        build = _ir_variant(kind)
        commands = {
            "check": lambda p: ["check", str(p), "--samples", "2"],
            "compile": lambda p: [str(p), "--target", "fixed"],
            "report": lambda p: ["report", str(p)],
        }
        for command, args in commands.items():

            def make(root: Path, build: Any = build, args: Any = args) -> list[str]:
                return list(args(build(root)))

            cases.append(Case("text-ir", f"{command} {kind}", make, expect))
    cases.append(
        Case(
            "text-ir",
            "valid (control)",
            lambda r: ["check", str(tiny_ir(r)), "--samples", "2"],
            None,
        )
    )
    return cases


# --- data inputs ----------------------------------------------------------------------------


def _data_file(kind: str) -> Callable[[Path], Path]:
    def build(root: Path) -> Path:
        x = np.random.default_rng(0).random((4, 8)).astype(np.float32)
        if kind == "strings":
            np.save(root / "x.npy", np.array([["a"] * 8] * 4))
        elif kind == "zero-samples":
            np.save(root / "x.npy", np.zeros((0, 8), np.float32))
        elif kind == "fewer-labels":
            np.save(root / "x.npy", x)
            np.save(root / "x_labels.npy", np.arange(2))
        elif kind == "string-labels":
            np.save(root / "x.npy", x)
            np.save(root / "x_labels.npy", np.array(["cat"] * 4))
        elif kind == "negative-labels":
            (root / "x.npz").write_bytes(npz_bytes(x=x, y=-np.arange(1, 5)))
            return root / "x.npz"
        elif kind == "npy-named-npz":
            with open(root / "x.npz", "wb") as handle:
                np.save(handle, x)
            return root / "x.npz"
        elif kind.startswith("truncated-npz"):
            return truncated_npz(root, float(kind.split(":")[1]))
        elif kind == "npz-no-arrays":
            (root / "x.npz").write_bytes(npz_bytes())
            return root / "x.npz"
        elif kind in ("nan", "inf", "all-nan"):
            bad = x.copy()
            if kind == "all-nan":
                bad[:] = np.nan
            else:
                bad[1, 2] = float(kind)  # within the samples check reads
            np.save(root / "x.npy", bad)
        elif kind == "huge-header":
            return huge_npy_header(root)
        elif kind == "compressed-bomb":
            return compressed_bomb(root)
        elif kind == "object-dtype":
            np.save(root / "x.npy", np.array([{"a": 1}] * 4, dtype=object), allow_pickle=True)
        elif kind == "wrong-shape":
            np.save(root / "x.npy", np.zeros((4, 9), np.float32))
        elif kind == "scalar":
            np.save(root / "x.npy", np.float32(3))
        elif kind == "complex":
            np.save(root / "x.npy", x.astype(np.complex64))
        elif kind == "fifo":
            return fifo(root, "x.npy")
        elif kind == "dev-zero":
            return dev_zero(root, "x.npy")
        elif kind == "txt":
            (root / "x.txt").write_text("1 2 3")
            return root / "x.txt"
        elif kind == "missing":
            return root / "absent.npy"
        return root / "x.npy"

    return build


DATA_KINDS = {
    "strings": _codes("IN606"),
    "zero-samples": _codes("IN606"),
    "fewer-labels": _codes("IN606"),
    "string-labels": _codes("IN606"),
    "negative-labels": _codes("IN606"),
    "npy-named-npz": _codes("IN606"),
    "truncated-npz:0.2": _codes("IN606"),
    "truncated-npz:0.8": _codes("IN606"),
    "npz-no-arrays": _codes("IN606"),
    "nan": _codes("IN605"),
    "inf": _codes("IN605"),
    "all-nan": _codes("IN605"),
    "huge-header": _codes("IN606", "IN604"),
    "compressed-bomb": _codes("IN604", "IN606"),
    "object-dtype": _codes("IN601", "IN606"),
    "wrong-shape": _codes("IN601", "IN606"),
    "scalar": _codes("IN601", "IN606"),
    "complex": _codes("IN606"),
    "fifo": _codes("IN603"),
    "dev-zero": _codes("IN603"),
    "txt": _codes("IN601", "IN606"),
    "missing": _codes("IN601"),
}


def _image_folder(kind: str) -> Callable[[Path], Path]:
    def build(root: Path) -> Path:
        from PIL import Image

        folder = root / "images"
        for label in ("a", "b"):
            (folder / label).mkdir(parents=True)
            for i in range(2):
                Image.fromarray(np.full((4, 2), 40 * i, np.uint8)).save(folder / label / f"{i}.png")
        if kind == "corrupt-png":
            (folder / "a" / "1.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
        elif kind == "empty-png":
            (folder / "b" / "0.png").write_bytes(b"")
        elif kind == "no-classes":
            for path in sorted(folder.rglob("*"), reverse=True):
                path.unlink() if path.is_file() else path.rmdir()
        elif kind == "fifo-image":
            (folder / "a" / "0.png").unlink()
            fifo(folder / "a", "0.png")
        return folder

    return build


IMAGE_KINDS = {
    "corrupt-png": _codes("IN606"),
    "empty-png": _codes("IN606"),
    "no-classes": _codes("IN601"),
    "fifo-image": _codes("IN603"),
}


def data_cases() -> list[Case]:
    cases = []
    for kind, expect in DATA_KINDS.items():
        build = _data_file(kind)

        def check(root: Path, build: Any = build) -> list[str]:
            return ["check", str(tiny_ir(root)), "--input", str(build(root)), "--samples", "2"]

        def run(root: Path, build: Any = build) -> list[str]:
            art = tiny_artifact(root)
            return ["run", str(art), "--input", str(build(root)), "--json", str(root / "r.json")]

        cases.append(Case("data", f"check {kind}", check, expect))
        cases.append(Case("data", f"run {kind}", run, expect, outputs=("r.json",)))
    for kind, expect in IMAGE_KINDS.items():
        image_build = _image_folder(kind)

        def run_images(root: Path, build: Any = image_build) -> list[str]:
            art = tiny_artifact(root)
            return ["run", str(art), "--input", str(build(root)), "--normalize", "0.5", "0.25"]

        cases.append(Case("data", f"run {kind}", run_images, expect))

    def valid(root: Path) -> list[str]:
        np.save(root / "x.npy", np.random.default_rng(0).random((4, 8)).astype(np.float32))
        np.save(root / "x_labels.npy", np.arange(4) % 4)
        art = tiny_artifact(root)
        return ["run", str(art), "--input", str(root / "x.npy"), "--json", str(root / "r.json")]

    cases.append(Case("data", "run valid (control)", valid, None, outputs=("r.json",)))
    return cases


# --- artifacts and manifests ----------------------------------------------------------------


def _artifact_variant(kind: str) -> Callable[[Path], Path]:
    from tests.hostile.triggers import edit_manifest, forge

    def build(root: Path) -> Path:
        out = tiny_artifact(root)
        manifest_path = out / "manifest.json"
        manifest = json.loads(manifest_path.read_text())
        if kind.startswith("edit:"):
            field = kind.split(":")[1]
            value = manifest[field]
            edit_manifest(out, **{field: _other(value)})
        elif kind == "forge:trust":
            forge(out, config={**manifest["config"], "trust_pickle": True})
        elif kind == "forge:files-outside":
            files = dict(manifest["files"])
            files["../../etc/passwd"] = {"sha256": "0" * 64, "bytes": 1}
            forge(out, files=files)
        elif kind.startswith("forge:"):
            field, raw = kind.split(":", 2)[1:]
            forge(out, **{field: json.loads(raw)})
        elif kind == "not-json":
            manifest_path.write_text("{")
        elif kind == "list":
            manifest_path.write_text("[]")
        elif kind == "no-manifest":
            manifest_path.unlink()
        elif kind == "manifest-dev-zero":
            manifest_path.unlink()
            manifest_path.symlink_to("/dev/zero")
        elif kind.startswith("file:"):
            name, how = kind.split(":")[1:]
            path = out / name
            if how == "missing":
                path.unlink()
            elif how == "empty":
                path.write_bytes(b"")
            elif how == "flip":
                data = bytearray(path.read_bytes())
                data[len(data) // 3] ^= 0x10
                path.write_bytes(bytes(data))
            elif how == "dir":
                path.unlink()
                path.mkdir()
            elif how == "fifo":
                path.unlink()
                fifo(path.parent, path.name)
        return out

    return build


def _other(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, list):
        return [*value, value[0]] if value else [1]
    if isinstance(value, dict):
        return {**value, "extra": 1}
    return 1


ARTIFACT_KINDS: dict[str, frozenset[str]] = {
    **{
        f"edit:{field}": _codes("AR101", "LV504")
        for field in (
            "model",
            "versions",
            "config",
            "source",
            "time_steps",
            "pipeline_depth",
            "inputs",
            "outputs",
            "counts",
            "graphs",
            "arrays",
            "files",
        )
    },
    "forge:time_steps:1": _codes("AR102"),
    'forge:time_steps:"four"': _codes("AR102"),
    "forge:pipeline_depth:1000000000": _codes("AR102"),
    "forge:pipeline_depth:-3": _codes("AR102"),
    "forge:outputs:[]": _codes("AR102"),
    "forge:config:null": _codes("LV504"),
    "forge:trust": _codes("AR101"),
    "forge:files-outside": _codes("LV504"),
    "not-json": _codes("LV504"),
    "list": _codes("LV504"),
    "no-manifest": _codes("LV503", "IN601", "ML402"),
    "manifest-dev-zero": _codes("LV503", "LV504", "IN603", "IN601"),
    **{
        f"file:{name}:{how}": _codes("LV503", "LV504", "IN603")
        for name in ("network/weights.npz", "network/pipelined.snnir", "reports/pipeline.json")
        for how in ("missing", "empty", "flip", "dir", "fifo")
    },
}


def artifact_cases() -> list[Case]:
    cases = []
    for kind, expect in ARTIFACT_KINDS.items():
        build = _artifact_variant(kind)
        if kind == "forge:trust":
            expect = _codes("ok")  # trust is never read from a manifest: it has no effect
        commands = {
            "run": lambda a: ["run", str(a), "--input", str(a.parent / "x.npy")],
            "report": lambda a: ["report", str(a)],
        }
        for command, args in commands.items():
            if command == "report" and kind.startswith("file:reports"):
                continue

            def make(root: Path, build: Any = build, args: Any = args) -> list[str]:
                np.save(root / "x.npy", np.zeros((2, 8), np.float32))
                return list(args(build(root)))

            cases.append(Case("artifact", f"{command} {kind}", make, expect))
    cases.append(
        Case(
            "artifact",
            "report valid (control)",
            lambda r: ["report", str(tiny_artifact(r))],
            None,
        )
    )
    return cases


# --- outputs --------------------------------------------------------------------------------


def output_cases() -> list[Case]:
    def model(root: Path) -> Path:
        return tiny_ir(root)

    def case(name: str, args: Callable[[Path], list[str]], expect: frozenset[str]) -> Case:
        return Case("output", name, args, expect, outputs=("r.json",))

    over = _codes("SC102")
    cant = _codes("IN607")
    return [
        case(
            "compile -o the input",
            lambda r: [str(model(r)), "--target", "ir", "-o", str(r / "tiny.snnir")],
            over,
        ),
        case(
            "check --json the input",
            lambda r: ["check", str(model(r)), "--json", str(r / "tiny.snnir")],
            over,
        ),
        case(
            "check --html the input via ..",
            lambda r: ["check", str(model(r)), "--html", str(r / "x" / ".." / "tiny.snnir")],
            over,
        ),
        case("check --json = --input", lambda r: _json_over_input(r), over),
        case(
            "check --json and --html the same",
            lambda r: [
                "check",
                str(model(r)),
                "--json",
                str(r / "r.json"),
                "--html",
                str(r / "r.json"),
            ],
            over,
        ),
        case(
            "run --json inside the artifact",
            lambda r: [
                "run",
                str(tiny_artifact(r)),
                "--input",
                str(_zeros(r)),
                "--json",
                str(r / "art" / "new.json"),
            ],
            over,
        ),
        case(
            "report --json over the manifest",
            lambda r: ["report", str(tiny_artifact(r)), "--json", str(r / "art" / "manifest.json")],
            over,
        ),
        case(
            "compile -o . holding the input",
            lambda r: [str(model(r)), "--target", "loihi", "--allow-host-ops", "-o", str(r)],
            over,
        ),
        case(
            "compile -o a symlink to the input",
            lambda r: [str(model(r)), "--target", "ir", "-o", str(_link(r, "tiny.snnir"))],
            over,
        ),
        case(
            "compile -o missing directory",
            lambda r: [str(model(r)), "--target", "onnx", "-o", str(r / "no" / "m.onnx")],
            cant,
        ),
        case(
            "compile -o a directory",
            lambda r: [str(model(r)), "--target", "ir", "-o", str(_dir(r))],
            cant,
        ),
        case(
            "check --json a directory",
            lambda r: ["check", str(model(r)), "--json", str(_dir(r))],
            cant,
        ),
        case(
            "run --json /dev/full",
            lambda r: [
                "run",
                str(tiny_artifact(r)),
                "--input",
                str(_zeros(r)),
                "--json",
                "/dev/full",
            ],
            cant,
        ),
        case(
            "loihi -o an existing file",
            lambda r: [str(model(r)), "--target", "loihi", "--allow-host-ops", "-o", str(_file(r))],
            cant,
        ),
        case(
            "loihi -o a foreign directory",
            lambda r: [
                str(model(r)),
                "--target",
                "loihi",
                "--allow-host-ops",
                "-o",
                str(_foreign(r)),
            ],
            cant,
        ),
        case(
            "loihi -o in a missing directory (created)",
            lambda r: [
                str(model(r)),
                "--target",
                "loihi",
                "--allow-host-ops",
                "-o",
                str(r / "new" / "a.loihi"),
            ],
            None,
        ),  # type: ignore[arg-type]
        case(
            "check --json valid (control)",
            lambda r: ["check", str(model(r)), "--samples", "2", "--json", str(r / "r.json")],
            None,
        ),  # type: ignore[arg-type]
    ]


def _zeros(root: Path) -> Path:
    np.save(root / "x.npy", np.zeros((2, 8), np.float32))
    return root / "x.npy"


def _json_over_input(root: Path) -> list[str]:
    return [
        "check",
        str(tiny_ir(root)),
        "--input",
        str(_zeros(root)),
        "--json",
        str(root / "x.npy"),
    ]


def _link(root: Path, target: str) -> Path:
    (root / "link.snnir").symlink_to(root / target)
    return root / "link.snnir"


def _dir(root: Path) -> Path:
    (root / "adir").mkdir()
    return root / "adir"


def _file(root: Path) -> Path:
    (root / "afile").write_text("keep me")
    return root / "afile"


def _foreign(root: Path) -> Path:
    (root / "docs").mkdir()
    (root / "docs" / "thesis.tex").write_text("years of work")
    return root / "docs"


# --- the other commands: info, zoo, card, demo ----------------------------------------------


def _card_args(root: Path, *extra: str) -> list[str]:
    path = tiny_model(root)
    (root / "tiny.json").unlink()  # card writes it
    return ["card", str(path), *_arch(root), "--input-shape", "8", *extra]


def command_cases() -> list[Case]:
    """Hostile flags, paths and values for the commands that read no model file of their own
    (``info``, ``zoo``, ``demo``) and for ``card``."""
    usage = _codes("usage")

    def case(name: str, args: Callable[[Path], list[str]], expect: frozenset[str] | None) -> Case:
        return Case("command", name, args, expect)

    def fifo_model(root: Path) -> list[str]:
        tiny_model(root)
        (root / "tiny.pt").unlink()
        (root / "tiny.json").unlink()
        return ["card", str(fifo(root, "tiny.pt")), *_arch(root), "--input-shape", "8"]

    def card_twice(root: Path) -> list[str]:
        args = _card_args(root)
        from click.testing import CliRunner

        from snncompile.cli import cli

        assert CliRunner().invoke(cli, args).exit_code == 0
        return args

    return [
        case("info --bogus", lambda r: ["info", "--bogus"], usage),
        case("info extra argument", lambda r: ["info", "extra"], usage),
        case("info --json (control)", lambda r: ["info", "--json"], None),
        case("zoo extra argument", lambda r: ["zoo", "extra"], usage),
        case("zoo --bogus", lambda r: ["zoo", "--bogus"], usage),
        case("zoo --json (control)", lambda r: ["zoo", "--json"], None),
        case("card missing model", lambda r: ["card", str(r / "absent.pt")], _codes("IN601")),
        case("card a FIFO", fifo_model, _codes("IN603")),
        case("card --input-shape -8", lambda r: [*_card_args(r)[:-1], "-8"], usage),
        case("card --input-shape abc", lambda r: [*_card_args(r)[:-1], "abc"], usage),
        case("card --time-steps 0", lambda r: _card_args(r, "--time-steps", "0"), usage),
        case("card --seed -1", lambda r: _card_args(r, "--seed", "-1"), usage),
        case("card garbage model", lambda r: [*_card_args(r)[:1], str(_garbage(r)),
             *_card_args(r)[2:]], ML_LOAD),
        case("card -o in a missing folder",
             lambda r: _card_args(r, "-o", str(r / "no" / "c.json")), _codes("IN607")),
        case("card -o a directory", lambda r: _card_args(r, "-o", str(_dir(r)), "--force"),
             _codes("IN607")),
        case("card -o the checkpoint",
             lambda r: _card_args(r, "-o", str(r / "tiny.pt")), _codes("ML413")),
        case("card over an existing card", card_twice, _codes("ML413")),
        case("card (control)", lambda r: _card_args(r), None),
        case("demo --samples 0", lambda r: ["demo", "--samples", "0"], usage),
        case("demo --limit -1", lambda r: ["demo", "--limit", "-1"], usage),
        case("demo --lava-samples x", lambda r: ["demo", "--lava-samples", "x"], usage),
        case("demo --out a regular file",
             lambda r: ["demo", "--out", str(_file(r)), "--samples", "1", "--limit", "1"],
             _codes("IN607")),
    ]  # fmt: skip


def _garbage(root: Path) -> Path:
    (root / "g.pt").write_bytes(b"\x80\x04garbage")
    return root / "g.pt"


from tests.hostile.exchange_cases import exchange_cases  # noqa: E402


def all_cases() -> list[Case]:
    return [
        *checkpoint_cases(),
        *card_cases(),
        *text_ir_cases(),
        *data_cases(),
        *artifact_cases(),
        *output_cases(),
        *command_cases(),
        *exchange_cases(),
    ]
