"""Read lava-dl netx HDF5 networks (``.net``/``.h5``) into snncompile's network IR.

netx files are already fixed point, so the import is a translation, not a quantization. The
result is a *layerwise* network graph (delays 0, starts 0); ``pipeline-delays`` makes it the
pipelined network that netx runs in Lava. Layer by layer (netx's ``hdf5.Network`` semantics,
docs/loihi.md):

- ``input`` with a ``neuron``: the graph input is the current into the input neurons (netx
  wires a source to ``in_layer.neuron.a_in``): an identity graded projection into a population.
  Without a neuron it only gives the input shape, and the graph input is the spikes the first
  synapse reads (netx's ``net.inp``).
- ``dense`` (weight ``[out, in]``) and ``conv`` (weight ``[C_out, C_in/groups, kH, kW]``,
  PyTorch orientation; stride/padding/dilation in ``(H, W)`` order; ``groups``): a projection
  into a LIF population with ``du = iDecay - 1``, ``dv = vDecay``, ``vth = vThMant`` and the
  layer bias as ``bias_mant`` with ``bias_exp = 6``. Mixed-sign dense weights are clipped to
  ``[-256, 254]`` as netx's ``optimize_weight_bits`` does.
- ``flatten``: the next dense reads its source through ``reshape(N)`` (CHW order, netx's
  ``transpose([2,1,0]).flatten()``).

A 1-D dense weight is read as netx reads it: ``weight.reshape(shape[0], -1)`` (lava-dl's
``pilotnet_lif`` ends with a ``(10,)`` weight into one neuron). The ``weight``/``bias`` of an
``input`` layer are not applied: netx keeps them in the input block's ``transform`` for the
user and never uses them.

- ``dense_rec`` (lava-dl's ``RecurrentDense``, written by slayer's ``Recurrent`` blocks): a
  dense layer plus ``weight_rec`` ``[out, out]`` from the layer's own spikes (netx wires
  ``neuron.s_out -> synapse_rec -> neuron.a_in``: one step later): a ``recurrent`` node and a
  recurrent projection. netx quantizes ``weight`` and ``weight_rec`` together.

Other layer types (``pool``, ``average``, ``concat``, ...), RF neurons,
``iDecay = 0`` (netx's non-leaky default for a dense without a neuron, ``du = -1``),
graded spikes and synaptic delays stop with LV506 naming the layer. SDNN (sigma-delta)
layers stop with LV520: netx runs them as lava-dl's ``Delta`` (input), ``SigmaDelta`` (ReLU,
16-bit graded messages with ``spike_exp = 6`` and a delta threshold ``vThMant``) and ``Sigma``
(output) processes, whose state (the accumulated sigma and the last sent activation) the
network IR's populations do not have.

A malformed file (a layer without ``type`` or without a field its type needs, layer keys that
are not ``0..n-1``, non-integer, negative or zero dimensions, a weight whose shape does not fit
its source, more than ``MAX_ELEMENTS`` values in one dataset, checked from the HDF5 header
before reading) stops with LV521 naming the layer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import numpy as np

from snncompile import limits
from snncompile.diagnostics import SnnCompileError, error
from snncompile.ir.graph import Graph, GraphBuilder, Value, replace_attrs
from snncompile.ir.ops.base import ShapeError
from snncompile.ir.ops.network import PopulationAttrs, ProjectionAttrs
from snncompile.ir.ops.recurrent import RecurrentAttrs
from snncompile.ir.types import TensorType
from snncompile.limits import require_memory
from snncompile.targets.loihi.arch import NEURON

__all__ = ["MAX_ELEMENTS", "NETX_SUFFIXES", "read_netx"]

NETX_SUFFIXES = (".net", ".h5", ".hdf5")
_DTYPE = "f64"
#: The most values one dataset (or one layer's neurons) may hold.
MAX_ELEMENTS = 1 << 28


def _malformed(where: str, why: str) -> Exception:
    return error("LV521", f"{where}: {why}", node=where)


def _field(group: Any, key: str, where: str) -> Any:
    """The dataset ``key`` of ``group`` (LV521 when it is missing, a group, or too large; the
    size comes from the HDF5 header, before anything is read)."""
    import h5py

    if not isinstance(group, h5py.Group) or key not in group:
        raise _malformed(where, f"has no {key!r} field")
    item = group[key]
    if not isinstance(item, h5py.Dataset):
        raise _malformed(where, f"{key!r} is a group, not a dataset")
    if item.size is not None and int(item.size) > MAX_ELEMENTS:
        raise _malformed(where, f"{key!r} holds {item.size} values (limit {MAX_ELEMENTS})")
    return item


def _dims(values: Any, where: str, what: str) -> tuple[int, ...]:
    data = np.asarray(values).reshape(-1)
    if data.dtype.kind not in "iuf" or not np.all(np.isfinite(data.astype(np.float64))):
        raise _malformed(where, f"{what} {data.tolist()} is not numbers")
    if np.any(data != np.round(data)) or np.any(data <= 0):
        raise _malformed(where, f"{what} {data.tolist()} needs positive integers")
    dims = tuple(int(d) for d in data)
    total = 1
    for d in dims:
        total *= d
    if total > MAX_ELEMENTS:
        raise _malformed(where, f"{what} {list(dims)} has {total} elements (limit {MAX_ELEMENTS})")
    return dims


def _text(value: Any) -> str:
    data = value[()]
    if isinstance(data, np.ndarray):
        data = data.reshape(-1)[0]
    return data.decode("ascii") if isinstance(data, bytes) else str(data)


def _int(value: Any) -> int:
    data = np.asarray(value[()]).reshape(-1)
    if data.size == 0 or data.dtype.kind not in "iuf" or not np.isfinite(float(data[0])):
        raise ValueError(f"{value.name} is not a number")
    return int(data[0])


def _pair(value: Any) -> tuple[int, int]:
    data = np.asarray(value[()]).reshape(-1)
    if data.size == 1:
        return int(data[0]), int(data[0])
    return int(data[0]), int(data[1])


def _neuron(
    layer: Any, where: str, shape: tuple[int, ...], bias: np.ndarray | None
) -> PopulationAttrs:
    if "neuron" not in layer:
        raise error(
            "LV506",
            f"{where} has no neuron group: netx makes it a non-leaky integrator (iDecay 0, "
            f"du = -1), which snncompile's LIF (du in 0..{NEURON.no_current_memory}) cannot hold",
            node=where,
        )
    neuron = layer["neuron"]
    kind = _text(_field(neuron, "type", f"{where} neuron"))
    if kind == "SDNN":
        raise error(
            "LV520",
            f"{where} has a sigma-delta (SDNN) neuron: netx runs lava-dl's Delta / SigmaDelta "
            "(ReLU) / Sigma processes with 16-bit graded messages and per-neuron sigma and "
            "last-sent state, which the network IR's populations do not hold",
            node=where,
        )
    if kind not in ("CUBA", "LOIHI"):
        raise error("LV506", f"{where} has a {kind} neuron; only CUBA/LOIHI are read", node=where)
    if "gradedSpike" in neuron and bool(np.asarray(neuron["gradedSpike"][()]).reshape(-1)[0]):
        raise error("LV506", f"{where} has graded spikes; only binary spikes are read", node=where)
    if "messageBits" in neuron and _int(neuron["messageBits"]) != 0:
        raise error("LV506", f"{where} sends graded messages (messageBits)", node=where)
    i_decay, v_decay, vth = (
        _int(_field(neuron, key, f"{where} neuron")) for key in ("iDecay", "vDecay", "vThMant")
    )
    scale = NEURON.scale
    if not 1 <= i_decay <= scale or not 0 <= v_decay <= scale:
        raise error(
            "LV506",
            f"{where} has iDecay {i_decay}, vDecay {v_decay}: snncompile's LIF needs iDecay in "
            f"1..{scale} (du = iDecay - 1) and vDecay in 0..{scale}",
            node=where,
        )
    bias_mant = None
    if bias is not None and np.any(bias != 0):
        bias_mant = np.broadcast_to(bias, shape).astype(np.float64).copy()
    return PopulationAttrs(
        "lif", du=i_decay - 1, dv=v_decay, vth=vth, bias_mant=bias_mant, bias_exp=6
    )


#: Weights and biases at or beyond this magnitude do not fit the int64 netx stores.
_INT64_LIMIT = float(np.iinfo(np.int64).max)


def _bias(layer: Any, shape: tuple[int, ...]) -> np.ndarray | None:
    if "bias" not in layer:
        return None
    raw = np.asarray(layer["bias"][()], dtype=np.float64)
    if not np.all(np.isfinite(raw)) or np.any(np.abs(raw) >= _INT64_LIMIT):
        raise _malformed("a layer", "has a bias that is not a finite integer")
    bias = raw.astype(np.int64).astype(np.float64)
    if len(shape) == 3:  # per channel, broadcast over H, W
        return bias.reshape(-1, 1, 1)
    return bias.reshape(-1)


def _dense_weight(layer: Any, where: str) -> np.ndarray:
    weight = _dense_weight_raw(layer, where, "weight")
    if weight.min() < 0 < weight.max():  # netx optimize_weight_bits clips mixed matrices
        weight = np.clip(weight, -256, 254)
    return weight.astype(np.float64)


def _dense_weight_raw(layer: Any, where: str, key: str) -> np.ndarray:
    """The integer matrix ``key`` of a dense layer, ``[out, in]`` (a 1-D weight reshaped as
    netx does), before netx's weight-bit optimisation."""
    weight = np.asarray(_field(layer, key, where)[()], dtype=np.float64)
    if not np.all(np.isfinite(weight)):
        raise _malformed(where, "has a weight that is not finite")
    if np.any(np.abs(weight) >= _INT64_LIMIT) or np.any(weight != np.round(weight)):
        raise _malformed(where, "has a weight that is not an integer (netx stores integers)")
    weight = weight.astype(np.int64)
    if weight.ndim == 1:  # netx: weight.reshape(shape[0], -1)
        out = int(np.prod(_dims(_field(layer, "shape", where)[()], where, "shape")))
        if weight.size % out:
            raise _malformed(where, f"a 1-D weight of {weight.size} values for {out} neurons")
        weight = weight.reshape(out, -1)
    if weight.ndim != 2:
        raise _malformed(where, f"has a dense weight of shape {weight.shape} (netx: [out, in])")
    return weight


def _recurrent_weights(layer: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    """``weight`` and ``weight_rec`` of a ``dense_rec`` layer as netx reads them: both
    ``[out, *]`` and quantized together (``optimize_weight_bits`` of their concatenation, so a
    mixed sign in either clips both to ``[-256, 254]``)."""
    raw = _dense_weight_raw(layer, where, "weight")
    rec = _dense_weight_raw(layer, where, "weight_rec")
    both = np.hstack([raw, rec]) if raw.shape[0] == rec.shape[0] else None
    if both is None:
        raise _malformed(where, f"weight {raw.shape} and weight_rec {rec.shape} differ in rows")
    if both.min() < 0 < both.max():
        both = np.clip(both, -256, 254)
    return both[:, : raw.shape[1]].astype(np.float64), both[:, raw.shape[1] :].astype(np.float64)


def _agrees(layer: Any, where: str, out_shape: tuple[int, ...]) -> None:
    """LV521 when the layer's declared ``shape`` or ``outFeatures`` disagrees with the neurons
    its weight gives (lava-dl builds the layer from ``shape``; a mismatch is a broken file)."""
    neurons = int(np.prod(out_shape))
    if "shape" in layer:
        dims = _dims(_field(layer, "shape", where)[()], where, "shape")
        if int(np.prod(dims)) != neurons:
            raise _malformed(
                where, f"declares shape {list(dims)}; its weight gives {neurons} neurons"
            )
    if "outFeatures" in layer:
        features = _dims(_field(layer, "outFeatures", where)[()], where, "outFeatures")
        if int(np.prod(features)) != neurons:
            raise _malformed(
                where, f"declares outFeatures {list(features)}; its weight gives {neurons} neurons"
            )


def declared_bytes(layers: list[Any], time_steps: int) -> int:
    """Float64 bytes of the neurons the layers declare (their ``shape`` fields) over
    ``time_steps`` steps plus their weights (:func:`snncompile.limits.declared_bytes`), from the
    HDF5 headers alone: nothing is read but the small ``shape`` fields. A field that does not
    read as a shape is left to the import (LV521)."""
    import h5py

    values, arrays = [], []
    for layer in layers:
        try:
            dims = _dims(_field(layer, "shape", "layer")[()], "layer", "shape")
            values.append(int(np.prod(dims, dtype=object)))
        except (SnnCompileError, TypeError, ValueError, KeyError, OSError):
            pass
        weight = layer.get("weight") if isinstance(layer, h5py.Group) else None
        if isinstance(weight, h5py.Dataset) and weight.size is not None:
            arrays.append(int(weight.size))
    return limits.declared_bytes(values, arrays, time_steps)


def read_netx(path: str | Path, *, name: str | None = None, time_steps: int = 1) -> Graph:
    """The layerwise network graph of the netx HDF5 file ``path``.

    Before building it, the memory its declared shapes need over ``time_steps`` steps is
    checked (IN604, :func:`declared_bytes`).

    Raises:
        ConfigError IN601: the file does not read as HDF5.
        UnsupportedOpError LV506: a layer, neuron or option the import does not read.
    """
    import h5py

    path = Path(path)
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise error("IN601", f"cannot read {path} as HDF5: {exc}", node=str(path)) from exc
    with handle:
        if "layer" not in handle:
            raise error("LV506", f"{path} has no /layer group: not a netx file", node=str(path))
        layers = handle["layer"]
        if not isinstance(layers, h5py.Group):
            raise _malformed(str(path), "/layer is a dataset, not a group of layers")
        keys = list(layers)
        if not keys or sorted(keys) != sorted(str(i) for i in range(len(keys))):
            raise _malformed(
                f"{path}:/layer",
                f"has layers {sorted(keys)[:6]}; netx reads layers named 0..n-1 in order",
            )
        order = [str(i) for i in range(len(keys))]
        require_memory(
            declared_bytes([layers[key] for key in order], time_steps),
            f"{path.name} (its declared shapes over {time_steps} steps)",
            node=str(path),
        )
        try:
            return _translate(path, name or path.stem, [layers[key] for key in order], order)
        except ShapeError as exc:
            raise _malformed(str(path), f"shapes do not fit: {exc}") from exc
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, OSError) as exc:
            raise _malformed(str(path), f"unreadable field: {exc}") from exc


def _translate(path: Path, name: str, layers: list[Any], keys: list[str]) -> Graph:
    builder = GraphBuilder(name.replace("-", "_").replace(".", "_") or "netx", "network")
    source: Value | None = None
    pending_input: tuple[int, ...] | None = None  # shape of a neuron-less input layer
    flatten = False
    for index, (layer, key) in enumerate(zip(layers, keys, strict=True)):
        kind = _text(_field(layer, "type", f"layer/{key}"))
        where = f"layer/{key} ({kind})"
        if kind == "input":
            if index != 0:
                raise error("LV506", f"{where} is not the first layer", node=where)
            shape = _dims(_field(layer, "shape", where)[()], where, "shape")
            if "neuron" not in layer:
                pending_input = shape
                continue
            x = builder.input("x", TensorType(shape, _DTYPE))
            current = builder.add_node(
                "projection", [x], ProjectionAttrs("sum", graded=True), name="in.in0"
            )
            source = builder.add_node(
                "population", [current], _neuron(layer, where, shape, None), name="in"
            )
            continue
        if kind == "flatten":
            flatten = True
            continue
        recurrent: np.ndarray | None = None
        if kind in ("dense", "dense_rec"):
            weight = _dense_weight(layer, where)
            if kind == "dense_rec":
                weight, recurrent = _recurrent_weights(layer, where)
            if "delay" in layer and np.any(np.asarray(layer["delay"][()]) != 0):
                raise error("LV506", f"{where} has synaptic delays", node=where)
            pre = ""
            if source is None:
                in_shape = pending_input if pending_input is not None else (weight.shape[1],)
                source = builder.input("x", TensorType(in_shape, _DTYPE))
            if len(source.type.shape) != 1 or flatten:
                pre = f"reshape({source.type.numel})"
            flatten = False
            if weight.shape[1] != source.type.numel:
                raise _malformed(
                    where,
                    f"a dense weight {weight.shape} reads {weight.shape[1]} values; its source "
                    f"has {source.type.numel} ({source.type.shape})",
                )
            out_shape: tuple[int, ...] = (weight.shape[0],)
            attrs = ProjectionAttrs("dense", weight=weight, pre=pre)
        elif kind == "conv":
            weight = np.asarray(_field(layer, "weight", where)[()], dtype=np.float64)
            if weight.ndim not in (4, 5) or (weight.ndim == 5 and weight.shape[4] != 1):
                raise _malformed(where, f"has a conv weight of shape {weight.shape}")
            if not np.all(np.isfinite(weight)):
                raise _malformed(where, "has a weight that is not finite")
            # cast: numpy 2's stubs would narrow the shape type to the slice's (one axis)
            weight = cast(
                np.ndarray, weight.reshape(weight.shape[:4]).astype(np.int64).astype(np.float64)
            )
            groups = _int(layer["groups"]) if "groups" in layer else 1
            if source is None:
                if pending_input is None:
                    raise error(
                        "LV506", f"{where} is first but no input layer gives its shape", node=where
                    )
                source = builder.input("x", TensorType(pending_input, _DTYPE))
            attrs = ProjectionAttrs(
                "conv",
                weight=weight,
                stride=_pair(layer["stride"]) if "stride" in layer else (1, 1),
                padding=_pair(layer["padding"]) if "padding" in layer else (0, 0),
                dilation=_pair(layer["dilation"]) if "dilation" in layer else (1, 1),
                groups=groups,
            )
            if len(source.type.shape) != 3 or source.type.shape[0] != weight.shape[1] * groups:
                raise _malformed(
                    where,
                    f"a conv weight {weight.shape} (groups {groups}) does not fit its source "
                    f"{source.type.shape}",
                )
            out_shape = _dims(attrs.core_shape(source.type.shape), where, "output shape")
        else:
            raise error(
                "LV506",
                f"{where}: netx layer type {kind!r} is not read (input, dense, conv and flatten "
                "are)",
                node=where,
            )
        _agrees(layer, where, out_shape)
        currents = [builder.add_node("projection", [source], attrs, name=f"l{key}.in0")]
        if recurrent is not None:  # netx: neuron.s_out -> synapse_rec -> neuron.a_in
            if recurrent.shape != (out_shape[0], out_shape[0]):
                raise _malformed(where, f"a recurrent weight {recurrent.shape} for {out_shape}")
            spikes = RecurrentAttrs(source=f"l{key}", shape=out_shape, dtype=_DTYPE)
            back = builder.add_node("recurrent", [], spikes, name=f"l{key}.prev")
            rec = ProjectionAttrs("dense", weight=recurrent)
            currents.append(builder.add_node("projection", [back], rec, name=f"l{key}.in1"))
        population = _neuron(layer, where, out_shape, _bias(layer, out_shape))
        source = builder.add_node("population", currents, population, name=f"l{key}")
        if recurrent is not None:
            node = back.producer
            assert node is not None
            node.attrs = replace_attrs(node.attrs, source=source.name)
    if source is None or not any(n.op == "population" for n in builder.graph.nodes):
        raise error("LV506", f"{path} has no dense or conv layer", node=str(path))
    return builder.finish([source])
