"""The model zoo registry: one explicit table of named configurations (no import side effects).

Each family module (``spikformer``, ``spikingformer``, ``sdt``, ``spikingresformer``) exposes a
``MODELS: list[ModelSpec]``; :data:`ZOO` is built from those lists in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import torch
from torch import nn

from snncompile.diagnostics import error


@dataclass(frozen=True)
class ModelSpec:
    """A named configuration of one family.

    Attributes:
        name: zoo name, e.g. ``spikformer_8_384`` or ``spikformer_digits``.
        family: ``spikformer`` | ``spikingformer`` | ``sdt`` | ``spikingresformer``.
        dataset: ``cifar10``, ``cifar100``, ``imagenet``, ``cifar10dvs``, ``dvs128gesture``,
            ``digits``.
        builder: the model class or factory; called as ``builder(**kwargs)``.
        kwargs: constructor arguments of this configuration.
        depth: number of transformer blocks (sum over stages for pyramids).
        dim: embedding dimension (last stage for pyramids).
        heads: attention heads (last stage for pyramids).
        time_steps: T used by the paper (or by the digits training).
        image_size: input height = width.
        in_channels: input channels (3 for RGB, 2 for DVS, 1 for digits).
        num_classes: classifier outputs.
        paper_params: parameter count the paper reports, in the paper's own convention, or None.
        notes: how the paper counts, and differences between paper and code.
    """

    name: str
    family: str
    dataset: str
    builder: Callable[..., nn.Module]
    kwargs: Mapping[str, Any]
    depth: int
    dim: int
    heads: int
    time_steps: int
    image_size: int
    in_channels: int
    num_classes: int
    paper_params: int | None = None
    notes: str = ""
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def build(self, **overrides: Any) -> nn.Module:
        """Instantiate the model with this configuration, ``overrides`` taking precedence."""
        return self.builder(**{**self.kwargs, **overrides})


def _zoo() -> dict[str, ModelSpec]:
    from snncompile.models import sdt, spikformer, spikingformer, spikingresformer

    table: dict[str, ModelSpec] = {}
    for spec in [
        *spikformer.MODELS,
        *spikingformer.MODELS,
        *sdt.MODELS,
        *spikingresformer.MODELS,
    ]:
        assert spec.name not in table, f"duplicate zoo name {spec.name}"
        table[spec.name] = spec
    return table


_ZOO_CACHE: dict[str, ModelSpec] | None = None


def zoo() -> dict[str, ModelSpec]:
    """All zoo configurations by name, in a stable order (families, then paper order)."""
    global _ZOO_CACHE
    if _ZOO_CACHE is None:
        _ZOO_CACHE = _zoo()
    return _ZOO_CACHE


def get_spec(name: str) -> ModelSpec:
    """The spec named ``name``; :class:`ConfigError` ML401 listing close names otherwise."""
    table = zoo()
    if name not in table:
        import difflib

        close = difflib.get_close_matches(name, list(table), n=5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise error("ML401", f"no zoo model named {name!r}.{hint}", node=name)
    return table[name]


def create(name: str, **overrides: Any) -> nn.Module:
    """Build zoo model ``name`` (random weights), with constructor ``overrides`` applied."""
    return get_spec(name).build(**overrides)


def count_parameters(spec: ModelSpec) -> int:
    """Parameter count of the built model, built on the meta device (no memory is used)."""
    with torch.device("meta"):
        model = spec.build()
    return sum(p.numel() for p in model.parameters())


def zoo_table() -> list[dict[str, Any]]:
    """One JSON-ready row per model (the ``snncompile zoo --json`` schema)."""
    rows = []
    for spec in zoo().values():
        rows.append(
            {
                "name": spec.name,
                "family": spec.family,
                "dataset": spec.dataset,
                "depth": spec.depth,
                "dim": spec.dim,
                "heads": spec.heads,
                "time_steps": spec.time_steps,
                "image_size": spec.image_size,
                "in_channels": spec.in_channels,
                "num_classes": spec.num_classes,
                "params": count_parameters(spec),
                "paper_params": spec.paper_params,
            }
        )
    return rows
