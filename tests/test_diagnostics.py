"""Every diagnostic code is triggered once, through the public API, and names its subject.

Adding a code to ``snncompile.diagnostics.CODES`` without a trigger here fails
``test_every_code_has_a_trigger``; ``docs/diagnostics.md`` must document every code.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import torch

from snncompile.config import CompileConfig
from snncompile.diagnostics import CODES, ERROR_CLASSES, SnnCompileError
from snncompile.frontend.load import load_model
from snncompile.ir.graph import Graph, GraphBuilder
from snncompile.ir.ops.tensor import LifAttrs, ScaleAttrs
from snncompile.ir.parser import parse_graph
from snncompile.ir.printer import print_graph
from snncompile.ir.types import TensorType
from snncompile.ir.verify import verify
from snncompile.passes.compliance import findings
from snncompile.passes.manager import PassContext, PassManager
from snncompile.passes.partition_host import PartitionHost
from snncompile.passes.rewrite import apply_patterns
from tests.conftest import make_conv_lif_graph
from tests.hostile import triggers as hostile
from tests.passes.graphs import attention, ms_block, raise_violations, sew_block

ROOT = Path(__file__).resolve().parents[1]

HEADER = "graph @g stage=tensor {\n  input %x : tensor<4xf32>\n"


def _parse(body: str) -> Callable[[], Any]:
    """Parse a graph with ``body`` after its input; closes the graph when ``body`` does not."""
    text = HEADER + body + ("" if "output" in body else "  output %x\n}\n")
    return lambda: parse_graph(text)


@dataclass(frozen=True)
class _BreakingPass:
    name: ClassVar[str] = "break-types"
    requires: ClassVar[frozenset[str]] = frozenset()
    ensures: ClassVar[frozenset[str]] = frozenset()

    def run(self, graph: Graph, ctx: PassContext) -> Graph:
        result = graph.copy()
        result.node("lif").outputs[0].type = TensorType((99,), "f64")
        return result


@dataclass(frozen=True)
class _CrashingPass:
    name: ClassVar[str] = "crash"
    requires: ClassVar[frozenset[str]] = frozenset()
    ensures: ClassVar[frozenset[str]] = frozenset()

    def run(self, graph: Graph, ctx: PassContext) -> Graph:
        raise ZeroDivisionError("oops")


@dataclass(frozen=True)
class _NeedsFolded:
    name: ClassVar[str] = "needs-folded"
    requires: ClassVar[frozenset[str]] = frozenset({"folded"})
    ensures: ClassVar[frozenset[str]] = frozenset()

    def run(self, graph: Graph, ctx: PassContext) -> Graph:
        return graph


class _FlipScale:
    """Rewrites scale(f) to scale(-f) forever: never converges."""

    name = "flip-scale"

    def apply(self, node: Any, rewriter: Any) -> None:
        if node.op == "scale":
            new = rewriter.insert_before(
                node, "scale", node.inputs, ScaleAttrs(factor=-node.attrs.factor), name="flip"
            )
            rewriter.replace_uses(node.output, new)


def _unknown_stage() -> None:
    graph = make_conv_lif_graph()
    graph.stage = "silicon"
    verify(graph)


def _arity() -> None:
    b = GraphBuilder("g")
    x = b.input("x", TensorType((2,)))
    y = b.add_node("lif", [x], LifAttrs(), name="twoin")
    b.graph.nodes[0].inputs = (x, x)
    verify(b.finish([y]))


def _output_undefined() -> None:
    graph = make_conv_lif_graph()
    other = make_conv_lif_graph()
    graph.outputs = [other.node("lif").output]
    verify(graph)


def _missing_lava(monkeypatch: pytest.MonkeyPatch) -> None:
    from snncompile.targets.loihi import _lava

    real_import = builtins.__import__

    def fake_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "lava" or name.startswith("lava."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    monkeypatch.setattr(_lava.importlib, "import_module", lambda n: fake_import(n))
    _lava.require_lava()


def _broken_lava(monkeypatch: pytest.MonkeyPatch) -> None:
    from snncompile.targets.loihi import _lava

    def broken(name: str) -> Any:
        raise ValueError("mutable default <class 'ByteEncoder'> for field x is not allowed")

    monkeypatch.setattr(_lava.importlib, "import_module", broken)
    _lava.require_lava()


def _checkpoint(tmp_path: Path, kind: str) -> None:
    from snncompile.models import create
    from snncompile.models.checkpoint import load_checkpoint

    path = tmp_path / "model.pt"
    if kind == "corrupt":
        path.write_bytes(b"this is not a torch file")
    elif kind == "mismatch":
        state = create("spikformer_digits").state_dict()
        state.pop(next(iter(state)))
        torch.save(state, path)
    elif kind == "pickled":
        torch.save(create("spikformer_digits"), path)
    elif kind == "user_arch":  # your own class, whose file is not there
        torch.save(create("spikformer_digits").state_dict(), path)
        load_model(path, arch="mymodel.py:Net")
    load_checkpoint(path, "spikformer_digits")


def _real_into_synapses() -> None:
    from snncompile.ir.ops.tensor import LinearAttrs

    b = GraphBuilder("g")
    x = b.input("x", TensorType((4,), "f64"))
    s = b.add_node("lif", [x], LifAttrs(), name="s")
    current = b.add_node("linear", [s], LinearAttrs(weight=np.ones((4, 4)), bias=None), name="c")
    mac = b.add_node(
        "linear", [current], LinearAttrs(weight=np.ones((4, 4)), bias=None), name="mac"
    )
    out = b.add_node("lif", [mac], LifAttrs(), name="out")
    raise_violations(b.finish([out]))


def _no_neurons() -> None:
    graph = make_conv_lif_graph()
    graph.nodes = graph.nodes[:1]
    graph.outputs = [graph.nodes[0].output]
    PassManager([PartitionHost()]).run(graph)


def _gated_note() -> None:
    note = next(f for f in findings(attention()) if f.code == "SD301")
    raise note.to_error()


def _activity_finding(code: str, level: float) -> None:
    """A check of a linear -> LIF network whose LIF never fires (level 0) or always fires."""
    from snncompile.ir.ops.tensor import LinearAttrs
    from snncompile.report.compliance import check_graph

    b = GraphBuilder("g")
    x = b.input("x", TensorType((4,), "f64"))
    s = b.add_node("lif", [x], LifAttrs(tau=1.0), name="s")
    fc = b.add_node("linear", [s], LinearAttrs(weight=np.ones((3, 4)), bias=None), name="fc")
    out = b.add_node("lif", [fc], LifAttrs(), name="out")
    report = check_graph(b.finish([out]), np.full((4, 2, 4), level))
    raise next(f for f in report.findings if f.code == code).to_error()


def _unknown_convention() -> None:
    from snncompile.report.compliance import check_graph

    check_graph(make_conv_lif_graph(), np.zeros((1, 1, 2, 4, 4)), convention="syops")


def _trace_bad(op: str) -> None:
    from snncompile.frontend.torch import trace
    from tests.frontend.test_trace import Bad

    trace(Bad(op).double(), torch.rand(2, 1, 4, 4, dtype=torch.float64), time_steps=4)


class _DataDependent(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        from snncompile.models.neuron import MultiStepLIFNode

        self.lif = MultiStepLIFNode()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.unsqueeze(0).repeat(4, 1, 1)
        if x.sum() > 0:  # control flow on data
            x = x * 2
        return self.lif(x).mean(0)


def _trace_data_dependent() -> None:
    from snncompile.frontend.torch import trace

    trace(_DataDependent(), torch.rand(2, 3), time_steps=4)


class _OneNeuron(torch.nn.Module):
    """``[B, 3]`` repeated over T=4 into one neuron, averaged over T."""

    def __init__(self, neuron: torch.nn.Module) -> None:
        super().__init__()
        self.neuron = neuron

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.neuron(x.unsqueeze(0).repeat(4, 1, 1)).mean(0)


def _trace_neuron_without_chip_form() -> None:
    from spikingjelly.activation_based import neuron  # QIFNode: in 0.0.0.0.14 and 2.0

    from snncompile.frontend.torch import trace

    trace(_OneNeuron(neuron.QIFNode(step_mode="m")), torch.rand(2, 3), time_steps=4)


def _trace_single_step_neuron() -> None:
    from snncompile.frontend.torch import trace
    from snncompile.models.neuron import LIFNode

    trace(_OneNeuron(LIFNode(step_mode="s")), torch.rand(2, 3), time_steps=4)


def _register(**changes: Any) -> None:
    """Register a throwaway op modelled on ``mul`` with ``changes`` to its declaration."""
    import dataclasses

    from snncompile.ir.ops import OPS, build_registry

    build_registry([dataclasses.replace(OPS["mul"], name="bilinear", **changes)])


def _quantize(build: str) -> None:
    from tests.passes import test_quantize

    test_quantize.quantize(getattr(test_quantize, build)())


def _lower_half_gain() -> None:
    """A chip current scaled by 1/2 between two neurons: not an integer synapse."""
    from snncompile.ir.ops.fixed import LifFixedAttrs
    from snncompile.passes.lower_to_network import LowerToNetwork

    b = GraphBuilder("g")
    x = b.input("x", TensorType((4,), "f64"))
    lif = LifFixedAttrs(du=4095, dv=2048, vth=64)
    s = b.add_node("lif_fixed", [x], lif, name="a")
    half = b.add_node("scale", [s], ScaleAttrs(factor=0.5), name="half")
    out = b.add_node("lif_fixed", [half], lif, name="b")
    LowerToNetwork().run(b.finish([out]), PassContext(config=CompileConfig()))


def _recurrent_network(code: str) -> None:
    """NW906: a recurrent edge whose source stays a host op; NW907: a population fed only by
    its recurrent edge; NW908: a recurrence against the pipeline."""
    import numpy as np

    from snncompile.ir.attrs import NoAttrs
    from snncompile.ir.ops.fixed import LifFixedAttrs
    from snncompile.ir.ops.recurrent import RecurrentAttrs
    from snncompile.ir.ops.tensor import LinearAttrs
    from snncompile.passes.lower_to_network import LowerToNetwork
    from snncompile.passes.pipeline_delays import PipelineDelays
    from snncompile.targets.sim.program import build_program
    from tests.targets.sim.recurrent_graphs import LIF, recurrent_mlp

    if code == "NW908":
        build_program(recurrent_mlp(back=True), CompileConfig())
    b = GraphBuilder("g")
    x = b.input("x", TensorType((4,), "f64"))
    r = b.add_node("recurrent", [], RecurrentAttrs(source="h", shape=(4,), dtype="f64"))
    w = b.add_node("linear", [r], LinearAttrs(weight=np.eye(4) * 8, bias=None), name="w")
    if code == "NW906":
        h = b.add_node("lif", [b.add_node("add", [x, w], NoAttrs())], LIF, name="h")
        graph = b.finish([h])
    else:
        a = b.add_node("lif_fixed", [x], LifFixedAttrs(du=4095, dv=2048, vth=64), name="a")
        h = b.add_node("lif_fixed", [w], LifFixedAttrs(du=4095, dv=2048, vth=64), name="h")
        graph = b.finish([a, h])
    ctx = PassContext(config=CompileConfig(allow_host_ops=True))
    PipelineDelays().run(LowerToNetwork().run(graph, ctx), ctx)


def _population_fed_by_input() -> None:
    from snncompile.ir.ops.network import PopulationAttrs

    b = GraphBuilder("g", stage="network")
    x = b.input("x", TensorType((4,), "f64"))
    pop = b.add_node("population", [x], PopulationAttrs(kind="lif", vth=1), name="pop")
    verify(b.finish([pop]))


def _lava_run(kind: str) -> None:
    """A projection bias (LV507) or a subtract reset (LV530) in the stock form, or a model
    failing inside Lava (LV508)."""
    from snncompile.targets.loihi.run import run_lava
    from tests.targets.loihi.test_lava_equivalence import Net, _dense_net, _inputs, _lif

    if kind == "stock":
        n = Net((3,))
        p = n.proj(n.x, kind="sum", graded=True, delay=1, bias=np.array([1.0, 2.0, 3.0]))
        run_lava(n.graph(n.pop([p], "a", **_lif(start=1))), [_inputs((3,))], form="stock")
    elif kind == "subtract":  # a reset Lava's LIF process does not have (LV530)
        n = Net((3,))
        p = n.proj(n.x, kind="sum", graded=True, delay=1)
        pop = n.pop([p], "soft", **_lif(start=1, reset="subtract"))
        run_lava(n.graph(pop), [_inputs((3,))], form="stock")
    else:
        graph = _dense_net(np.ones((4, 6)), 0)
        run_lava(graph, [_inputs((6,))], form="fused", _fail_at_step=2)


def _ir_to_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--target ir`` without ``-o`` while standard output is a terminal."""
    from snncompile import cli

    source = tmp_path / "net.snnir"
    source.write_text(print_graph(make_conv_lif_graph()))
    monkeypatch.setattr(cli, "_is_terminal", lambda stream: True)
    cli.cli.main([str(source), "--target", "ir"], standalone_mode=False)


USER_NET = """
import torch


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x)
"""


def _user_model(tmp_path: Path, kind: str) -> None:
    """Your own model: a state dict without a card (no input shape), or a pickled module whose
    code is gone."""
    import importlib.util
    import sys

    code = tmp_path / f"code_{kind}"
    code.mkdir(exist_ok=True)
    (code / "usernet_gone.py").write_text(USER_NET)
    if kind == "no_shape":
        module = importlib.util.spec_from_file_location("x", code / "usernet_gone.py")
        assert module is not None and module.loader is not None
        built = importlib.util.module_from_spec(module)
        module.loader.exec_module(built)
        path = tmp_path / "mine.pt"
        torch.save(built.Net().state_dict(), path)
        from snncompile.frontend.load import to_graph

        to_graph(load_model(path, arch=str(code / "usernet_gone.py") + ":Net"))
    sys.path.insert(0, str(code))
    try:
        import usernet_gone  # type: ignore[import-not-found]

        path = tmp_path / "model.pt"
        torch.save(usernet_gone.Net(), path)
    finally:
        sys.path.remove(str(code))
        sys.modules.pop("usernet_gone", None)
    (code / "usernet_gone.py").unlink()
    load_model(path, trust_pickle=True)


def _bad_header(tmp_path: Path) -> None:
    path = tmp_path / "bad.snnir"
    path.write_text("# snncompile: time_steps=0\n" + print_graph(make_conv_lif_graph()))
    load_model(path)


def _card_of_text_ir(tmp_path: Path) -> None:
    from snncompile.frontend.write_card import write_card

    path = tmp_path / "net.snnir"
    path.write_text(print_graph(make_conv_lif_graph()))
    write_card(path, load_model(path))


def _test_chip(code: str) -> None:
    """The test chip (4-bit weights, binary spikes only): more weight bits than it has
    (QZ904), a network mixing it with Loihi 2 (NW903), graded products on it (NW904), a Lava
    artifact for it (NW905)."""
    from snncompile.ir.ops.network import PopulationAttrs, ProjectionAttrs, graph_chip
    from snncompile.passes.quantize import QuantizeFixedPoint
    from snncompile.targets.sim.program import build_program
    from tests.chip_models import TEST_CHIP, registered
    from tests.passes.graphs import attention

    with registered():
        if code == "QZ904":
            ctx = PassContext(config=CompileConfig(weight_bits=8), chip=TEST_CHIP)
            QuantizeFixedPoint().run(attention(), ctx)
        elif code == "NW903":
            b = GraphBuilder("mixed", stage="network")
            x = b.input("x", TensorType((2,), "f64"))
            p = b.add_node("projection", [x], ProjectionAttrs(kind="sum", graded=True))
            a = b.add_node("population", [p], PopulationAttrs(kind="lif", vth=1), name="a")
            q = b.add_node("projection", [a], ProjectionAttrs(kind="sum"))
            attrs = PopulationAttrs(kind="lif", du=0, dv=0, vth=1, chip="test4")
            c = b.add_node("population", [q], attrs, name="c")
            graph_chip(b.finish([c]))
        elif code == "NW905":
            from snncompile.targets.loihi.target import LoihiTarget

            LoihiTarget().pipeline(CompileConfig(chip="test4"))
        else:
            config = CompileConfig(chip="test4", allow_host_ops=True, accept_saturation=True)
            build_program(attention(), config)


def _rleaky_zero_reset() -> None:
    from snncompile.frontend.nir import import_nir
    from tests.frontend.test_nir_recurrent import recurrent_nir

    import_nir(recurrent_nir(plain=False), convention="snntorch", reset="value")


def _recurrent_from_nowhere() -> None:
    from snncompile.ir.ops.recurrent import RecurrentAttrs

    b = GraphBuilder("loose")
    r = b.add_node("recurrent", [], RecurrentAttrs(source="ghost", shape=(3,), dtype="f32"))
    verify(b.finish([r]))


# code -> (trigger taking (tmp_path, monkeypatch), text the message must name)
TRIGGERS: dict[str, tuple[Callable[..., Any], str]] = {
    "IR101": (_parse("  %y = scale(%x) {factor=} : tensor<4xf32>\n"), "%y"),
    "IR102": (_parse("  %y = frobnicate(%x) : tensor<4xf32>\n"), "%y"),
    "IR103": (_parse("  %y = scale(%x) {gain=2.0} : tensor<4xf32>\n"), "%y"),
    "IR104": (_parse("  %y = scale(%z) {factor=2.0} : tensor<4xf32>\n"), "%y"),
    "IR105": (_parse("  %x = scale(%x) {factor=2.0} : tensor<4xf32>\n"), "%x"),
    "IR106": (
        lambda: verify(parse_graph(HEADER + "  %y = scale(%x) {factor=2.0} : tensor<5xf32>\n}")),
        "%y (scale)",
    ),
    "IR107": (
        lambda: verify(
            parse_graph(HEADER + "  %y = current_sum(%x) : tensor<4xf32>\n  output %y\n}")
        ),
        "%y (current_sum)",
    ),
    "IR108": (
        _parse(
            "  %y = linear(%x) {weight=@w, bias=none} : tensor<1xf32>\n  output %y\n}\n"
            "resources {\n  @w = array<f32, [1, 4]> elided sha256:0123\n}\n"
        ),
        "%y",
    ),
    "IR109": (_output_undefined, "%lif"),
    "IR110": (_arity, "%twoin (lif)"),
    "IR111": (_unknown_stage, "silicon"),
    "IR112": (lambda: _register(domain=None), "'bilinear'"),
    "IR113": (lambda: _register(count=None), "'bilinear'"),
    "IR114": (lambda: _register(traits=frozenset()), "'bilinear'"),
    "IR115": (lambda: _quantize("unruled_op_graph"), "%offset"),
    "CF201": (lambda: CompileConfig(target="fpga"), "target"),
    "CF202": (lambda: PassManager([], dump_ir_after=["fold-everything"]), "fold-everything"),
    "CF203": (lambda: PassManager([_NeedsFolded()]), "needs-folded"),
    "CF204": (_ir_to_terminal, "output"),
    "PM301": (lambda: PassManager([_BreakingPass()]).run(make_conv_lif_graph()), "break-types"),
    "PM302": (
        lambda: apply_patterns(make_conv_lif_graph(), [_FlipScale()], pass_name="flipper"),
        "flip-scale",
    ),
    "PM303": (lambda: PassManager([_CrashingPass()]).run(make_conv_lif_graph()), "crash"),
    "ML401": (lambda: __import__("snncompile.models").models.create("spikformer_9_999"), "9_999"),
    "ML402": (lambda tmp_path: _checkpoint(tmp_path, "corrupt"), "model.pt"),
    "ML403": (lambda tmp_path: _checkpoint(tmp_path, "mismatch"), "spikformer_digits"),
    "ML404": (lambda tmp_path: _checkpoint(tmp_path, "pickled"), "model.pt"),
    "ML405": (lambda tmp_path: _checkpoint(tmp_path, "user_arch"), "mymodel.py:Net"),
    "ML406": (lambda tmp_path: hostile.bad_checkpoint(tmp_path, "nan"), ".weight"),
    "ML407": (lambda tmp_path: hostile.bad_checkpoint(tmp_path, "neg"), "running_var"),
    "ML408": (lambda tmp_path: hostile.bad_card(tmp_path), "input_shape"),
    "ML410": (lambda tmp_path: _user_model(tmp_path, "no_shape"), "mine"),
    "ML411": (lambda tmp_path: _user_model(tmp_path, "gone"), "model.pt"),
    "ML412": (_bad_header, "bad.snnir"),
    "ML413": (_card_of_text_ir, "net.snnir"),
    "SD101": (_no_neurons, "@conv_lif"),
    "SD201": (lambda: raise_violations(sew_block()), "block.1.attn.q_linear"),
    "SD202": (_real_into_synapses, "%mac (linear)"),
    "SD203": (
        lambda: raise_violations(ms_block(maxpool_on_current=True)),
        "%block0_pool",
    ),
    "SD204": (lambda: raise_violations(attention()), "%real_real (mul)"),
    "SD220": (lambda: _activity_finding("SD220", 0.0), "%s (lif)"),
    "SD221": (lambda: _activity_finding("SD221", 5.0), "%s (lif)"),
    "SD301": (_gated_note, "%qkv (matmul)"),
    "EN101": (_unknown_convention, "syops"),
    "FE701": (lambda: _trace_bad("softmax"), "inner.1"),
    "FE702": (lambda: _trace_bad("sum_time"), "inner.1"),
    "FE703": (_trace_data_dependent, "fx node"),
    "FE704": (_trace_neuron_without_chip_form, "QIFNode"),
    "FE705": (_trace_single_step_neuron, "step_mode='s'"),
    "QZ901": (lambda: _quantize("leaky_graph"), "%leaky"),
    "SD205": (lambda: _quantize("snntorch_no_delay_graph"), "reset_delay=False"),
    "SD206": (lambda: _quantize("reset_to_half_graph"), "v_reset=-0.5"),
    "QZ902": (lambda: _quantize("unfolded_batchnorm_graph"), "%norm"),
    "QZ903": (lambda: _quantize("overflowing_graph"), "%hot"),
    "IN601": (lambda tmp_path: _compile(tmp_path / "absent.pt"), "absent.pt"),
    "IN602": (lambda tmp_path: _foreign_shards(tmp_path), "run.json.shards.jsonl"),
    "IN603": (lambda tmp_path: hostile.fifo_model(tmp_path), "fifo.pt"),
    "IN604": (hostile.memory_bomb_ir, "bomb"),
    "IN605": (lambda tmp_path: hostile.data_input(tmp_path, "nan"), "sample 2"),
    "IN606": (lambda tmp_path: hostile.data_input(tmp_path, "empty_npz"), "x.npz"),
    "IN607": (lambda tmp_path: hostile.unwritable(tmp_path), "report.json"),
    "IN608": (hostile.ray_without_cluster, "--ray auto"),
    "SC101": (lambda tmp_path: hostile.card_names_code(tmp_path), "payload.py:Net"),
    "SC102": (lambda tmp_path: hostile.output_over_input(tmp_path), "victim.pt"),
    "AR101": (lambda tmp_path: hostile.artifact_case(tmp_path, "edited"), "time_steps"),
    "AR102": (lambda tmp_path: hostile.artifact_case(tmp_path, "forged"), "time_steps"),
    "AR103": (lambda tmp_path: hostile.artifact_case(tmp_path, "signature"), "your key"),
    "AR104": (lambda tmp_path: hostile.artifact_case(tmp_path, "source"), "model.snnir"),
    "LV501": (_missing_lava, "lava"),
    "LV502": (_broken_lava, "ByteEncoder"),
    "LV503": (lambda tmp_path: _artifact(tmp_path, "tamper"), "network/weights.npz"),
    "LV504": (lambda tmp_path: _artifact(tmp_path, "version"), "format_version"),
    "LV505": (lambda: _netx_export(), "%c (population)"),
    "LV506": (lambda tmp_path: _netx_import(tmp_path), "layer/0 (pool)"),
    "LV520": (lambda tmp_path: _netx_import(tmp_path, "sdnn"), "layer/0 (input)"),
    "LV521": (lambda tmp_path: _netx_import(tmp_path, "gap"), "named 0..n-1"),
    "LV507": (lambda: _lava_run("stock"), "bias"),
    "LV508": (lambda: _lava_run("fail"), "deliberate failure at step 2"),
    "LV530": (lambda: _lava_run("subtract"), "%soft"),
    "IX801": (lambda tmp_path: _onnx("corrupt", tmp_path), "bad.onnx"),
    "IX802": (lambda: _onnx("unknown"), "LpPool"),
    "IX803": (lambda: _onnx("missing"), "t0/pool"),
    "IX804": (lambda: _onnx("cycle"), "conv"),
    "IX805": (lambda: _onnx("shape"), "head"),
    "IX806": (lambda: _onnx("export"), "%pool (adaptive_avgpool2d)"),
    "IX807": (lambda tmp_path: _nir_export(tmp_path), "(attention)"),
    "IX808": (lambda: _nir_import("unknown"), "Threshold"),
    "IX809": (lambda: _nir_import("ambiguous"), "lif"),
    "IX810": (lambda: _nir_import("malformed"), "missing node ghost"),
    "IX811": (lambda: _nir_import("open"), "cannot say reset"),
    "IX812": (lambda: _nir_import("assumed"), "Assumed reset = value"),
    "IX813": (lambda: _nir_import("multi"), "several spikes"),
    "IX814": (_rleaky_zero_reset, "neuron lif"),
    "IX815": (lambda: _nir_import("huge"), "input"),
    "IX816": (lambda: _onnx_network(), "host_sum"),
    "IX830": (lambda tmp_path: hostile.netx_to_fixed(tmp_path), "--target ir"),
    "IX831": (lambda tmp_path: hostile.nir_threshold(tmp_path), "n1"),
    "IX817": (_recurrent_from_nowhere, "%ghost"),
    "NW901": (_lower_half_gain, "%half (scale)"),
    "NW902": (_population_fed_by_input, "%pop (population)"),
    "NW906": (lambda: _recurrent_network("NW906"), "%recurrent (recurrent)"),
    "NW907": (lambda: _recurrent_network("NW907"), "%h (population)"),
    "NW908": (lambda: _recurrent_network("NW908"), "%s1.in2 (projection)"),
    "NW903": (lambda: _test_chip("NW903"), "@mixed"),
    "NW904": (lambda: _test_chip("NW904"), "chip test4"),
    "NW905": (lambda: _test_chip("NW905"), "chip test4"),
    "QZ904": (lambda: _test_chip("QZ904"), "weight_bits"),
    "RS951": (lambda: _place_dense_row(140_000), "(at tgt)"),
    "RS980": (lambda: _place_on_board(129 * 8192, "chips:1"), "(at chips:1)"),
    "RS981": (lambda: _compile_within(3), "(at max_latency_steps)"),
}


def _place_on_board(neurons: int, board: str) -> None:
    from snncompile.targets.sim.cores import check_board, place_cores
    from tests.targets.sim.test_cores import _identity_pops

    check_board(place_cores(_identity_pops(neurons)), board)


def _compile_within(steps: int) -> None:
    import snncompile

    digits = Path(__file__).resolve().parents[1] / "examples" / "digits" / "spikingformer.pt"
    snncompile.compile(digits, max_latency_steps=steps).program  # noqa: B018


def _place_dense_row(n_in: int) -> None:
    from snncompile.targets.sim.cores import place_cores
    from tests.targets.sim.test_cores import _dense

    place_cores(_dense(n_in, 2))


def _artifact(tmp_path: Path, kind: str) -> None:
    import json

    from snncompile.targets.loihi import load
    from snncompile.targets.loihi.artifact import write_artifact
    from tests.targets.loihi.test_artifact import _program

    program, config = _program()
    write_artifact(program, config, tmp_path / "art")
    if kind == "tamper":
        weights = tmp_path / "art" / "network" / "weights.npz"
        weights.write_bytes(weights.read_bytes()[:-8])
    else:
        manifest = tmp_path / "art" / "manifest.json"
        manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "format_version": 0}))
    load(tmp_path / "art")


def _netx_export() -> None:
    from snncompile.targets.loihi.netx import netx_layers
    from tests.targets.loihi.test_netx import or_graph

    netx_layers(or_graph())


def _netx_import(tmp_path: Path, kind: str = "pool") -> None:
    import h5py

    from snncompile.frontend.netx import read_netx

    if kind == "gap":
        from tests.frontend.test_netx_import import _broken

        read_netx(_broken(tmp_path / "gap.net", "gap"))
    if kind == "sdnn":
        path = tmp_path / "sdnn.net"
        with h5py.File(path, "w") as handle:
            layer = handle.create_group("layer").create_group("0")
            layer.create_dataset("type", data=np.array([b"input"]))
            layer.create_dataset("shape", data=np.array([4]))
            neuron = layer.create_group("neuron")
            neuron.create_dataset("type", data=np.array([b"SDNN"]))
        read_netx(path)
    path = tmp_path / "pool.net"
    with h5py.File(path, "w") as handle:
        layer = handle.create_group("layer").create_group("0")
        layer.create_dataset("type", data=np.array([b"pool"], dtype="S10"))
    read_netx(path)


def _nir_export(tmp_path: Path) -> None:
    from snncompile.driver import compile_file

    compile_file("zoo:sdt_digits", CompileConfig(target="nir"), output=tmp_path / "sdt.nir")


def _nir_import(kind: str) -> None:
    import nir

    from snncompile.frontend.nir import import_nir
    from tests.targets.test_nir import foreign_graph

    if kind == "ambiguous":
        import_nir(foreign_graph())
    if kind in ("malformed", "cycle"):
        from tests.frontend.test_nir_import import _malformed

        _malformed("missing" if kind == "malformed" else kind)
    if kind in ("open", "assumed"):
        import warnings

        from snncompile.frontend.nir import NirAssumption
        from tests.frontend.nir_fixtures import snntorch_model

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import_nir(snntorch_model()[1], convention="snntorch", strict=kind == "open")
        raise next(w.message.error for w in caught if isinstance(w.message, NirAssumption))
    if kind == "multi":
        from tests.frontend.nir_fixtures import sinabs_graph

        import_nir(sinabs_graph()[0], convention="sinabs", spikes="multi")
    if kind == "huge":
        graph = foreign_graph({"snncompile.dt": 1e-4, "snncompile.reset": "value"})
        graph.nodes["input"] = nir.Input(input_type={"input": np.array([1 << 20, 1 << 20])})
        import_nir(graph)
    graph = foreign_graph({"snncompile.dt": 1e-4, "snncompile.reset": "value"})
    graph.nodes["fc"] = nir.Threshold(threshold=np.ones(5))
    import_nir(graph)


def _onnx_network() -> None:
    from snncompile.targets.onnx_network import export_network_onnx
    from tests.targets.test_onnx_network import split_chip_graph

    export_network_onnx(split_chip_graph(), 4)


def _onnx(kind: str, tmp_path: Path | None = None) -> None:
    from tests.frontend.test_onnx_import import trigger

    trigger(kind, tmp_path)


def _foreign_shards(tmp_path: Path) -> None:
    """Resume from the shards file of another model's run."""
    from snncompile.distributed import ShardLog

    path = tmp_path / "run.json.shards.jsonl"
    path.write_text('{"kind": "header", "model": "other.pt"}\n')
    ShardLog(path, {"kind": "header", "model": "sdt.pt"})


def _compile(path: Path) -> None:
    from snncompile.driver import compile_file

    compile_file(path, CompileConfig(target="ir"))


def _call(trigger: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names = trigger.__code__.co_varnames[: trigger.__code__.co_argcount]
    available = {"tmp_path": tmp_path, "monkeypatch": monkeypatch}
    trigger(**{name: available[name] for name in names})


def test_every_code_has_a_trigger() -> None:
    assert sorted(TRIGGERS) == sorted(CODES)


@pytest.mark.parametrize("code", sorted(CODES))
def test_code_is_raised_and_names_its_subject(
    code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trigger, subject = TRIGGERS[code]
    with pytest.raises(SnnCompileError) as info:
        _call(trigger, tmp_path, monkeypatch)
    error = info.value
    assert error.code == code, error.render()
    assert isinstance(error, ERROR_CLASSES[CODES[code].category])
    rendered = error.render()
    assert rendered.startswith(f"error[{code}]")
    assert subject in rendered, rendered
    assert "fix:" in rendered


def test_docs_document_every_code() -> None:
    text = (ROOT / "docs" / "diagnostics.md").read_text()
    documented = set(re.findall(r"^## `?([A-Z]{2}\d{3})", text, flags=re.MULTILINE))
    assert documented == set(CODES)


def test_unregistered_code_is_rejected() -> None:
    with pytest.raises(KeyError):
        SnnCompileError("XX999", "nope")
