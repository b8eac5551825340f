"""The model zoo: the four spiking transformer families exactly as their authors built them."""

from __future__ import annotations

from snncompile.models.checkpoint import load_checkpoint
from snncompile.models.counting import count_parameters_paper
from snncompile.models.evaluate import evaluate_accuracy
from snncompile.models.neuron import reset_net
from snncompile.models.registry import (
    ModelSpec,
    count_parameters,
    create,
    get_spec,
    zoo,
    zoo_table,
)

__all__ = [
    "ModelSpec",
    "count_parameters",
    "count_parameters_paper",
    "create",
    "evaluate_accuracy",
    "get_spec",
    "load_checkpoint",
    "reset_net",
    "zoo",
    "zoo_table",
]
