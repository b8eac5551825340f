"""Integrity of a Loihi artifact's manifest: a digest over its canonical form, per-field
digests that name what changed, and an optional HMAC signature.

The manifest lists the SHA-256 of every other file, so covering the manifest covers the whole
artifact. :func:`seal` adds an ``integrity`` entry::

    "integrity": {
      "canonical": "json-sorted-compact-ascii",
      "sha256": SHA-256 of canonical(manifest without "integrity"),
      "fields": {"time_steps": SHA-256 of canonical(value), "config.arch": ..., ...},
      "hmac_sha256": HMAC-SHA256(key, same bytes) or null
    }

where ``canonical(x) = json.dumps(x, sort_keys=True, separators=(",", ":"),
ensure_ascii=True)``. :func:`verify` recomputes the digest (AR101 naming the fields whose
digests differ) and, when the user gives a key, the HMAC (AR103).

What this protects: the plain digest detects accidents (truncation, a bad copy, a merge) and
naive edits (changing ``time_steps`` or a weight file and its hash entry without recomputing
the digest). It does not stop a forger: anyone can recompute a SHA-256. The HMAC does, for
whoever holds the key: a forger without the key cannot produce a valid signature. The key is
the user's (``--sign-key FILE`` or the ``SNNCOMPILE_SIGN_KEY`` environment variable); it is
never read from the artifact.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path
from typing import Any

from snncompile.diagnostics import error

__all__ = ["SIGN_KEY_ENV", "canonical", "read_sign_key", "seal", "verify"]

#: Environment variable holding a signing key (its UTF-8 bytes).
SIGN_KEY_ENV = "SNNCOMPILE_SIGN_KEY"
_SCHEME = "json-sorted-compact-ascii"


def canonical(value: Any) -> bytes:
    """The canonical bytes of a JSON value (sorted keys, no spaces, ASCII)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode("ascii")


def _sha(value: Any) -> str:
    return hashlib.sha256(canonical(value)).hexdigest()


def _field_digests(body: dict[str, Any]) -> dict[str, str]:
    out = {}
    for key, value in body.items():
        out[key] = _sha(value)
        if isinstance(value, dict) and key in ("config", "source", "files"):
            out.update({f"{key}.{k}": _sha(v) for k, v in value.items()})
    return out


def read_sign_key(key_file: str | Path | None) -> bytes | None:
    """The signing key: the bytes of ``key_file`` when given, else ``$SNNCOMPILE_SIGN_KEY``,
    else None. An empty key is refused (CF201)."""
    if key_file is not None:
        from snncompile.fileio import require_regular_file

        path = require_regular_file(key_file, "signing key")
        try:
            key = path.read_bytes()
        except OSError as exc:
            raise error(
                "CF201", f"cannot read the signing key {path}: {exc}", node="sign_key"
            ) from exc
        where = str(path)
    else:
        text = os.environ.get(SIGN_KEY_ENV)
        if text is None:
            return None
        key, where = text.encode("utf-8"), f"${SIGN_KEY_ENV}"
    if not key.strip():
        raise error("CF201", f"the signing key {where} is empty", node="sign_key")
    return key


def seal(body: dict[str, Any], key: bytes | None) -> dict[str, Any]:
    """``body`` with its ``integrity`` entry (see the module docstring)."""
    data = canonical(body)
    return {
        **body,
        "integrity": {
            "canonical": _SCHEME,
            "sha256": hashlib.sha256(data).hexdigest(),
            "fields": _field_digests(body),
            "hmac_sha256": None if key is None else hmac.new(key, data, "sha256").hexdigest(),
        },
    }


def verify(manifest: dict[str, Any], where: str, key: bytes | None) -> dict[str, Any]:
    """Check ``manifest``'s integrity entry; return the manifest without it.

    Raises:
        ConfigError AR101: no integrity entry, or the manifest changed (naming the fields).
        ConfigError AR103: a key was given and the signature is absent or wrong.
    """
    seal_entry = manifest.get("integrity")
    body = {k: v for k, v in manifest.items() if k != "integrity"}
    if not isinstance(seal_entry, dict) or not isinstance(seal_entry.get("sha256"), str):
        raise error(
            "AR101",
            f"{where} has no integrity digest (written by an older snncompile, or stripped)",
            node="integrity",
        )
    if seal_entry.get("canonical") != _SCHEME:
        raise error(
            "AR101",
            f"{where}: unknown canonical form {seal_entry.get('canonical')!r}",
            node="integrity",
        )
    try:
        data = canonical(body)
    except ValueError as exc:  # NaN or Inf in a field
        raise error("AR102", f"{where}: a field holds a non-JSON number: {exc}") from exc
    if not hmac.compare_digest(hashlib.sha256(data).hexdigest(), seal_entry["sha256"]):
        recorded = seal_entry.get("fields")
        recorded = recorded if isinstance(recorded, dict) else {}
        now = _field_digests(body)
        changed = sorted(k for k in set(now) | set(recorded) if now.get(k) != recorded.get(k))
        # name the innermost changed fields: config.time_steps rather than config too
        named = [k for k in changed if not any(c.startswith(k + ".") for c in changed)]
        what = ", ".join(named[:8]) if named else "its digest"
        raise error(
            "AR101",
            f"{where} changed after it was written: {what} "
            f"(manifest digest {hashlib.sha256(data).hexdigest()[:16]}..., recorded "
            f"{str(seal_entry['sha256'])[:16]}...)",
            node=named[0] if named else "integrity",
        )
    if key is not None:
        mac = seal_entry.get("hmac_sha256")
        expected = hmac.new(key, data, "sha256").hexdigest()
        if not isinstance(mac, str):
            raise error("AR103", f"{where} is not signed, and you gave a key", node="integrity")
        if not hmac.compare_digest(mac, expected):
            raise error(
                "AR103",
                f"{where}: the signature does not verify with your key (signed with another "
                "key, or forged)",
                node="integrity",
            )
    return body
