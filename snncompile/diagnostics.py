"""Diagnostics: the error hierarchy and the table of stable diagnostic codes.

Every error the user can see is an :class:`SnnCompileError` carrying a stable code (``IR101``),
a message that names the node or object at fault (with its source module path when known), and
the fix. The CLI prints :meth:`SnnCompileError.render` and exits non-zero; tracebacks only with
``--debug``.

Codes are declared once in :data:`CODES`; ``docs/diagnostics.md`` documents each one and a test
keeps the two in sync.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CODES",
    "ComplianceError",
    "ConfigError",
    "DiagnosticCode",
    "InternalError",
    "ResourceLimitError",
    "SnnCompileError",
    "UnsupportedOpError",
]


@dataclass(frozen=True)
class DiagnosticCode:
    """A stable diagnostic code: its short title, error class name and the usual fix."""

    code: str
    title: str
    category: str
    fix: str


def _codes(*entries: DiagnosticCode) -> dict[str, DiagnosticCode]:
    table: dict[str, DiagnosticCode] = {}
    for entry in entries:
        assert entry.code not in table, f"duplicate diagnostic code {entry.code}"
        table[entry.code] = entry
    return table


#: Every diagnostic code, in documentation order. Categories are the exception class names.
CODES: dict[str, DiagnosticCode] = _codes(
    # --- IR structure and text form (IR1xx) -------------------------------------------------
    DiagnosticCode(
        "IR101",
        "malformed text IR",
        "SnnCompileError",
        "Fix the text at the reported line and column; `snncompile --target ir` writes valid IR.",
    ),
    DiagnosticCode(
        "IR102",
        "unknown op",
        "UnsupportedOpError",
        "Use an op from the registry (docs/ir.md) or add it to snncompile/ir/ops.",
    ),
    DiagnosticCode(
        "IR103",
        "invalid op attributes",
        "SnnCompileError",
        "Give exactly the attributes the op declares, with the declared types.",
    ),
    DiagnosticCode(
        "IR104",
        "value used before definition",
        "SnnCompileError",
        "Define every value (graph input or node result) before the node that uses it.",
    ),
    DiagnosticCode(
        "IR105",
        "value defined twice",
        "SnnCompileError",
        "Give every value a unique name.",
    ),
    DiagnosticCode(
        "IR106",
        "type mismatch",
        "SnnCompileError",
        "The declared result type must equal what the op's type rule infers from its inputs.",
    ),
    DiagnosticCode(
        "IR107",
        "op not allowed at this stage",
        "SnnCompileError",
        "Run the lowering passes that remove this op before this stage (see docs/passes.md).",
    ),
    DiagnosticCode(
        "IR108",
        "missing array data",
        "SnnCompileError",
        "Every `@name` array reference needs an entry in the `resources` section; "
        "files printed with elided arrays cannot be parsed back.",
    ),
    DiagnosticCode(
        "IR109",
        "graph output undefined",
        "SnnCompileError",
        "Graph outputs must name values defined in the graph.",
    ),
    DiagnosticCode(
        "IR110",
        "wrong number of operands",
        "SnnCompileError",
        "Give the op the number of inputs (and results) it declares (docs/ir.md).",
    ),
    DiagnosticCode(
        "IR111",
        "unknown stage",
        "SnnCompileError",
        "A graph's stage is `tensor` or `network`.",
    ),
    DiagnosticCode(
        "IR112",
        "op declares no spike-domain rule",
        "InternalError",
        "Give the op's `OpDef` a `domain=` rule from snncompile/ir/domains.py (or a new one "
        "there); see docs/architecture.md, 'Adding an op'.",
    ),
    DiagnosticCode(
        "IR113",
        "op declares no operation count",
        "InternalError",
        "Give the op's `OpDef` a `count=` from snncompile/ir/counts.py; an op without synaptic "
        "operations declares `no_synaptic_ops`.",
    ),
    DiagnosticCode(
        "IR114",
        "op traits disagree with its count",
        "InternalError",
        "An op with synaptic operations must be `WEIGHTED` or `PRODUCT` (so that the "
        "spike-driven check sees it), and a weighted op or product must count its operations.",
    ),
    DiagnosticCode(
        "IR115",
        "no quantization rule for op",
        "UnsupportedOpError",
        "Keep the op on the host (it is outside the chip partition) or add its rule to "
        "snncompile/passes/quantize.py.",
    ),
    # --- configuration and pass pipeline (CF2xx) -------------------------------------------
    DiagnosticCode(
        "CF201",
        "invalid configuration",
        "ConfigError",
        "Correct the named field; `snncompile --help` lists every option and its range.",
    ),
    DiagnosticCode(
        "CF202",
        "unknown pass",
        "ConfigError",
        "Name a pass that exists in the target's pipeline (`--dump-ir-after` takes pass names).",
    ),
    DiagnosticCode(
        "CF203",
        "pass requirement not met",
        "ConfigError",
        "Order the pipeline so that the passes this pass requires run before it.",
    ),
    DiagnosticCode(
        "CF204",
        "text IR to a terminal",
        "ConfigError",
        "Give `-o FILE` to write the IR to a file, or `-o -` to print it to standard output on "
        "purpose (a pipe or file works without it).",
    ),
    DiagnosticCode(
        "PM301",
        "a pass broke the IR",
        "InternalError",
        "This is a compiler bug: report it with the IR dumped by `--dump-ir-after` for the pass.",
    ),
    DiagnosticCode(
        "PM302",
        "rewrite did not converge",
        "InternalError",
        "This is a compiler bug: a rewrite pattern keeps matching its own output.",
    ),
    DiagnosticCode(
        "PM303",
        "a pass crashed",
        "InternalError",
        "This is a compiler bug: report it with the input IR and `--debug` output.",
    ),
    # --- spike-driven compliance (SD1xx errors, SD2xx violations, SD3xx notes) -------------
    DiagnosticCode(
        "SD101",
        "no spiking neurons",
        "SnnCompileError",
        "snncompile compiles spiking networks: the model needs spiking neurons (our zoo, "
        "spikingjelly or snntorch neurons).",
    ),
    DiagnosticCode(
        "SD201",
        "synapses driven by a spike count",
        "ComplianceError",
        "The input is a sum of k spike trains (e.g. a SEW residual `x + f(x)`): distribute the "
        "synapses over the k sources with --expand-sew (`W·(a+b) = W·a + W·b`, k copies of "
        "the weights) or use a membrane-shortcut (MS) residual that adds currents.",
    ),
    DiagnosticCode(
        "SD202",
        "synapses driven by a real value on chip",
        "ComplianceError",
        "Feed the weighted op with spikes (put a spiking neuron before it) or move it to the "
        "host encoder or readout.",
    ),
    DiagnosticCode(
        "SD203",
        "max over real values on chip",
        "ComplianceError",
        "A max-pool over currents cannot be built from synapses: pool after the neuron (a max "
        "of spikes is an OR), or run it on the host with --allow-host-ops.",
    ),
    DiagnosticCode(
        "SD204",
        "product of two non-spike activations",
        "ComplianceError",
        "A product needs at least one binary (spike) operand to be built from neurons and "
        "static synapses; otherwise it runs on the host.",
    ),
    DiagnosticCode(
        "SD205",
        "snntorch neuron the chip cannot run",
        "UnsupportedOpError",
        "The chip runs snntorch Leaky with reset_mechanism 'zero', 'subtract' or 'none', "
        "reset_delay=True (the default) and one scalar beta per layer: set reset_delay=True, or "
        "give the layer one beta (learn_beta over a scalar).",
    ),
    DiagnosticCode(
        "SD206",
        "spikingjelly neuron the chip cannot run",
        "UnsupportedOpError",
        "The chip resets to 0 (v_reset=0.0) or subtracts the threshold (v_reset=None): use one of "
        "these resets.",
    ),
    DiagnosticCode(
        "SD220",
        "silent neuron layer",
        "SnnCompileError",
        "A warning, not a violation: the layer never spiked on the measured samples (rate 0), "
        "so everything after it sees no input and the energy figures are not meaningful. Check "
        "that the weights are trained (zoo:NAME has random weights), the input scale and the "
        "thresholds; measure on real data (--dataset or --input).",
    ),
    DiagnosticCode(
        "SD221",
        "saturated neuron layer",
        "SnnCompileError",
        "A warning, not a violation: every neuron of the layer spiked at every step on the "
        "measured samples (rate 1), so it carries no information. Check the input scale, the "
        "thresholds and the weights; measure on real data (--dataset or --input).",
    ),
    DiagnosticCode(
        "SD301",
        "gated product needs graded spikes",
        "SnnCompileError",
        "Not a violation: the product of a graded value and spikes becomes gated neurons that "
        "send graded spikes (Loihi 2), exact for integer values.",
    ),
    # --- the PyTorch frontend (FE7xx) -------------------------------------------------------
    DiagnosticCode(
        "FE701",
        "unsupported PyTorch op",
        "UnsupportedOpError",
        "Rewrite the model with supported ops (docs/frontend.md lists the mapping; docs/ir.md "
        "the IR ops), or open an issue with the op and the module that uses it.",
    ),
    DiagnosticCode(
        "FE702",
        "op mixes time steps",
        "UnsupportedOpError",
        "Only flatten(0, 1), reshape(T, B, ...), the input repeat over T and the final mean "
        "over T may touch the time and batch axes; keep other ops per time step.",
    ),
    DiagnosticCode(
        "FE703",
        "control flow on tensor values",
        "UnsupportedOpError",
        "Make Python control flow depend on shapes only (not on tensor data), or move it out of "
        "the model's forward.",
    ),
    DiagnosticCode(
        "FE704",
        "neuron class without an exact chip form",
        "UnsupportedOpError",
        "Use a neuron with an exact form: spikingjelly LIFNode, ParametricLIFNode or IFNode "
        "(0.0.0.0.14 or 2.0), the snncompile zoo neurons or snntorch Leaky (docs/frontend.md).",
    ),
    DiagnosticCode(
        "FE705",
        "neuron option without an exact chip form",
        "UnsupportedOpError",
        "Change the named option: step_mode='m' (functional.set_step_mode(net, 'm')) or a "
        "layer.MultiStepContainer around a single-step neuron; the default (float) precision.",
    ),
    # --- quantization (QZ9xx) ---------------------------------------------------------------
    DiagnosticCode(
        "QZ901",
        "neurons with different input scales",
        "UnsupportedOpError",
        "Currents shared by the network's neurons need one unit: give every neuron with "
        "decay_input=True the same tau (spikingjelly), or use decay_input=False (IF, snntorch "
        "Leaky: the input is not scaled).",
    ),
    DiagnosticCode(
        "QZ902",
        "op the quantizer cannot express on chip",
        "UnsupportedOpError",
        "Run fold-batchnorm and fold-scales first; an op left between synapses and neurons "
        "(e.g. an unfoldable batch norm) must move to the host or be folded by hand.",
    ),
    DiagnosticCode(
        "QZ903",
        "fixed-point overflow possible",
        "ResourceLimitError",
        "A population's worst-case current or voltage exceeds Loihi's 24 bits: lower its scale "
        "(weights or thresholds), or accept saturation with --accept-saturation (the report "
        "gives every population's margin).",
    ),
    DiagnosticCode(
        "QZ904",
        "weight precision beyond the chip",
        "ConfigError",
        "--weight-bits asks for more bits than the chip's weights have (`snncompile.chip`: "
        "the chip model's WeightFormat.bits): lower it, or leave it unset for the chip's own.",
    ),
    # --- network IR and chip resources (NW9xx, RS9xx) ---------------------------------------
    DiagnosticCode(
        "NW901",
        "cannot lower to populations and projections",
        "UnsupportedOpError",
        "Between two neurons the chip can only apply static synapses: one conv, linear or sum "
        "with layout ops (reshape, permute, slice, broadcast), integer gains and one exponent. "
        "Run the op on the host with --allow-host-ops, or restructure the model.",
    ),
    DiagnosticCode(
        "NW902",
        "invalid network wiring",
        "SnnCompileError",
        "At the network level populations take projection currents, projections read "
        "population spikes or host values, and only the host reads currents (current_sum). "
        "This is a compiler bug if the graph came from lower-to-network: please report it.",
    ),
    DiagnosticCode(
        "NW903",
        "populations of different chips in one network",
        "SnnCompileError",
        "A network graph runs on one chip: every population names the same `chip`. Compile the "
        "whole model for one chip (--chip).",
    ),
    DiagnosticCode(
        "NW904",
        "neuron kind the chip cannot host",
        "UnsupportedOpError",
        "The chip model does not host this population kind (e.g. graded products on a chip "
        "without graded spikes, or coincidence neurons): compile for a chip that does, or run "
        "the op on the host with --allow-host-ops where the model allows it.",
    ),
    DiagnosticCode(
        "NW905",
        "target cannot run the chip",
        "ConfigError",
        "The target writes processes for another chip (`--target loihi` and `netx`: Loihi 2): "
        "compile with --chip loihi2 for them, or use --target fixed / ir and the simulator "
        "for other chip models.",
    ),
    DiagnosticCode(
        "NW906",
        "recurrent edge without a chip population",
        "UnsupportedOpError",
        "A recurrent projection reads the spikes of a lif population of the chip; the source "
        "the message names did not become one (it is a host op or a coincidence/gated "
        "product). Make the recurrent source a spiking LIF neuron.",
    ),
    DiagnosticCode(
        "NW907",
        "recurrent edge read by something other than synapses",
        "UnsupportedOpError",
        "At the network level a recurrent edge feeds projections only (recurrent synapses), "
        "and every population also needs a feed-forward input: read the previous step's spikes "
        "through a Linear/Conv, and give the population an input.",
    ),
    DiagnosticCode(
        "NW908",
        "recurrent projection against the pipeline",
        "UnsupportedOpError",
        "The chip pipelines layers (one step per hop), so a recurrent projection from a later "
        "population back to an earlier one would need spikes before they exist. Recurrent "
        "projections may go from a population to itself or to a population the pipeline "
        "reaches no earlier; restructure the recurrence into one layer.",
    ),
    DiagnosticCode(
        "RS951",
        "does not fit the chip",
        "ResourceLimitError",
        "A population or its synapses exceed a core's or the system's limits (the message gives "
        "the numbers): use fewer time-multiplexed copies, a smaller model, or allow more "
        "chips (`dataclasses.replace(chip.limits, max_chips=...)` for `place_cores`; "
        "unbounded by default).",
    ),
    DiagnosticCode(
        "RS980",
        "does not fit the board",
        "ResourceLimitError",
        "The placement needs more chips than `--board` has. The message names the largest "
        "consumers (cores, the limit that sets their size, the projection taking their synapse "
        "memory) and the cores that must go; try `--objective cores`, a smaller model or input, "
        "or a bigger board (docs/resources.md gives the bounds).",
    ),
    DiagnosticCode(
        "RS981",
        "latency budget exceeded",
        "ResourceLimitError",
        "Even the lowest-latency mapping needs more steps (T + pipeline depth) than "
        "`--max-latency-steps`: raise the budget or use fewer time steps.",
    ),
    # --- models and checkpoints (ML4xx) -----------------------------------------------------
    DiagnosticCode(
        "ML401",
        "unknown model architecture",
        "ConfigError",
        "Pass `--arch`: a name from `snncompile zoo`, or your own class as `--arch FILE.py:Class` "
        "(its folder is importable); `snncompile card MODEL.pt --arch FILE.py:Class "
        "--input-shape 1,28,28 --time-steps 4` records it for next time.",
    ),
    DiagnosticCode(
        "ML402",
        "unreadable checkpoint",
        "SnnCompileError",
        "Pass a file written by torch.save holding a state dict (or a dict with 'state_dict', "
        "'model' or 'state_dict_ema').",
    ),
    DiagnosticCode(
        "ML403",
        "checkpoint does not match the architecture",
        "SnnCompileError",
        "Pass the `--arch` the checkpoint was trained with; the message lists the keys or shapes "
        "that differ.",
    ),
    DiagnosticCode(
        "ML404",
        "pickled module needs trust",
        "SnnCompileError",
        "The file holds a pickled nn.Module; unpickling runs code. Pass `--trust-pickle` if you "
        "trust the file, or save a state dict and pass `--arch`.",
    ),
    DiagnosticCode(
        "ML405",
        "cannot build your architecture",
        "ConfigError",
        "`--arch FILE.py:Class` (or `package.module:Class`) must name an nn.Module subclass "
        "that imports and builds with the model card's `arch_kwargs`; the message gives the "
        "error it raised.",
    ),
    DiagnosticCode(
        "ML406",
        "weights that cannot be computed",
        "SnnCompileError",
        "A weight, bias or BatchNorm statistic holds NaN or Inf (the message names the tensor "
        "and the first bad index): retrain or repair the checkpoint; nothing is quantized or "
        "run from it.",
    ),
    DiagnosticCode(
        "ML407",
        "negative BatchNorm variance",
        "SnnCompileError",
        "A BatchNorm running_var must be >= 0 (a variance); the checkpoint is corrupt or was "
        "edited: re-export it from the trained model.",
    ),
    DiagnosticCode(
        "ML408",
        "malformed model card",
        "SnnCompileError",
        "Fix the named field of the JSON model card beside the checkpoint: arch a string, "
        "input_shape a list of positive integers, time_steps a positive integer, arch_kwargs "
        "an object, input `image` or `frames` (docs/frontend.md).",
    ),
    # --- model inputs (IN6xx) --------------------------------------------------------------
    DiagnosticCode(
        "ML410",
        "input shape unknown",
        "ConfigError",
        "Pass `--input-shape C,H,W` (one sample, e.g. 1,28,28; the Python API's `input_shape=` "
        "or `example_input=`), or record it once with `snncompile card MODEL.pt --arch "
        "FILE.py:Class --input-shape 1,28,28 --time-steps 4`.",
    ),
    DiagnosticCode(
        "ML411",
        "pickled module's code not importable",
        "ConfigError",
        "A pickled nn.Module names the module of its class: run from the folder holding that "
        "file, or save a state dict (`torch.save(model.state_dict(), ...)`) and pass `--arch "
        "FILE.py:Class`.",
    ),
    DiagnosticCode(
        "ML412",
        "malformed recorded model facts",
        "ConfigError",
        "A `.snnir` header (`# snncompile: time_steps=T input_shape=C,H,W`) or a model card "
        "holds positive integers; correct the file or rewrite it (`snncompile MODEL --target "
        "ir -o FILE.snnir`, or `snncompile card MODEL.pt --force` with the flags).",
    ),
    DiagnosticCode(
        "ML413",
        "cannot write the model card",
        "ConfigError",
        "`snncompile card` writes the card of a checkpoint (.pt, .pth, ...); pass `--force` to "
        "replace an existing card, or `-o` to write it elsewhere.",
    ),
    DiagnosticCode(
        "IN601",
        "unreadable model or data input",
        "ConfigError",
        "Pass an existing file in a supported format: a model (zoo:NAME, a checkpoint, text IR, "
        "ONNX, NIR or netx; `snncompile --help`) or, for `--input`, X.npy, X.npz or a folder "
        "of images with one sub-folder per class whose shape fits the model.",
    ),
    DiagnosticCode(
        "IN602",
        "shards file of a different run",
        "ConfigError",
        "The shards file (OUT.shards.jsonl or --resume-dir) was written by a run with another "
        "model, config, data set or shard layout: re-run with the same options, or delete it or "
        "pick another --json/--resume-dir to start afresh.",
    ),
    DiagnosticCode(
        "IN603",
        "not a regular file",
        "ConfigError",
        "Inputs are read from regular files (or folders of them): a FIFO, a device such as "
        "/dev/zero or a socket (also behind a symlink) could block or never end; copy the data "
        "to a file.",
    ),
    DiagnosticCode(
        "IN604",
        "would need too much memory",
        "ResourceLimitError",
        "The input, graph or run would need more memory than the limit (the message gives the "
        "estimate): check the file (a header claiming 1e12 samples is corrupt), use --limit, "
        "or raise the limit with --max-memory (default: half of the machine's memory).",
    ),
    DiagnosticCode(
        "IN605",
        "inputs that cannot be computed",
        "SnnCompileError",
        "The data input holds NaN or Inf (the message names the array and the first bad "
        "sample): clean the data; no prediction is made from it.",
    ),
    DiagnosticCode(
        "IN606",
        "malformed data input",
        "SnnCompileError",
        "--input takes X.npy (labels in X_labels.npy), X.npz with arrays x and y (or labels), "
        "numeric samples of the model's shape, as many integer labels as samples, or a folder "
        "of readable images in class sub-folders; the message names what differs.",
    ),
    DiagnosticCode(
        "IN607",
        "cannot write the output",
        "ConfigError",
        "The output path must be a file in an existing, writable directory (or a directory "
        "for --target loihi) with room for it; nothing partial was left and an existing "
        "output is untouched.",
    ),
    DiagnosticCode(
        "IN608",
        "no Ray cluster at the given address",
        "ConfigError",
        "`--ray auto` joins a running cluster (start one with `ray start --head`), `--ray "
        "HOST:PORT` a given one; `--ray local` starts a cluster in this process.",
    ),
    # --- security and consent (SC1xx) -------------------------------------------------------
    DiagnosticCode(
        "SC101",
        "code needs your consent",
        "ConfigError",
        "A model card or artifact manifest names Python code (FILE.py:Class or module:Class), "
        "and importing it runs that code: if you trust it, pass --trust-code (Python: "
        "trust_code=True) or name the class yourself with --arch (docs/security.md).",
    ),
    DiagnosticCode(
        "SC102",
        "output would overwrite an input",
        "ConfigError",
        "An output path (-o, --json, --html, ...) resolves (through symlinks and relative "
        "paths) to an input of the same command or the artifact being read: write to another "
        "path.",
    ),
    # --- artifact integrity (AR1xx) -------------------------------------------------------
    DiagnosticCode(
        "AR101",
        "artifact manifest changed",
        "ConfigError",
        "manifest.json no longer matches its integrity digest: a field was edited "
        "after the artifact was written (the message names it when it can); rebuild the "
        "artifact. The digest detects accidents and naive edits, not a forger who recomputes "
        "it: sign artifacts (--sign-key) for that (docs/security.md).",
    ),
    DiagnosticCode(
        "AR102",
        "invalid artifact manifest field",
        "ConfigError",
        "A manifest field that decides the results (time_steps, pipeline_depth, config, "
        "inputs, ...) is malformed or disagrees with the network: rebuild the artifact.",
    ),
    DiagnosticCode(
        "AR103",
        "artifact signature does not verify",
        "ConfigError",
        "The artifact was not signed with the key you gave (--sign-key FILE or "
        "SNNCOMPILE_SIGN_KEY), or was changed after signing: get the artifact from its "
        "producer again, or check the key.",
    ),
    DiagnosticCode(
        "AR104",
        "artifact source file differs",
        "ConfigError",
        "The float backend rebuilds the model from the source file the manifest records, "
        "resolved relative to the artifact: put that exact file (same SHA-256) there, or run "
        "the source model itself.",
    ),
    # --- targets (LV5xx) --------------------------------------------------------------------
    DiagnosticCode(
        "LV501",
        "Lava is not installed",
        "ConfigError",
        "Install the loihi extra: `make setup` does it, or `pip install --no-deps "
        "--ignore-requires-python lava-nc==0.10.0 lava-dl==0.6.0` then requirements/loihi.txt "
        "(docs/install.md).",
    ),
    DiagnosticCode(
        "LV502",
        "Lava failed to import",
        "InternalError",
        "Lava is installed but does not import even with snncompile's compatibility shim; the "
        "message shows the import error.",
    ),
    DiagnosticCode(
        "LV503",
        "damaged Loihi artifact",
        "ConfigError",
        "A file of the artifact directory is missing, truncated or changed since it was "
        "written (its size or SHA-256 differs from manifest.json): rebuild it with "
        "`snncompile MODEL --target loihi -o OUT` or restore the original files.",
    ),
    DiagnosticCode(
        "LV504",
        "malformed Loihi artifact manifest",
        "ConfigError",
        "manifest.json is not an snncompile Loihi artifact manifest of a version this "
        "snncompile reads, or disagrees with the network it describes (docs/loihi.md); "
        "rebuild the artifact with this version.",
    ),
    DiagnosticCode(
        "LV505",
        "network not expressible in netx",
        "UnsupportedOpError",
        "lava-dl netx HDF5 holds sequential chains of dense/conv layers with CUBA LIF neurons "
        "(docs/loihi.md): export a sequential sub-network, or use the Loihi artifact "
        "(`--target loihi`) for anything else.",
    ),
    DiagnosticCode(
        "LV506",
        "unsupported netx file",
        "UnsupportedOpError",
        "The netx import reads input, dense, conv and flatten layers with CUBA/LOIHI neurons "
        "(docs/loihi.md); the message names the first layer it cannot read.",
    ),
    DiagnosticCode(
        "LV507",
        "no exact Lava form",
        "UnsupportedOpError",
        "The network uses something the requested Lava form cannot express exactly with "
        "library processes (the message names it): use --lava-mode fused, which runs the same "
        "integer arithmetic in one custom process.",
    ),
    DiagnosticCode(
        "LV508",
        "the Lava run failed",
        "InternalError",
        "A Lava process raised (the message carries its traceback); every process was stopped. "
        "If the traceback is in snncompile's generated models, report it with the model.",
    ),
    DiagnosticCode(
        "LV530",
        "reset the stock Lava LIF cannot run",
        "UnsupportedOpError",
        "Lava's LIF process resets to zero; populations that subtract the threshold (snntorch "
        "Leaky's default reset_mechanism='subtract', spikingjelly v_reset=None) or never reset "
        "run in the fused form: use --lava-mode fused.",
    ),
    DiagnosticCode(
        "LV520",
        "netx sigma-delta layer",
        "UnsupportedOpError",
        "SDNN (sigma-delta) layers carry graded messages and sigma/last-sent state that the "
        "network IR has no population for: import a CUBA/LOIHI (spiking) network instead, or "
        "run the SDNN file in lava-dl.",
    ),
    DiagnosticCode(
        "LV521",
        "malformed netx file",
        "SnnCompileError",
        "Fix the file: layers named 0..n-1 under /layer, each with a type and the fields its "
        "type needs, positive integer shapes, weights whose shape fits the layer before "
        "(the message names the layer and the field).",
    ),
    # --- energy and operation counts (EN1xx) ------------------------------------------------
    DiagnosticCode(
        "EN101",
        "unknown counting convention",
        "ConfigError",
        "Pass one of paper, events or chip to --count (the JSON report carries all three).",
    ),
    # --- ONNX and NIR interchange (IX8xx) ---------------------------------------------------
    DiagnosticCode(
        "IX801",
        "unreadable ONNX file",
        "SnnCompileError",
        "Pass an ONNX model file (protobuf) that `onnx.load` reads, e.g. one written by "
        "`snncompile MODEL --target onnx -o FILE.onnx`.",
    ),
    DiagnosticCode(
        "IX802",
        "unsupported ONNX op",
        "UnsupportedOpError",
        "The ONNX import reads the ops the ONNX export writes (docs/onnx.md) and neurons named "
        "like snncompile's functions (`snncompile.LIF`, ...); rewrite the model with those.",
    ),
    DiagnosticCode(
        "IX803",
        "ONNX value has no producer",
        "SnnCompileError",
        "Every node input must be a graph input, an initializer or another node's output; the "
        "file is missing the node that produces the named value.",
    ),
    DiagnosticCode(
        "IX804",
        "ONNX graph has a cycle",
        "SnnCompileError",
        "An ONNX graph is acyclic: neuron state is threaded from one time step to the next "
        "(docs/onnx.md), never fed back within a step.",
    ),
    DiagnosticCode(
        "IX805",
        "ONNX shapes do not fit",
        "SnnCompileError",
        "Fix the shapes of the named node's inputs or initializers (the message shows what the "
        "op expects).",
    ),
    DiagnosticCode(
        "IX806",
        "no ONNX form for this graph",
        "UnsupportedOpError",
        "Export a tensor-level float graph with one input and one output made of the ops "
        "docs/onnx.md lists.",
    ),
    DiagnosticCode(
        "IX807",
        "no NIR form for this op",
        "UnsupportedOpError",
        "NIR has conv, affine, scale, flatten, pooling and neurons only: products of two "
        "activations (attention), max pooling, batch norm (fold it first) and token layouts "
        "cannot be written; export such models with --target onnx.",
    ),
    DiagnosticCode(
        "IX808",
        "unsupported NIR graph",
        "UnsupportedOpError",
        "The NIR import reads feed-forward graphs of Input, Output, Conv2d, Affine, Linear, "
        "Scale, Flatten, AvgPool2d, SumPool2d, LIF, IF, CubaLIF (with a current that decays "
        "fully each step) and snncompile extension nodes, with uniform time constants "
        "(docs/nir.md).",
    ),
    DiagnosticCode(
        "IX809",
        "ambiguous NIR discretisation",
        "ConfigError",
        "NIR neurons are continuous-time: give the time step and reset mode the file was made "
        "for: name the tool that wrote it (`--nir-convention snntorch|norse|sinabs|rockpool|"
        "lava-dl`) or give `--nir-dt` and `--nir-reset value|subtract` (Python: "
        "`import_nir(graph, convention=..., dt=..., reset=...)`).",
    ),
    DiagnosticCode(
        "IX810",
        "malformed NIR graph",
        "SnnCompileError",
        "Fix the file: every edge must name existing nodes, the graph needs one Input and one "
        "Output, every node an input edge, and each node's parameters must fit the shape that "
        "reaches it (the message names the node and both shapes).",
    ),
    DiagnosticCode(
        "IX811",
        "the NIR file cannot say this",
        "ConfigError",
        "The writing tool leaves something out of the file that changes the network (snntorch's "
        "reset mechanism, norse's dt, sinabs/rockpool multi-spike neurons and input scaling): "
        "give the option the message names (`--nir-reset`, `--nir-dt`, `--nir-spikes single`, "
        "`--nir-input-gain`), or pass `--no-nir-strict` to accept the documented assumption "
        "with a warning (docs/nir.md).",
    ),
    DiagnosticCode(
        "IX812",
        "NIR import assumed what the file cannot say",
        "SnnCompileError",
        "A warning of a non-strict import (`--no-nir-strict`): check the assumption it names "
        "against the source model, and give the option instead to silence it.",
    ),
    DiagnosticCode(
        "IX813",
        "multi-spike neurons",
        "UnsupportedOpError",
        "The lif op emits at most one spike per step: retrain or re-export the source with "
        "single-spike neurons (sinabs SingleSpike, rockpool max_spikes_per_dt=1) and import with "
        "`--nir-spikes single`.",
    ),
    DiagnosticCode(
        "IX814",
        "recurrence the lif op cannot state",
        "UnsupportedOpError",
        "A cycle through a neuron imports as a one-step recurrent edge into a spiking lif "
        "(docs/nir.md, 'Recurrent graphs'); the tool's recurrent update named in the message has "
        "no exact lif form (snntorch RLeaky with reset_mechanism='zero'): retrain with "
        "reset_mechanism='subtract' or export a feed-forward network.",
    ),
    DiagnosticCode(
        "IX815",
        "impossible or huge dimensions",
        "SnnCompileError",
        "Every dimension in the file must be a positive integer and every value must fit the "
        "import's element limit (checked before allocating): fix the shapes the message names.",
    ),
    DiagnosticCode(
        "IX816",
        "no ONNX form for this chip network",
        "UnsupportedOpError",
        "`--target onnx-network` writes the chip partition of the compiled network (one "
        "partition: host ops only before and after it): compile without `--allow-host-ops`, or "
        "export the tensor graph with `--target onnx`.",
    ),
    DiagnosticCode(
        "IX830",
        "no fixed-point tensor form of a network",
        "UnsupportedOpError",
        "A netx file is already the chip's integer network: `--target fixed` writes the "
        "quantized tensor IR, which a network has no form of. Use `--target ir` (the network "
        "IR as read) or `--target loihi`.",
    ),
    DiagnosticCode(
        "IX831",
        "NIR neuron parameter out of range",
        "SnnCompileError",
        "A NIR LIF/IF/CubaLIF needs a positive threshold and positive time constants (inf: no "
        "leak); fix the parameter the message names in the writing tool's model.",
    ),
    DiagnosticCode(
        "IX817",
        "recurrent edge without a spiking source",
        "SnnCompileError",
        "A `recurrent` node (a one-step delay on a recurrent edge) must name the output of a "
        "spiking neuron (lif, lif_fixed, a lif population) of its own shape in the same graph. "
        "This is a compiler bug if the graph came from an import or a pass: please report it.",
    ),
)


class SnnCompileError(Exception):
    """Base of every error shown to a user.

    Attributes:
        code: the stable diagnostic code (a key of :data:`CODES`).
        message: one paragraph naming what is wrong, where (node, module path) and the numbers.
        fix: what the user can do; defaults to the code's documented fix.
        node: the IR node name or object the error is about, when there is one.
        source: the source model's module path (e.g. ``block.0.attn.q_conv``), when known.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        fix: str | None = None,
        node: str | None = None,
        source: str | None = None,
    ) -> None:
        if code not in CODES:
            raise KeyError(f"unregistered diagnostic code {code!r}")
        self.code = code
        self.message = message
        self.fix = fix if fix is not None else CODES[code].fix
        self.node = node
        self.source = source
        super().__init__(self.render())

    def __reduce__(self) -> tuple[object, ...]:
        """Pickle as code, message and fields (a Ray worker's error reaches the driver)."""
        return (type(self), (self.code, self.message), dict(self.__dict__))

    @property
    def title(self) -> str:
        """The code's short title."""
        return CODES[self.code].title

    def render(self) -> str:
        """One readable paragraph: ``error[CODE] title: message (at ...). Fix: ...``."""
        where = []
        if self.node is not None:
            where.append(self.node)
        if self.source is not None:
            where.append(f"module {self.source}")
        location = f" (at {', '.join(where)})" if where else ""
        return f"error[{self.code}] {self.title}: {self.message}{location}\n  fix: {self.fix}"


class UnsupportedOpError(SnnCompileError):
    """An op the compiler cannot translate or execute; never dropped silently."""


class ComplianceError(SnnCompileError):
    """The network breaks the spike-driven rule where the user asked for strict compliance."""


class ResourceLimitError(SnnCompileError):
    """Something does not fit the target's hardware limits (cores, memory, bits, delays)."""


class ConfigError(SnnCompileError):
    """Invalid user configuration, options or environment."""


class InternalError(SnnCompileError):
    """A compiler bug detected by an internal check (a pass broke the verifier, ...)."""


#: Error class for each category name used in :data:`CODES`.
ERROR_CLASSES: dict[str, type[SnnCompileError]] = {
    cls.__name__: cls
    for cls in (
        SnnCompileError,
        UnsupportedOpError,
        ComplianceError,
        ResourceLimitError,
        ConfigError,
        InternalError,
    )
}


def error(code: str, message: str, **kwargs: str | None) -> SnnCompileError:
    """Build the error of the class registered for ``code`` (see :data:`CODES`)."""
    cls = ERROR_CLASSES[CODES[code].category]
    return cls(code, message, **kwargs)
