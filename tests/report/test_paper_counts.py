"""The ``paper`` arithmetic reproduces published operation counts from the architecture.

Spikingformer-8-768's energy log (zhouchenlin2096/Spikingformer,
``imagenet/energy_consumption_logs``, the released checkpoint on the ImageNet validation set)
prints, per layer, the dense ``Ops`` (T = 4 steps, bias adds included), the input spike rate
and the ACs. From our trace of ``zoo:spikingformer_8_768`` and the published rates,
:func:`paper_counts` gives the same ``Ops`` exactly and the same ACs to the rounding of the
printed rate (one unit of its last digit, 0.001 %); the head, applied once after the mean over T,
gives the log's 0.77 M MACs (not 4 x 0.77 M).
"""

from __future__ import annotations

import pytest

from snncompile.frontend.load import load_model, to_graph
from snncompile.report.paper import paper_counts

# module: (published Ops, published input rate in %, published ACs); None: a MAC layer
PUBLISHED = {
    "patch_embed.proj_conv": (520_224_768, None, None),
    "patch_embed.proj1_conv": (8_323_596_288, 19.797, 1_647_813_072.3792412),
    "patch_embed.proj2_conv": (8_323_596_288, 13.190, 1_097_851_124.9990811),
    "patch_embed.proj3_conv": (8_323_596_288, 12.085, 1_005_883_616.6510513),
    "patch_embed.proj4_conv": (4_161_798_144, 13.008, 541_388_139.6043968),
    "block.0.attn.q_conv": (462_422_016, 14.749, 68_201_345.26792125),
    "block.0.attn.k_conv": (462_422_016, 14.749, 68_201_345.26792125),
    "block.0.attn.v_conv": (462_422_016, 14.749, 68_201_345.26792125),
    "block.0.attn.proj_conv": (463_024_128, 26.517, 122_778_694.97101316),
    "block.0.mlp.mlp1_conv": (1_852_096_512, 22.752, 421_380_369.61726296),
    "block.0.mlp.mlp2_conv": (1_850_290_176, 2.350, 43_474_185.38996657),
}


@pytest.mark.slow
def test_spikingformer_8_768_log_is_reproduced() -> None:
    loaded = load_model("zoo:spikingformer_8_768")
    graph = to_graph(loaded)
    rates = {m: r / 100 for m, (_, r, _) in PUBLISHED.items() if r is not None}
    ours = paper_counts(graph, loaded.time_steps, rates)
    for module, (ops, rate, acs) in PUBLISHED.items():
        count = ours[module]
        assert count.ops == ops, module
        if rate is None:
            assert count.macs == ops and count.acs == 0
        else:  # the printed rate has three decimals of a percent: one unit is 1e-5 of the Ops
            assert abs(count.acs - acs) <= 1e-5 * ops, module
    # first conv + head: the log's 0.521 G MACs (520.2 M + 0.77 M, the head once per image)
    head = ours["head"]
    assert head.ops == 768 * 1000 + 1000
    total = ours["patch_embed.proj_conv"].macs + head.macs
    assert round(total / 1e9, 3) == 0.521
    assert round(head.macs / 1e6, 2) == 0.77
