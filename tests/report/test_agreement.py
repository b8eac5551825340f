"""Float vs chip spike agreement, per population."""

from __future__ import annotations

from pathlib import Path

import snncompile
from snncompile.data.digits import load_digits_split
from snncompile.report.agreement import spike_agreement

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "digits"


def test_spikingformer_agreement_is_reported_per_population() -> None:
    compiled = snncompile.compile(EXAMPLES / "spikingformer.pt")
    agreement = spike_agreement(compiled, load_digits_split(image_size=16).x_test[:48])
    assert agreement.samples == 48 and agreement.predictions >= 0.95
    pops = agreement.populations
    lif_names = [n.name for n in compiled.program.populations("layerwise") if n.attrs.kind == "lif"]
    assert set(pops) == set(lif_names)
    assert pops["patch_embed.block1_lif"]["agreement"] > 0.99  # the first chip population
    assert all(0.8 < p["agreement"] <= 1.0 for p in pops.values())
    assert all(abs(p["rate_float"] - p["rate_chip"]) < 0.05 for p in pops.values())
    assert agreement.to_dict()["prediction_agreement"] == agreement.predictions
