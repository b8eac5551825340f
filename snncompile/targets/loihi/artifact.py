"""The Loihi artifact: a directory holding a compiled network program and its reports.

``snncompile MODEL --target loihi -o OUT`` writes (layout version :data:`FORMAT_VERSION`)::

    OUT/
      manifest.json               what was built, from what, by which versions; SHA-256 of
                                  every other file (see :func:`write_artifact`)
      network/pipelined.snnir     the pipelined network IR (what the chip runs) as text
      network/layerwise.snnir     the layerwise network IR (what PyTorch computes) as text
      network/weights.npz         every array of both graphs, keyed by the SHA-256 of its
                                  little-endian bytes (shared arrays stored once)
      reports/quantization.json   quantize-fixed-point report
      reports/lowering.json       lower-to-network report (populations, synapses, resources)
      reports/pipeline.json       pipeline-delays report (depth, starts, balancing delays)
      reports/placement.json      place-cores report (cores, chips, per-core use)
      reports/compliance.json     the spike-driven compliance/energy report (``snncompile
      reports/compliance.html     check``) on sample inputs, JSON and HTML

The network text is the IR text form printed with ``elide_arrays=True``: every array is one
``@name = array<dtype, [shape]> elided sha256:PREFIX ...`` line, readable and diffable, and its
data lives in ``weights.npz``. :func:`load` puts the data back (checking dtype, shape and
digest), parses the text with :func:`snncompile.ir.parser.parse_graph` and checks that the
parsed graph prints to the stored text again. This needs no change to the printer or parser and
keeps megabytes of base64 out of the text.

:func:`load` verifies the manifest and the SHA-256 and size of every file before it parses
anything, and refuses a changed, truncated or missing file with LV503 and a malformed or
inconsistent manifest with LV504. Lava is needed only to run an artifact
(:meth:`LoihiArtifact.build_lava`, :meth:`LoihiArtifact.run_lava`), never to write or load one.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import io
import json
import os
import platform
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from snncompile import __version__
from snncompile.config import CompileConfig
from snncompile.diagnostics import SnnCompileError, error
from snncompile.fileio import atomic_directory
from snncompile.ir.graph import Graph
from snncompile.ir.parser import parse_graph
from snncompile.ir.printer import print_graph
from snncompile.ir.types import DTYPES
from snncompile.targets.loihi.integrity import read_sign_key, seal, verify
from snncompile.targets.sim.program import NetworkProgram

__all__ = [
    "ARTIFACT_FORMAT",
    "FORMAT_VERSION",
    "MANIFEST",
    "LoihiArtifact",
    "file_sha256",
    "load",
    "network_counts",
    "resolve_source",
    "write_artifact",
]

#: The manifest's ``format`` value.
ARTIFACT_FORMAT = "snncompile-loihi-artifact"
#: The layout version this module writes and reads.
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PIPELINED = "network/pipelined.snnir"
LAYERWISE = "network/layerwise.snnir"
WEIGHTS = "network/weights.npz"

_FULL_ARRAY = re.compile(r'^  @(?P<name>\S+) = array<(?P<dtype>\w+), \[(?P<shape>[0-9, ]*)\]> "')
_ELIDED_ARRAY = re.compile(
    r"^  @(?P<name>\S+) = array<(?P<dtype>\w+), \[(?P<shape>[0-9, ]*)\]> "
    r"elided sha256:(?P<digest>[0-9a-f]{16})(?: .*)?$"
)


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, as hex."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _le_bytes(array: np.ndarray) -> bytes:
    return np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()


def _versions() -> dict[str, str | None]:
    """Versions of what built the artifact (Lava is looked up, never imported)."""
    out: dict[str, str | None] = {"snncompile": __version__, "python": platform.python_version()}
    for dist in ("torch", "numpy", "lava-nc", "lava-dl"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = None
    return out


def network_counts(graph: Graph) -> dict[str, int]:
    """Populations, projections, current probes, host ops and neurons of a network graph."""
    ops = [node.op for node in graph.nodes]
    return {
        "populations": ops.count("population"),
        "projections": ops.count("projection"),
        "current_sums": ops.count("current_sum"),
        "host_ops": sum(op not in ("population", "projection", "current_sum") for op in ops),
        "neurons": sum(node.output.type.numel for node in graph.nodes if node.op == "population"),
    }


def _split_arrays(graph: Graph, arrays: dict[str, np.ndarray]) -> str:
    """The elided text of ``graph``; its arrays are added to ``arrays`` by full digest."""
    full = print_graph(graph).splitlines()
    elided = print_graph(graph, elide_arrays=True)
    elided_lines = elided.splitlines()
    if len(full) != len(elided_lines):  # pragma: no cover - the printer prints one line each
        raise error("LV504", f"@{graph.name}: the elided and full text forms differ in lines")
    for line in full:
        match = _FULL_ARRAY.match(line)
        if match is None:
            continue
        data = line[match.end() : line.rindex('"')]
        raw = base64.b64decode(data)
        dtype = np.dtype(DTYPES[match.group("dtype")]).newbyteorder("<")
        shape = tuple(int(d) for d in match.group("shape").replace(" ", "").split(",") if d)
        array = np.frombuffer(raw, dtype=dtype).reshape(shape)
        arrays[hashlib.sha256(raw).hexdigest()] = array.astype(dtype.newbyteorder("="))
    return elided


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=False, default=_jsonable) + "\n"


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def write_artifact(
    program: NetworkProgram,
    config: CompileConfig,
    output: Path,
    *,
    source: str | Path | None = None,
    compliance: Any | None = None,
    extra: Mapping[str, Any] | None = None,
    key: bytes | None = None,
) -> list[Path]:
    """Write the artifact of ``program`` to the directory ``output``, atomically: it is built
    in a temporary sibling and renamed into place when complete (an existing artifact there is
    replaced only then; any other existing file or non-empty directory is refused, IN607).

    The manifest is sealed (:mod:`snncompile.targets.loihi.integrity`): a digest over its
    canonical form, per-field digests, and an HMAC when ``key`` is given. Trust settings
    (``trust_pickle``, ``trust_code``, ``sign_key``, ``max_memory``) are not recorded.

    Args:
        program: the compiled network program (both timings).
        config: the compile configuration (recorded; :func:`load` rebuilds it).
        output: the artifact directory.
        source: the model source (a file is hashed; ``zoo:NAME`` is recorded as is).
        compliance: a :class:`~snncompile.report.compliance.ComplianceReport`, written as JSON
            and HTML when given.
        extra: more manifest entries (e.g. ``{"input": {...}}``).
        key: an HMAC key to sign the manifest with.

    Returns:
        The files written, the manifest last.
    """
    _refuse_foreign_directory(output)
    arrays: dict[str, np.ndarray] = {}
    texts = {
        PIPELINED: _split_arrays(program.pipelined, arrays),
        LAYERWISE: _split_arrays(program.layerwise, arrays),
    }
    contents: dict[str, bytes] = {name: text.encode("utf-8") for name, text in texts.items()}
    buffer = io.BytesIO()
    named: dict[str, Any] = dict(arrays)  # numpy 2's stub types keyword arguments as bool
    np.savez_compressed(buffer, **named)
    contents[WEIGHTS] = buffer.getvalue()
    reports = program.reports
    for name, pass_name in (
        ("quantization", "quantize-fixed-point"),
        ("lowering", "lower-to-network"),
        ("pipeline", "pipeline-delays"),
        ("placement", "place-cores"),
    ):
        if name == "placement" and pass_name not in reports:
            continue
        contents[f"reports/{name}.json"] = _json(reports.get(pass_name, {})).encode("utf-8")
    if compliance is not None:
        from snncompile.report.html import compliance_html

        contents["reports/compliance.json"] = _json(compliance.to_dict()).encode("utf-8")
        contents["reports/compliance.html"] = compliance_html(compliance).encode("utf-8")
    files = {
        name: {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        for name, data in contents.items()
    }
    recorded = config.replace(trust_pickle=False, trust_code=False, sign_key=None, max_memory=None)
    graph = program.pipelined
    manifest: dict[str, Any] = {
        "format": ARTIFACT_FORMAT,
        "format_version": FORMAT_VERSION,
        "model": graph.name,
        "versions": _versions(),
        "config": recorded.to_dict(),
        "source": _source_info(source, output),
        "time_steps": config.time_steps,
        "pipeline_depth": program.depth,
        "inputs": [
            {
                "name": v.name,
                "shape": list(v.type.shape),
                "dtype": v.type.dtype,
                "kind": str(v.type.domain) if v.type.domain is not None else "real",
            }
            for v in graph.inputs
        ],
        "outputs": [{"name": v.name, "shape": list(v.type.shape)} for v in graph.outputs],
        "counts": network_counts(graph),
        "graphs": {"pipelined": PIPELINED, "layerwise": LAYERWISE, "weights": WEIGHTS},
        "arrays": len(arrays),
        **dict(extra or {}),
        "files": files,
    }
    contents[MANIFEST] = _json(seal(manifest, key)).encode("utf-8")
    with atomic_directory(output) as tmp:
        for name, data in contents.items():
            path = tmp / name
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
    return [output / name for name in contents]


def _refuse_foreign_directory(output: Path) -> None:
    """IN607 unless ``output`` is absent, an empty directory or an artifact (replaced)."""
    if output.is_dir() and any(output.iterdir()) and not (output / MANIFEST).is_file():
        raise error(
            "IN607",
            f"{output} is a directory that is not an snncompile artifact; it would be replaced "
            "as a whole: give a new path (or an existing artifact to replace)",
            node=str(output),
        )


def _source_info(source: str | Path | None, output: Path) -> dict[str, Any] | None:
    """The model source: as given, relative to the artifact directory (how :func:`load`
    finds it, never through the current directory), with its SHA-256 and size."""
    if source is None:
        return None
    text = str(source)
    path = Path(text)
    if not text.startswith("zoo:") and path.is_file():
        relative = os.path.relpath(path.resolve(), output.resolve())
        return {
            "path": text,
            "relative": relative,
            "sha256": file_sha256(path),
            "bytes": path.stat().st_size,
        }
    return {"path": text, "relative": None, "sha256": None, "bytes": None}


def resolve_source(artifact: Path, manifest: dict[str, Any]) -> Path | None:
    """The recorded model source file, found relative to the artifact and checked against its
    SHA-256; None when the artifact was compiled from ``zoo:NAME`` or an object.

    Raises:
        ConfigError AR104: the file is missing, not a regular file, or differs.
    """
    info = manifest.get("source")
    if not isinstance(info, dict) or not isinstance(info.get("relative"), str):
        return None
    path = artifact / info["relative"]
    if not path.is_file():
        raise error(
            "AR104",
            f"the artifact's source model {info.get('path')} is not at {path} (resolved "
            "relative to the artifact)",
            node=str(path),
        )
    digest = file_sha256(path)
    if digest != info.get("sha256"):
        raise error(
            "AR104",
            f"the source model {path} has SHA-256 {digest[:16]}..., the artifact was built "
            f"from {str(info.get('sha256'))[:16]}...",
            node=str(path),
        )
    return path


@dataclass
class LoihiArtifact:
    """A verified, loaded artifact.

    Attributes:
        path: the artifact directory.
        manifest: the parsed ``manifest.json``.
        config: the compile configuration it was built with.
        program: the network program (pipelined and layerwise graphs, depth, pass reports).
    """

    path: Path
    manifest: dict[str, Any]
    config: CompileConfig
    program: NetworkProgram
    reports: dict[str, Any] = field(default_factory=dict)

    @property
    def pipelined(self) -> Graph:
        return self.program.pipelined

    @property
    def layerwise(self) -> Graph:
        return self.program.layerwise

    def build_lava(
        self,
        inputs: dict[str, np.ndarray],
        *,
        steps: int,
        path: str,
        form: str | None = None,
    ) -> Any:
        """Build the Lava processes of one sample of the pipelined program.

        Calls :func:`snncompile.targets.loihi.emit.emit` (imported here, so loading needs no
        Lava) with ``form`` (``stock`` or ``fused``; default ``stock``);
        ``inputs``, ``steps`` and ``path`` (the record file) are passed on.
        """
        from snncompile.targets.loihi import emit as emit_module

        return emit_module.emit(self.program, inputs, form=form or "stock", steps=steps, path=path)

    def run_lava(self, inputs: Any, *, form: str | None = None, steps: int | None = None) -> Any:
        """Run the program in Lava via :func:`snncompile.targets.loihi.run.run_lava`."""
        from snncompile.targets.loihi import run as run_module

        return run_module.run_lava(self.program, inputs, form=form or "stock", steps=steps)


def _verify_files(root: Path, manifest: dict[str, Any]) -> None:
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise error("LV504", f"{root / MANIFEST} lists no files", node=MANIFEST)
    for name in (PIPELINED, LAYERWISE, WEIGHTS):
        if name not in files:
            raise error("LV504", f"{root / MANIFEST} does not list {name}", node=name)
    for name, entry in files.items():
        path = root / name
        if ".." in Path(name).parts or Path(name).is_absolute():
            raise error("LV504", f"{root / MANIFEST} lists a path outside the artifact: {name}")
        if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
            raise error("LV504", f"{root / MANIFEST}: entry of {name} has no sha256", node=name)
        if not path.is_file():
            raise error("LV503", f"artifact file {name} is missing from {root}", node=name)
        size = path.stat().st_size
        if entry.get("bytes") is not None and size != entry["bytes"]:
            raise error(
                "LV503",
                f"artifact file {name} has {size} bytes, the manifest says {entry['bytes']} "
                "(truncated or changed)",
                node=name,
            )
        digest = file_sha256(path)
        if digest != entry["sha256"]:
            raise error(
                "LV503",
                f"artifact file {name} changed: its SHA-256 is {digest[:16]}..., the manifest "
                f"says {entry['sha256'][:16]}...",
                node=name,
            )


def _validate_fields(
    where: Path,
    manifest: dict[str, Any],
    config: CompileConfig,
    pipelined: Graph,
    reports: dict[str, Any],
) -> int:
    """AR102 when a field that decides results is malformed or disagrees with the network;
    returns the pipeline depth."""

    def bad(name: str, message: str) -> Exception:
        return error("AR102", f"{where}: {name} {message}", node=name)

    steps = manifest.get("time_steps")
    if not (isinstance(steps, int) and not isinstance(steps, bool) and 1 <= steps <= 1 << 20):
        raise bad("time_steps", f"must be a positive integer, got {steps!r}")
    if config.time_steps != steps:
        raise bad("time_steps", f"is {steps} but config.time_steps is {config.time_steps}")
    depth = manifest.get("pipeline_depth")
    if not (isinstance(depth, int) and not isinstance(depth, bool) and 0 <= depth <= 1 << 16):
        raise bad("pipeline_depth", f"must be an integer in 0..65536, got {depth!r}")
    recorded = reports.get("pipeline", {}).get("depth")
    if recorded is not None and recorded != depth:
        raise bad("pipeline_depth", f"is {depth} but reports/pipeline.json says {recorded}")
    inputs = [
        {"name": v.name, "shape": list(v.type.shape), "dtype": v.type.dtype}
        for v in pipelined.inputs
    ]
    listed = [
        {k: entry.get(k) for k in ("name", "shape", "dtype")} if isinstance(entry, dict) else entry
        for entry in manifest.get("inputs") or []
    ]
    if listed != inputs:
        raise bad("inputs", f"{listed} disagree with the network's inputs {inputs}")
    outputs = [{"name": v.name, "shape": list(v.type.shape)} for v in pipelined.outputs]
    if manifest.get("outputs") != outputs:
        raise bad("outputs", f"{manifest.get('outputs')} disagree with the network's {outputs}")
    if manifest.get("model") != pipelined.name:
        raise bad("model", f"{manifest.get('model')!r} is not the network's {pipelined.name!r}")
    return depth


def _read_manifest(root: Path) -> dict[str, Any]:
    path = root / MANIFEST
    if not root.is_dir():
        raise error("LV503", f"{root} is not an artifact directory", node=str(root))
    if not path.is_file():
        raise error("LV503", f"artifact file {MANIFEST} is missing from {root}", node=MANIFEST)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error("LV504", f"{path} is not valid JSON: {exc}", node=MANIFEST) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != ARTIFACT_FORMAT:
        raise error("LV504", f"{path} is not a {ARTIFACT_FORMAT} manifest", node=MANIFEST)
    if manifest.get("format_version") != FORMAT_VERSION:
        raise error(
            "LV504",
            f"{path} has format_version {manifest.get('format_version')!r}; this snncompile "
            f"reads version {FORMAT_VERSION}",
            node=MANIFEST,
        )
    return manifest


def _read_weights(root: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(root / WEIGHTS, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise error("LV503", f"artifact file {WEIGHTS} does not read: {exc}", node=WEIGHTS) from exc


def _restore(name: str, text: str, weights: dict[str, np.ndarray]) -> Graph:
    """Parse the elided ``text`` with its arrays put back from ``weights``."""
    by_prefix: dict[str, str] = {}
    for key in weights:
        by_prefix.setdefault(key[:16], key)
    lines = text.splitlines()
    for i, line in enumerate(lines):
        match = _ELIDED_ARRAY.match(line)
        if match is None:
            continue
        found = by_prefix.get(match.group("digest"))
        if found is None:
            raise error(
                "LV503",
                f"{name}: array @{match.group('name')} (sha256:{match.group('digest')}) is not "
                f"in {WEIGHTS}",
                node=f"@{match.group('name')}",
            )
        key = found
        array = weights[key]
        dtype = DTYPES.get(match.group("dtype"))
        shape = tuple(int(d) for d in match.group("shape").replace(" ", "").split(",") if d)
        raw = _le_bytes(array)
        if (
            dtype is None
            or np.dtype(dtype) != array.dtype
            or array.shape != shape
            or hashlib.sha256(raw).hexdigest() != key
        ):
            raise error(
                "LV503",
                f"{name}: array @{match.group('name')} in {WEIGHTS} does not match its "
                f"declaration ({match.group('dtype')} {list(shape)} vs {array.dtype} "
                f"{list(array.shape)})",
                node=f"@{match.group('name')}",
            )
        head = line[: line.index("> elided") + 1]
        lines[i] = f'{head} "{base64.b64encode(raw).decode("ascii")}"'
    try:
        graph = parse_graph("\n".join(lines) + "\n")
    except SnnCompileError as exc:
        raise error(
            "LV504", f"{name} does not parse: [{exc.code}] {exc.message}", node=name
        ) from exc
    if print_graph(graph, elide_arrays=True) != text:
        raise error("LV504", f"{name} does not print back to its stored text", node=name)
    return graph


def load(path: str | Path, *, key: bytes | None = None) -> LoihiArtifact:
    """Verify and load the artifact directory ``path``.

    The manifest's integrity digest is checked first (and its HMAC signature with ``key``,
    default ``$SNNCOMPILE_SIGN_KEY``), then every file's size and SHA-256, then every field
    that decides results against the network (:func:`_validate_fields`).

    Raises:
        ConfigError AR101: the manifest changed (the fields are named); AR102: a field that
            decides results is malformed or disagrees with the network; AR103: the signature
            does not verify with the key.
        ConfigError LV503: a file is missing, truncated or changed (its size or SHA-256 differs
            from the manifest), or the weights do not match the network text.
        ConfigError LV504: the manifest is malformed, of another format version, or disagrees
            with the network it describes.
    """
    root = Path(path)
    manifest = _read_manifest(root)
    key = key if key is not None else read_sign_key(None)
    manifest = verify(manifest, str(root / MANIFEST), key)
    _verify_files(root, manifest)
    weights = _read_weights(root)
    graphs = {
        name: _restore(name, (root / name).read_text(encoding="utf-8"), weights)
        for name in (PIPELINED, LAYERWISE)
    }
    pipelined, layerwise = graphs[PIPELINED], graphs[LAYERWISE]
    try:
        config = CompileConfig.from_dict(manifest["config"]).replace(
            trust_pickle=False, trust_code=False, sign_key=None, max_memory=None
        )  # trust is never read from a file: only the user's command gives it
    except (KeyError, TypeError, SnnCompileError) as exc:
        raise error(
            "LV504", f"{root / MANIFEST}: bad compile config: {exc}", node=MANIFEST
        ) from exc
    if manifest.get("counts") != network_counts(pipelined):
        raise error(
            "LV504",
            f"{root / MANIFEST}: counts {manifest.get('counts')} disagree with the network "
            f"{network_counts(pipelined)}",
            node=MANIFEST,
        )
    reports: dict[str, Any] = {}
    for name in manifest["files"]:
        if name.startswith("reports/") and name.endswith(".json"):
            reports[Path(name).stem] = json.loads((root / name).read_text(encoding="utf-8"))
    depth = _validate_fields(root / MANIFEST, manifest, config, pipelined, reports)
    pass_reports = {
        "quantize-fixed-point": reports.get("quantization", {}),
        "lower-to-network": reports.get("lowering", {}),
        "pipeline-delays": reports.get("pipeline", {}),
    }
    program = NetworkProgram(layerwise, pipelined, depth, pass_reports)
    return LoihiArtifact(root, manifest, config, program, reports)
