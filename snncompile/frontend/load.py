"""Load what users have into a model the compiler can trace (or an IR graph).

Accepted model sources:

- ``zoo:NAME``: zoo architecture NAME with seeded random weights (ask what an architecture
  would cost before training it);
- a checkpoint file (``.pt``, ``.pth``, ``.tar``, ``.ckpt``, ``.bin``) plus ``arch`` (or a JSON
  model card beside it, ``model.json`` for ``model.pt``, whose ``arch`` is used), always read
  with ``torch.load(weights_only=True)``; ``arch`` is a zoo name or your own class,
  ``FILE.py:Class`` / ``module:Class``, built with the card's ``arch_kwargs``
  (:mod:`snncompile.frontend.user_arch`);
- a whole pickled ``nn.Module`` only with ``trust_pickle=True`` (unpickling runs code);
- a text IR file (``.snnir``, ``.ir``);
- an ONNX file (``.onnx``) as the ``onnx`` target writes it (:mod:`snncompile.frontend.onnx`);
- a NIR file (``.nir``) that records its discretisation (:mod:`snncompile.frontend.nir`);
- a lava-dl netx HDF5 file (``.net``, ``.h5``, ``.hdf5``) as network IR
  (:mod:`snncompile.frontend.netx`);
- an ``nn.Module`` object (Python API), with ``input_shape`` and ``time_steps`` given.

``input_shape`` (``--input-shape``) and ``time_steps`` (``--time-steps``) replace what a card or
a ``.snnir`` header records (:mod:`snncompile.frontend.recorded`). The folder of an
``--arch FILE.py:Class`` file, and of a pickled module, is importable while the model loads (so
``import sibling`` in the file and a pickle naming the file's module work without PYTHONPATH).

Every failure is an :class:`SnnCompileError` with a code (ML40x, ML41x, IN601); nothing is
dropped.
"""

from __future__ import annotations

import copy
import json
import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from snncompile.config import CompileConfig
from snncompile.diagnostics import error
from snncompile.fileio import require_regular_file
from snncompile.frontend.consent import require_code_consent
from snncompile.frontend.user_arch import is_user_arch, load_user_checkpoint
from snncompile.ir.graph import Graph
from snncompile.ir.parser import parse_graph
from snncompile.limits import require_memory

__all__ = [
    "CHECKPOINT_SUFFIXES",
    "IR_SUFFIXES",
    "NETX_SUFFIXES",
    "NIR_SUFFIXES",
    "ONNX_SUFFIXES",
    "LoadedModel",
    "load_configured",
    "load_model",
    "to_graph",
    "validate_card",
]

IR_SUFFIXES = (".snnir", ".ir")
ONNX_SUFFIXES = (".onnx",)
NIR_SUFFIXES = (".nir",)
NETX_SUFFIXES = (".net", ".h5", ".hdf5")
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".tar", ".ckpt", ".bin")
DEFAULT_TIME_STEPS = 4


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to trace, or an already traced graph.

    Attributes:
        name: a display name (zoo name, file stem or class name).
        module: the PyTorch model in eval mode (None for a text IR input).
        graph: the IR graph (text IR input only; traced later otherwise).
        arch: the zoo architecture, when known.
        time_steps: T from the config, the model card, the zoo spec, or 4.
        input_shape: one sample's shape ``(C, H, W)`` (None if unknown).
        dataset: the data set the model was built for (``digits``, ``cifar10``, ...).
        card: the JSON model card beside a checkpoint, when there is one.
        input_kind: ``image`` (``[B, C, H, W]``, repeated over T by the model) or ``frames``
            (``[B, T, C, H, W]`` event frames, DVS variants).
    """

    name: str
    module: nn.Module | None
    graph: Graph | None
    arch: str | None
    time_steps: int
    input_shape: tuple[int, ...] | None
    dataset: str | None = None
    card: dict[str, Any] | None = field(default=None, compare=False)
    input_kind: str = "image"


def _card(path: Path) -> dict[str, Any] | None:
    """The JSON model card beside ``path`` (``model.json`` for ``model.pt``), validated
    (:func:`validate_card`); None when there is none."""
    card_path = path.with_suffix(".json")
    if not card_path.exists():
        return None
    if not card_path.is_dir():
        require_regular_file(card_path, "model card")  # a FIFO would block: IN603
    else:
        return None
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise error(
            "ML402", f"model card {card_path} is not valid JSON: {exc}", node=str(card_path)
        ) from exc
    if not isinstance(card, dict):
        raise error(
            "ML408",
            f"model card {card_path} must be a JSON object, got {type(card).__name__}",
            node=str(card_path),
        )
    validate_card(card, card_path)
    return card


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def validate_card(card: dict[str, Any], where: Path | str) -> None:
    """ML408 naming the field when a model card field the compiler uses is malformed:
    ``arch`` (string), ``input_shape`` (list of positive ints), ``time_steps`` (positive
    int), ``arch_kwargs`` (object), ``dataset`` (string), ``input`` (``image``/``frames``)."""

    def bad(name: str, expected: str) -> Exception:
        return error(
            "ML408",
            f"model card {where}: {name} must be {expected}, got {card[name]!r}",
            node=name,
        )

    if "arch" in card and not (isinstance(card["arch"], str) and card["arch"]):
        raise bad("arch", "a non-empty string")
    shape = card.get("input_shape")
    if "input_shape" in card and not (
        isinstance(shape, list) and shape and len(shape) <= 8 and all(map(_positive_int, shape))
    ):
        raise bad("input_shape", "a list of positive integers such as [3, 32, 32]")
    steps: Any = card.get("time_steps", 0)
    if "time_steps" in card and not (_positive_int(steps) and steps <= 1 << 20):
        raise bad("time_steps", "a positive integer")
    if "arch_kwargs" in card and not isinstance(card["arch_kwargs"], dict | None):
        raise bad("arch_kwargs", "an object of keyword arguments")
    if "dataset" in card and not isinstance(card["dataset"], str | None):
        raise bad("dataset", "a string")
    if "input" in card and card["input"] not in ("image", "frames"):
        raise bad("input", "'image' or 'frames'")


def _from_zoo(name: str, seed: int, time_steps: int | None) -> LoadedModel:
    from snncompile.models import get_spec

    spec = get_spec(name)
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        module = spec.build().eval()
    finally:
        torch.random.set_rng_state(generator_state)
    return LoadedModel(
        name=spec.name,
        module=module,
        graph=None,
        arch=spec.name,
        time_steps=time_steps or spec.time_steps,
        input_shape=(spec.in_channels, spec.image_size, spec.image_size),
        dataset=spec.dataset,
        input_kind=str(spec.extra.get("input", "image")),
    )


def _from_checkpoint(
    path: Path, arch: str | None, trust_pickle: bool, time_steps: int | None, trust_code: bool
) -> LoadedModel:
    from snncompile.models import get_spec, load_checkpoint

    card = _card(path)
    if arch is None and card is not None and "arch" in card:
        arch = card["arch"]
        require_code_consent(arch, f"the model card {path.with_suffix('.json')}", trust_code)
    if arch is None:
        if trust_pickle:
            return _pickled_module(path, time_steps, card)
        from snncompile.models.checkpoint import read_checkpoint

        read_checkpoint(path, False)  # a pickled nn.Module: ML404 (needs --trust-pickle)
        raise error(
            "ML401",
            f"{path} holds weights but no architecture: pass --arch NAME (see `snncompile zoo`) "
            f"or --arch FILE.py:Class (your own model class), or write a model card "
            f"{path.with_suffix('.json').name} once with `snncompile card {path} --arch "
            "FILE.py:Class --input-shape C,H,W --time-steps T`",
            node=str(path),
        )
    shape = tuple(card["input_shape"]) if card and "input_shape" in card else None
    if is_user_arch(arch):  # your own class: FILE.py:Class or module:Class
        kwargs = (card or {}).get("arch_kwargs") or {}
        with _importable(_arch_folder(arch, path.parent)):
            module = load_user_checkpoint(path, arch, kwargs, trust_pickle=trust_pickle)
        return LoadedModel(
            name=path.stem,
            module=module,
            graph=None,
            arch=arch,
            time_steps=time_steps or int((card or {}).get("time_steps", DEFAULT_TIME_STEPS)),
            input_shape=shape,
            dataset=(card or {}).get("dataset") or ("digits" if card and "split" in card else None),
            card=card,
            input_kind=str((card or {}).get("input", "image")),
        )
    spec = get_spec(arch)
    module = load_checkpoint(path, arch, trust_pickle=trust_pickle)
    return LoadedModel(
        name=path.stem,
        module=module,
        graph=None,
        arch=arch,
        time_steps=time_steps or int((card or {}).get("time_steps", spec.time_steps)),
        input_shape=shape or (spec.in_channels, spec.image_size, spec.image_size),
        dataset=spec.dataset,
        card=card,
        input_kind=str(spec.extra.get("input", "image")),
    )


def _arch_folder(arch: str, near: Path) -> Path | None:
    """The folder of an ``--arch FILE.py:Class`` file (as :mod:`user_arch` finds it)."""
    target = arch.rpartition(":")[0]
    if not target.endswith(".py"):
        return None
    for candidate in (Path(target), near / target):
        if candidate.is_file():
            return candidate.resolve().parent
    return None


@contextmanager
def _importable(*folders: Path | None) -> Iterator[None]:
    """``folders`` on ``sys.path`` (first) while the model loads; removed afterwards."""
    added = [str(f) for f in folders if f is not None and str(f) not in sys.path]
    sys.path[:0] = added
    try:
        yield
    finally:
        for entry in added:
            if entry in sys.path:
                sys.path.remove(entry)


def _pickled_module(path: Path, time_steps: int | None, card: dict[str, Any] | None) -> LoadedModel:
    try:
        with _importable(path.resolve().parent, Path.cwd()):
            obj = torch.load(path, map_location="cpu", weights_only=False)  # trusted by the user
    except (ModuleNotFoundError, AttributeError) as exc:
        raise error(
            "ML411",
            f"cannot unpickle {path}: {exc}; the pickle names the module and class of the model "
            "but that code is not importable here (looked on sys.path, in the checkpoint's "
            "folder and in the current folder)",
            node=str(path),
        ) from exc
    except Exception as exc:
        raise error("ML402", f"cannot unpickle {path}: {exc}", node=str(path)) from exc
    if not isinstance(obj, nn.Module):
        raise error(
            "ML402",
            f"{path} holds a {type(obj).__name__}, not an nn.Module; pass --arch NAME for a "
            "state dict",
            node=str(path),
        )
    shape = tuple(card["input_shape"]) if card and "input_shape" in card else None
    return LoadedModel(
        name=path.stem,
        module=obj.eval(),
        graph=None,
        arch=None,
        time_steps=time_steps or int((card or {}).get("time_steps", DEFAULT_TIME_STEPS)),
        input_shape=shape,
        card=card,
    )


def load_model(
    source: str | Path | nn.Module,
    *,
    arch: str | None = None,
    trust_pickle: bool = False,
    seed: int = 0,
    time_steps: int | None = None,
    input_shape: tuple[int, ...] | None = None,
    nir_options: dict[str, Any] | None = None,
    trust_code: bool = False,
) -> LoadedModel:
    """Load ``source`` (see the module docstring) into a :class:`LoadedModel`.

    Code runs only with consent given here: ``arch`` naming a class (``FILE.py:Class``) is
    imported because the caller named it; a model card that names one needs ``trust_code``
    (SC101), and unpickling needs ``trust_pickle`` (ML404).

    ``nir_options`` (``convention``, ``dt``, ``reset``, ``spikes``, ``input_gain``,
    ``strict``) are passed to :func:`snncompile.frontend.nir.read_nir` for a ``.nir`` file.
    ``input_shape`` replaces the recorded input shape of a model that is traced (not of an IR
    graph).
    """
    loaded = _load(
        source, arch, trust_pickle, seed, time_steps, input_shape, nir_options, trust_code
    )
    if input_shape is not None and loaded.graph is None:
        loaded = replace(loaded, input_shape=tuple(input_shape))
    return loaded


def _load(
    source: str | Path | nn.Module,
    arch: str | None,
    trust_pickle: bool,
    seed: int,
    time_steps: int | None,
    input_shape: tuple[int, ...] | None,
    nir_options: dict[str, Any] | None,
    trust_code: bool,
) -> LoadedModel:
    if isinstance(source, nn.Module):  # the caller's own object: consent is implied
        return LoadedModel(
            name=type(source).__name__,
            module=source.eval(),
            graph=None,
            arch=arch,
            time_steps=time_steps or DEFAULT_TIME_STEPS,
            input_shape=input_shape,
        )
    text = str(source)
    if text.startswith("zoo:"):
        return _from_zoo(text[4:], seed, time_steps)
    path = Path(text)
    if not path.exists():
        raise error("IN601", f"{path} does not exist", node=str(path))
    require_regular_file(path, "model file")
    if path.is_dir():
        raise error("IN601", f"{path} is a directory, not a model file", node=str(path))
    if path.suffix in IR_SUFFIXES:
        from snncompile.frontend.recorded import read_header

        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise error("IN601", f"cannot read {path} as text: {exc}", node=str(path)) from exc
        recorded = read_header(text, str(path))
        graph = parse_graph(text)
        shape = graph.inputs[0].type.shape if len(graph.inputs) == 1 else None
        steps = time_steps or recorded.get("time_steps") or DEFAULT_TIME_STEPS
        return LoadedModel(graph.name, None, graph, arch, steps, shape)
    if path.suffix in ONNX_SUFFIXES:
        from snncompile.frontend.onnx import read_onnx

        imported = read_onnx(path, time_steps=time_steps)
        graph = imported.graph
        steps = time_steps or imported.time_steps or DEFAULT_TIME_STEPS
        return LoadedModel(graph.name, None, graph, arch, steps, graph.inputs[0].type.shape)
    if path.suffix in NIR_SUFFIXES:
        from snncompile.frontend.nir import read_nir

        steps = time_steps or DEFAULT_TIME_STEPS
        graph = read_nir(path, **(nir_options or {}), time_steps=steps)
        return LoadedModel(graph.name, None, graph, arch, steps, graph.inputs[0].type.shape)
    if path.suffix in NETX_SUFFIXES:  # lava-dl netx HDF5: already the network IR
        from snncompile.frontend.netx import read_netx

        steps = time_steps or DEFAULT_TIME_STEPS
        graph = read_netx(path, time_steps=steps)
        return LoadedModel(graph.name, None, graph, arch, steps, graph.inputs[0].type.shape)
    if path.suffix in CHECKPOINT_SUFFIXES:
        return _from_checkpoint(path, arch, trust_pickle, time_steps, trust_code)
    raise error(
        "IN601",
        f"cannot read {path}: expected zoo:NAME, a checkpoint "
        f"({', '.join(CHECKPOINT_SUFFIXES)}) with --arch, a text IR file "
        f"({', '.join(IR_SUFFIXES)}), an ONNX file (.onnx) or a NIR file (.nir)",
        node=str(path),
    )


def load_configured(source: str | Path | nn.Module, config: CompileConfig) -> LoadedModel:
    """:func:`load_model` with the loading options of a :class:`CompileConfig`."""
    return load_model(
        source,
        arch=config.arch,
        trust_pickle=config.trust_pickle,
        trust_code=config.trust_code,
        seed=config.seed,
        time_steps=config.time_steps,
        input_shape=config.input_shape,
        nir_options={
            "convention": config.nir_convention,
            "dt": config.nir_dt,
            "reset": config.nir_reset,
            "spikes": config.nir_spikes,
            "input_gain": config.nir_input_gain,
            "strict": config.nir_strict,
        },
    )


def to_graph(loaded: LoadedModel, dtype: torch.dtype = torch.float32) -> Graph:
    """The tensor IR of ``loaded``: its graph, or a trace of its module in ``dtype``.

    Weights are checked first (:mod:`snncompile.frontend.finite`): NaN or Inf is ML406, a
    negative BatchNorm variance ML407; an imported graph too large for memory is IN604."""
    from snncompile.frontend.finite import check_graph, check_module

    if loaded.graph is not None:
        check_graph(loaded.graph, loaded.name)
        graph = loaded.graph
        values = [*graph.inputs, *(out for node in graph.nodes for out in node.outputs)]
        require_memory(
            8 * loaded.time_steps * sum(v.type.numel for v in values),
            f"one sample of {graph.name} ({len(values)} values over {loaded.time_steps} steps)",
            node=graph.name,
        )
        return graph
    from snncompile.frontend.torch import trace

    assert loaded.module is not None
    check_module(loaded.module, loaded.name)
    if loaded.input_shape is None:
        raise error(
            "ML410",
            f"the input shape of {loaded.name} is unknown: nothing records it (no model card "
            "beside the checkpoint, or one without input_shape)",
            node=loaded.name,
        )
    module = loaded.module
    require_memory(
        8 * loaded.time_steps * math.prod(loaded.input_shape), f"the input of {loaded.name}"
    )
    if any(p.dtype != dtype for p in module.parameters()):
        module = copy.deepcopy(module).to(dtype)  # the user's model is left as it is
    if loaded.input_kind == "frames":  # event frames [B, T, C, H, W]
        example = torch.zeros((1, loaded.time_steps, *loaded.input_shape), dtype=dtype)
        layout = "BT"
    else:
        example = torch.zeros((1, *loaded.input_shape), dtype=dtype)
        layout = "static"
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)  # state a model creates while it runs (snntorch's) follows
    try:
        return trace(
            module, example, time_steps=loaded.time_steps, input_layout=layout, name=loaded.name
        )
    finally:
        torch.set_default_dtype(previous)
