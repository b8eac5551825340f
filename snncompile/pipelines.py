"""Every pass pipeline of the compiler, in one place, in order (ARCHITECTURE convention 6).

A pipeline is a plain list of passes that :func:`snncompile.driver.run_pipeline` runs with one
:class:`~snncompile.passes.manager.PassContext`; each pass runs once and publishes what it
found in ``ctx.reports[pass.name]``; emitters only write. The pipelines:

============  ======================================================================  ============
pipeline      passes                                                                  used by
============  ======================================================================  ============
``check``     fold-batchnorm, fold-scales, analyze-spike-domain, partition-host,      ``check``
              measure-compliance (on the user's samples)
``fixed``     the quantize passes [#q]_, balance-delays                               ``--target
                                                                                      fixed``
``network``   the quantize passes, lower-to-network, keep-layerwise, pipeline-delays  API, ``run``,
                                                                                      ``report``,
                                                                                      netx
``loihi``     fold-batchnorm, fold-scales, measure-compliance (seeded random          ``--target
              samples), lower-residuals, decompose-attention, quantize-fixed-point,   loihi``
              lower-to-network, keep-layerwise, pipeline-delays, place-cores
============  ======================================================================  ============

.. [#q] fold-batchnorm, fold-scales, lower-residuals, decompose-attention, quantize-fixed-point.

The software targets (``ir``, ``nir``, ``onnx``) keep their short pipelines beside their
emitters. Every pipeline starts from the tensor IR traced in the one trace dtype
(:data:`snncompile.driver.TRACE_DTYPE`, float32).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from snncompile.config import CompileConfig
from snncompile.ir.graph import Graph
from snncompile.passes.manager import Pass, PassContext

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "KeepLayerwise",
    "check_pipeline",
    "fixed_pipeline",
    "loihi_pipeline",
    "network_pipeline",
    "quantize_passes",
]


@dataclass(frozen=True)
class KeepLayerwise:
    """``keep-layerwise``: keep the layerwise network (all delays 0) in
    ``ctx.graphs["layerwise"]`` before ``pipeline-delays`` times it; the graph is unchanged."""

    name: ClassVar[str] = "keep-layerwise"
    requires: ClassVar[frozenset[str]] = frozenset({"network"})
    ensures: ClassVar[frozenset[str]] = frozenset()

    def run(self, graph: Graph, ctx: PassContext) -> Graph:
        ctx.graphs["layerwise"] = graph
        return graph


def quantize_passes() -> list[Pass]:
    """From the traced tensor IR to the layerwise integer reference (quantized tensor IR)."""
    from snncompile.passes.decompose_attention import DecomposeAttention
    from snncompile.passes.fold_batchnorm import FoldBatchNorm
    from snncompile.passes.fold_scales import FoldScales
    from snncompile.passes.lower_residuals import LowerResiduals
    from snncompile.passes.quantize import QuantizeFixedPoint

    return [
        FoldBatchNorm(),
        FoldScales(),
        LowerResiduals(),
        DecomposeAttention(),
        QuantizeFixedPoint(),
    ]


def check_pipeline(
    inputs: np.ndarray,
    *,
    model: str | None = None,
    chunk: int = 8,
    on_chunk: Callable[[int], None] | None = None,
    convention: str = "paper",
) -> list[Pass]:
    """``check``: the spike-driven analysis, measured on ``inputs`` (``[T, B, *shape]``)."""
    from snncompile.passes.analyze_spike_domain import AnalyzeSpikeDomain
    from snncompile.passes.fold_batchnorm import FoldBatchNorm
    from snncompile.passes.fold_scales import FoldScales
    from snncompile.passes.partition_host import PartitionHost
    from snncompile.report.compliance import MeasureCompliance

    measure = MeasureCompliance(
        inputs, model=model, chunk=chunk, on_chunk=on_chunk, convention=convention
    )
    return [FoldBatchNorm(), FoldScales(), AnalyzeSpikeDomain(), PartitionHost(), measure]


def fixed_pipeline(config: CompileConfig) -> list[Pass]:
    """``--target fixed``: the pipelined integer tensor IR."""
    from snncompile.passes.balance_delays import BalanceDelays

    return [*quantize_passes(), BalanceDelays()]


def network_pipeline(config: CompileConfig, *, pipelined: bool = True) -> list[Pass]:
    """The network IR: layerwise (kept in ``ctx.graphs``) and, with ``pipelined``, timed."""
    from snncompile.passes.lower_to_network import LowerToNetwork
    from snncompile.passes.pipeline_delays import PipelineDelays

    timed: list[Pass] = [KeepLayerwise(), PipelineDelays()] if pipelined else []
    return [*quantize_passes(), LowerToNetwork(), *timed]


def loihi_pipeline(config: CompileConfig) -> list[Pass]:
    """``--target loihi``: the network pipeline with the compliance report measured on the
    folded graph and the placement on cores; each pass once."""
    from snncompile.passes.place_cores import PlaceCores
    from snncompile.report.compliance import MeasureCompliance

    fold_batchnorm, fold_scales, *quantize = quantize_passes()
    *_, lower, keep, delays = network_pipeline(config)
    return [
        fold_batchnorm,
        fold_scales,
        MeasureCompliance(),
        *quantize,
        lower,
        keep,
        delays,
        PlaceCores(),
    ]
