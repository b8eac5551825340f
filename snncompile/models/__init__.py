"""The model zoo: the four spiking transformer families exactly as their authors built them."""

from __future__ import annotations

from snncompile.models.registry import ModelSpec, create, get_spec, zoo, zoo_table

__all__ = ["ModelSpec", "create", "get_spec", "zoo", "zoo_table"]
