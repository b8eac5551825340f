"""JSON Schemas (draft 2020-12) of every JSON report snncompile writes (docs/schemas.md).

=================  ===================================================================
``check``          ``snncompile check --json`` (and a Loihi artifact's
                   ``reports/compliance.json``)
``run``            ``snncompile run --json``
``demo-summary``   ``snncompile demo``'s ``out/demo/summary.json``
``loihi-manifest`` a Loihi artifact's ``manifest.json``
``network``        ``snncompile report --json`` (the compiled network per population)
``info``           ``snncompile info --json``
``zoo``            ``snncompile zoo --json``
=================  ===================================================================

The files ship as package data (``snncompile/report/schemas/NAME.schema.json``); validate
with any draft 2020-12 validator, e.g. ``jsonschema.validate(report, load_schema("run"))``.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

__all__ = ["SCHEMAS", "load_schema"]

#: Every schema by name, with the JSON it describes.
SCHEMAS: dict[str, str] = {
    "check": "snncompile check --json FILE (a Loihi artifact's reports/compliance.json too)",
    "run": "snncompile run --json FILE",
    "demo-summary": "snncompile demo: out/demo/summary.json",
    "loihi-manifest": "snncompile MODEL --target loihi -o OUT: OUT/manifest.json",
    "network": "snncompile report MODEL --json FILE",
    "info": "snncompile info --json",
    "zoo": "snncompile zoo --json",
}


def load_schema(name: str) -> dict[str, Any]:
    """The JSON Schema ``name`` (a key of :data:`SCHEMAS`) as a dict."""
    if name not in SCHEMAS:
        raise KeyError(f"no schema {name!r}; known: {', '.join(SCHEMAS)}")
    text = resources.files(__name__).joinpath(f"{name}.schema.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data
