"""sdt family (placeholder: the zoo issue fills this module)."""

from __future__ import annotations

from snncompile.models.registry import ModelSpec

MODELS: list[ModelSpec] = []
