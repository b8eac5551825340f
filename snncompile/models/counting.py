"""Parameter counts in each paper's own convention.

The zoo's ``params`` (:func:`snncompile.models.registry.count_parameters`) counts every parameter
of the built model. Papers sometimes leave out parameters the official code builds but never uses
(e.g. Spikformer's and Spikingformer's ``norm1``/``norm2`` LayerNorms). A spec records what its
paper leaves out in ``extra['paper_excludes']``: regular expressions matched (``re.search``) against
the dotted parameter names. :func:`count_parameters_paper` applies them; the result is what
``paper_params`` is compared with (within 0.01 M, the papers' rounding).
"""

from __future__ import annotations

import re

import torch

from snncompile.models.registry import ModelSpec

__all__ = ["count_parameters_paper"]


def count_parameters_paper(spec: ModelSpec) -> int:
    """Parameter count in the paper's convention (built on the meta device: no memory used)."""
    patterns = [re.compile(p) for p in spec.extra.get("paper_excludes", ())]
    with torch.device("meta"):
        model = spec.build()
    return sum(
        p.numel()
        for name, p in model.named_parameters()
        if not any(pat.search(name) for pat in patterns)
    )
