"""Hostile NIR, ONNX and lava-dl netx files (issue 19): hand-made broken exchange files, each
read by every command (``check``, ``report``, ``run --backend float`` and compile to each
target). A valid file of each format is written once by compiling the tiny IR, then mutated.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tests.hostile.corpus import Case, tiny_ir

_CACHE: dict[str, Path] = {}


def _valid(fmt: str) -> Path:
    """A valid ``m.<fmt>`` file compiled from :func:`tiny_ir` (cached per process)."""
    if fmt not in _CACHE:
        import tempfile

        from click.testing import CliRunner

        from snncompile.cli import cli

        root = Path(tempfile.mkdtemp(prefix="hostile_exchange_"))
        out = root / f"m.{ {'nir': 'nir', 'onnx': 'onnx', 'netx': 'net'}[fmt] }"
        result = CliRunner().invoke(cli, [str(tiny_ir(root)), "--target", fmt, "-o", str(out)])
        assert result.exit_code == 0, result.output
        _CACHE[fmt] = out
    return _CACHE[fmt]


def _bytes_variant(kind: str, src: Path, dst: Path) -> None:
    data = src.read_bytes()
    if kind == "empty":
        dst.write_bytes(b"")
    elif kind == "truncated":
        dst.write_bytes(data[: len(data) // 2])
    elif kind == "garbage":
        dst.write_bytes(bytes(range(256)) * 8)
    elif kind == "flipped":
        mid = bytearray(data)
        for i in range(len(mid) // 3, len(mid) // 3 + 64):
            mid[i] ^= 0xFF
        dst.write_bytes(bytes(mid))
    elif kind == "text":
        dst.write_text("this is not a model\n")
    else:
        raise KeyError(kind)


BYTE_KINDS = ("empty", "truncated", "garbage", "flipped", "text")


# --- NIR ------------------------------------------------------------------------------------


def _nir_edit(edit: Callable[[Any], None]) -> Callable[[Path], Path]:
    def build(root: Path) -> Path:
        import nir

        graph = nir.read(str(_valid("nir")))
        edit(graph)
        path = root / "m.nir"
        nir.write(str(path), graph)
        return path

    return build


def _set_weight(value: float) -> Callable[[Any], None]:
    def edit(graph: Any) -> None:
        weight = np.array(graph.nodes["l1"].weight, dtype=np.float64)
        weight[0, 0] = value
        graph.nodes["l1"].weight = weight

    return edit


def _set_input_shape(shape: Any) -> Callable[[Any], None]:
    def edit(graph: Any) -> None:
        graph.nodes["input"].input_type = {"input": np.array(shape)}

    return edit


def _drop_node(name: str) -> Callable[[Any], None]:
    def edit(graph: Any) -> None:
        del graph.nodes[name]

    return edit


def _drop_edge(graph: Any) -> None:
    graph.edges = [e for e in graph.edges if e != ("l1", "n1")]


def _affine_cycle(graph: Any) -> None:
    graph.edges = [*graph.edges, ("l2", "l1")]


def _self_loop(graph: Any) -> None:
    graph.edges = [*graph.edges, ("l1", "l1")]


def _wrong_weight_shape(graph: Any) -> None:
    graph.nodes["l2"].weight = np.zeros((3, 5))


def _drop_bias(graph: Any) -> None:
    import nir

    node = graph.nodes["l1"]
    graph.nodes["l1"] = nir.Linear(weight=np.asarray(node.weight))
    del node


def _nan_tau(graph: Any) -> None:
    graph.nodes["n1"].tau = np.full_like(np.asarray(graph.nodes["n1"].tau), np.nan)


def _negative_threshold(graph: Any) -> None:
    graph.nodes["n1"].v_threshold = -np.asarray(graph.nodes["n1"].v_threshold)


NIR_EDITS: dict[str, Callable[[Path], Path]] = {
    "nan-weight": _nir_edit(_set_weight(float("nan"))),
    "inf-weight": _nir_edit(_set_weight(float("inf"))),
    "huge-weight": _nir_edit(_set_weight(1e300)),
    "nan-tau": _nir_edit(_nan_tau),
    "negative-threshold": _nir_edit(_negative_threshold),
    "negative-dims": _nir_edit(_set_input_shape([-8])),
    "fractional-dims": _nir_edit(_set_input_shape([8.5])),
    "huge-dims": _nir_edit(_set_input_shape([2**40])),
    "zero-dims": _nir_edit(_set_input_shape([0])),
    "wrong-rank-dims": _nir_edit(_set_input_shape([2, 4])),
    "missing-node": _nir_edit(_drop_node("n1")),
    "missing-input": _nir_edit(_drop_node("input")),
    "missing-output": _nir_edit(_drop_node("output")),
    "dangling-edge": _nir_edit(_drop_edge),
    "cycle-without-neuron": _nir_edit(_affine_cycle),
    "self-loop": _nir_edit(_self_loop),
    "wrong-weight-shape": _nir_edit(_wrong_weight_shape),
    "linear-no-bias": _nir_edit(_drop_bias),
}


# --- ONNX -----------------------------------------------------------------------------------


def _onnx_edit(edit: Callable[[Any], None]) -> Callable[[Path], Path]:
    def build(root: Path) -> Path:
        import onnx

        model = onnx.load(str(_valid("onnx")))
        edit(model)
        path = root / "m.onnx"
        onnx.save(model, str(path))
        return path

    return build


def _onnx_init(name: str, value: float | None, shape: tuple[int, ...] | None = None) -> Any:
    def edit(model: Any) -> None:
        from onnx import numpy_helper

        for i, init in enumerate(model.graph.initializer):
            if init.name == name:
                arr = numpy_helper.to_array(init).astype(np.float32).copy()
                if shape is not None:
                    arr = np.zeros(shape, dtype=np.float32)
                if value is not None:
                    arr.flat[0] = value
                model.graph.initializer[i].CopyFrom(numpy_helper.from_array(arr, name))

    return edit


def _onnx_dim(value: Any) -> Callable[[Any], None]:
    def edit(model: Any) -> None:
        dim = model.graph.input[0].type.tensor_type.shape.dim[1]
        if isinstance(value, str):
            dim.dim_param = value
        else:
            dim.dim_value = value

    return edit


def _onnx_drop_node(op: str) -> Callable[[Any], None]:
    def edit(model: Any) -> None:
        for i, node in enumerate(model.graph.node):
            if node.op_type == op:
                del model.graph.node[i]
                return

    return edit


def _onnx_drop_attributes(model: Any) -> None:
    for node in model.graph.node:
        if node.op_type == "LIF":
            del node.attribute[:]


def _onnx_unknown_op(model: Any) -> None:
    for node in model.graph.node:
        if node.op_type == "LIF":
            node.op_type = "Frobnicate"
            return


def _onnx_drop_initializer(model: Any) -> None:
    del model.graph.initializer[2]


def _onnx_cycle(model: Any) -> None:
    first = model.graph.node[0]
    last = model.graph.node[len(model.graph.node) - 1]
    first.input[0] = last.output[0]


def _onnx_no_outputs(model: Any) -> None:
    del model.graph.output[:]


ONNX_EDITS: dict[str, Callable[[Path], Path]] = {
    "nan-weight": _onnx_edit(_onnx_init("l1.weight", float("nan"))),
    "inf-weight": _onnx_edit(_onnx_init("l1.weight", float("-inf"))),
    "nan-bias": _onnx_edit(_onnx_init("l2.bias", float("nan"))),
    "nan-v-init": _onnx_edit(_onnx_init("n1.v_init", float("nan"))),
    "wrong-weight-shape": _onnx_edit(_onnx_init("l2.weight", None, (3, 5))),
    "negative-dims": _onnx_edit(_onnx_dim(-8)),
    "huge-dims": _onnx_edit(_onnx_dim(2**40)),
    "symbolic-feature-dim": _onnx_edit(_onnx_dim("F")),
    "missing-node": _onnx_edit(_onnx_drop_node("Gemm")),
    "missing-neuron": _onnx_edit(_onnx_drop_node("LIF")),
    "missing-attributes": _onnx_edit(_onnx_drop_attributes),
    "unknown-op": _onnx_edit(_onnx_unknown_op),
    "missing-initializer": _onnx_edit(_onnx_drop_initializer),
    "cycle": _onnx_edit(_onnx_cycle),
    "no-outputs": _onnx_edit(_onnx_no_outputs),
}


# --- netx -----------------------------------------------------------------------------------


def _netx_edit(edit: Callable[[Any], None]) -> Callable[[Path], Path]:
    def build(root: Path) -> Path:
        import h5py

        path = root / "m.net"
        shutil.copy(_valid("netx"), path)
        with h5py.File(path, "r+") as f:
            edit(f)
        return path

    return build


def _h5_replace(key: str, value: Any) -> Callable[[Any], None]:
    def edit(f: Any) -> None:
        del f[key]
        f[key] = value

    return edit


def _h5_delete(key: str) -> Callable[[Any], None]:
    def edit(f: Any) -> None:
        del f[key]

    return edit


def _h5_weight(value: float) -> Callable[[Any], None]:
    def edit(f: Any) -> None:
        weight = np.array(f["layer/1/weight"], dtype=np.float64)
        weight.flat[0] = value
        del f["layer/1/weight"]
        f["layer/1/weight"] = weight

    return edit


def _h5_rename_layer(new: str) -> Callable[[Any], None]:
    def edit(f: Any) -> None:
        f.move("layer/1", f"layer/{new}")

    return edit


NETX_EDITS: dict[str, Callable[[Path], Path]] = {
    "nan-weight": _netx_edit(_h5_weight(float("nan"))),
    "inf-weight": _netx_edit(_h5_weight(float("inf"))),
    "fractional-weight": _netx_edit(_h5_weight(0.5)),
    "huge-weight": _netx_edit(_h5_weight(1e30)),
    "layer-without-type": _netx_edit(_h5_delete("layer/1/type")),
    "unknown-layer-type": _netx_edit(_h5_replace("layer/1/type", np.bytes_("warp"))),
    "layer-without-weight": _netx_edit(_h5_delete("layer/1/weight")),
    "no-layers": _netx_edit(_h5_delete("layer")),
    "non-integer-key": _netx_edit(_h5_rename_layer("x")),
    "gap-in-keys": _netx_edit(_h5_rename_layer("7")),
    "negative-shape": _netx_edit(_h5_replace("layer/1/shape", np.array([-4]))),
    "fractional-shape": _netx_edit(_h5_replace("layer/1/shape", np.array([2.5]))),
    "huge-shape": _netx_edit(_h5_replace("layer/1/shape", np.array([2**40]))),
    "zero-shape": _netx_edit(_h5_replace("layer/1/shape", np.array([0]))),
    "wrong-weight-shape": _netx_edit(_h5_replace("layer/1/weight", np.zeros((3, 5)))),
    "huge-out-features": _netx_edit(_h5_replace("layer/1/outFeatures", np.array(2**40))),
    "neuron-without-threshold": _netx_edit(_h5_delete("layer/1/neuron/vThMant")),
    "nan-decay": _netx_edit(_h5_replace("layer/1/neuron/vDecay", np.array(np.nan))),
}


# --- the cases ------------------------------------------------------------------------------


def _zeros(root: Path, width: int = 8) -> Path:
    np.save(root / "x.npy", np.zeros((2, width), dtype=np.float32))
    return root / "x.npy"


def _width(path: Path) -> int:
    """The input width of the tiny exchange files: 8, or 6 for netx (its input layer is the
    first population; the first linear runs on the host and is not in the file)."""
    return 6 if path.suffix == ".net" else 8


def _backend(path: Path) -> str:
    """``float``, or ``sim`` for netx (a network has no float form: CF201)."""
    return "sim" if path.suffix == ".net" else "float"


COMMANDS: dict[str, Callable[[Path, Path], list[str]]] = {
    "check": lambda p, r: ["check", str(p), "--samples", "2"],
    "report": lambda p, r: ["report", str(p)],
    "run": lambda p, r: [
        "run", str(p), "--backend", _backend(p), "--input", str(_zeros(r, _width(p)))
    ],
    "compile": lambda p, r: [str(p), "--target", "ir", "-o", str(r / "out.snnir")],
}  # fmt: skip
#: Every compile target, each on one broken and the valid file of each format.
TARGETS = ("ir", "fixed", "loihi", "netx", "nir", "onnx")
_OUT = {
    "ir": "out.snnir",
    "fixed": "out.npz",
    "loihi": "out.loihi",
    "netx": "out.net",
    "nir": "out.nir",
    "onnx": "out.onnx",
}


def _bytes_build(fmt: str, kind: str, suffix: str) -> Callable[[Path], Path]:
    def build(root: Path) -> Path:
        path = root / f"m{suffix}"
        _bytes_variant(kind, _valid(fmt), path)
        return path

    return build


def _wrong_extension(fmt: str, suffix: str) -> Callable[[Path], Path]:
    def build(root: Path) -> Path:
        path = root / f"m{suffix}"
        shutil.copy(_valid(fmt), path)
        return path

    return build


def _copy_valid(fmt: str, suffix: str) -> Callable[[Path], Path]:
    return _wrong_extension(fmt, suffix)


SUFFIX = {"nir": ".nir", "onnx": ".onnx", "netx": ".net"}
OTHER = {"nir": ".onnx", "onnx": ".net", "netx": ".nir"}


def _builders(fmt: str) -> dict[str, Callable[[Path], Path]]:
    builders: dict[str, Callable[[Path], Path]] = {
        kind: _bytes_build(fmt, kind, SUFFIX[fmt]) for kind in BYTE_KINDS
    }
    builders["wrong-extension"] = _wrong_extension(fmt, OTHER[fmt])
    builders["unknown-extension"] = _wrong_extension(fmt, ".bin")
    edits = {"nir": NIR_EDITS, "onnx": ONNX_EDITS, "netx": NETX_EDITS}[fmt]
    builders.update(edits)
    return builders


def _case(
    fmt: str,
    command: str,
    kind: str,
    build: Callable[[Path], Path],
    args: Callable[[Path, Path], list[str]],
    outputs: tuple[str, ...],
    expect: frozenset[str],
) -> Case:
    def make(root: Path) -> list[str]:
        return args(build(root), root)

    return Case(fmt, f"{command} {kind}", make, expect, outputs)


#: The one outcome each broken file must end with, under every command: its diagnostic code,
#: or ``ok`` (a correct result: the file is still valid).
EXPECTED: dict[str, dict[str, str]] = {
    "nir": {
        **dict.fromkeys(("empty", "truncated", "garbage", "text"), "IX808"),
        "flipped": "ok",  # the flipped bytes are HDF5 padding: the same graph
        "wrong-extension": "IX801",  # read as ONNX
        "unknown-extension": "ML402",  # read as a checkpoint
        **dict.fromkeys(("nan-weight", "inf-weight", "huge-weight", "nan-tau"), "ML406"),
        "negative-threshold": "IX831",
        **dict.fromkeys(("negative-dims", "fractional-dims", "huge-dims", "zero-dims"), "IX815"),
        **dict.fromkeys(
            (
                "wrong-rank-dims", "missing-node", "missing-input", "missing-output",
                "dangling-edge", "self-loop", "wrong-weight-shape",
            ),
            "IX810",
        ),
        # l2 -> l1 closes a cycle through n1: read as recurrence, whose current (4 values)
        # does not fit l1's input (8)
        "cycle-without-neuron": "IX810",
        "linear-no-bias": "ok",  # a NIR Linear: valid
    },
    "onnx": {
        **dict.fromkeys(BYTE_KINDS, "IX801"),
        "wrong-extension": "IN601",  # read as netx HDF5
        "unknown-extension": "ML402",
        **dict.fromkeys(("nan-weight", "inf-weight", "nan-bias"), "ML406"),
        **dict.fromkeys(("nan-v-init", "wrong-weight-shape", "symbolic-feature-dim"), "IX805"),
        **dict.fromkeys(("negative-dims", "huge-dims"), "IX815"),
        **dict.fromkeys(
            ("missing-node", "missing-neuron", "missing-initializer", "cycle"), "IX803"
        ),
        **dict.fromkeys(("missing-attributes", "unknown-op"), "IX802"),
        "no-outputs": "IX801",
    },
    "netx": {
        **dict.fromkeys(("empty", "truncated", "garbage", "text"), "IN601"),
        "flipped": "ok",  # the flipped bytes are HDF5 padding: the same network
        "wrong-extension": "IX808",  # read as NIR
        "unknown-extension": "ML402",
        **dict.fromkeys(("unknown-layer-type", "no-layers"), "LV506"),
        **{
            kind: "LV521"
            for kind in NETX_EDITS
            if kind not in ("unknown-layer-type", "no-layers")
        },
    },
}  # fmt: skip

#: A valid file compiled to each target: ``ok``, or the code of a target with no form for it.
VALID_TARGETS: dict[str, dict[str, str]] = {
    "nir": dict.fromkeys(TARGETS, "ok"),
    "onnx": dict.fromkeys(TARGETS, "ok"),
    "netx": {
        **dict.fromkeys(TARGETS, "ok"),
        "fixed": "IX830",  # a network has no quantized tensor form
        "nir": "IX807",  # nor a NIR one
        "onnx": "IX806",  # nor a tensor ONNX one
    },
}


def _expect(outcome: str) -> frozenset[str]:
    return frozenset({outcome})


def exchange_cases(full: bool = False) -> list[Case]:
    """Every broken file of each exchange format, read by one command in turn (``full``: by
    every command), plus the valid and one broken file of each format compiled to every
    target."""
    cases: list[Case] = []
    order = list(COMMANDS)
    for fmt in ("nir", "onnx", "netx"):
        for i, (kind, build) in enumerate(_builders(fmt).items()):
            chosen = order if full else [order[i % len(order)]]
            for command in chosen:
                args = COMMANDS[command]
                outputs = ("out.snnir",) if command == "compile" else ()
                expect = _expect(EXPECTED[fmt][kind])
                cases.append(_case(fmt, command, kind, build, args, outputs, expect))
        valid = _copy_valid(fmt, SUFFIX[fmt])
        first_edit = next(iter({"nir": NIR_EDITS, "onnx": ONNX_EDITS, "netx": NETX_EDITS}[fmt]))
        for target in TARGETS:
            out = _OUT[target]
            for kind, build in (("valid", valid), (first_edit, _builders(fmt)[first_edit])):

                def args(p: Path, r: Path, target: str = target, out: str = out) -> list[str]:
                    return [str(p), "--target", target, "-o", str(r / out)]

                code = VALID_TARGETS[fmt][target] if kind == "valid" else EXPECTED[fmt][kind]
                expect = _expect(code)
                cases.append(_case(fmt, f"compile-{target}", kind, build, args, (out,), expect))
    return cases
