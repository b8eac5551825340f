"""Consent before code runs: an architecture that names Python code is imported only when the
user said so in this command or API call.

Importing ``FILE.py:Class`` or ``package.module:Class`` executes that code with the user's
rights, as ``python FILE.py`` would. The user consents by naming the class themselves
(``--arch``, ``arch=``) or with ``--trust-code`` (``trust_code=True``); a name read from a file
(a model card beside a checkpoint, an artifact's manifest) is never consent. Zoo names run no
foreign code and need none. The same rule holds for unpickling (``--trust-pickle``), which
:mod:`snncompile.models.checkpoint` enforces. docs/security.md has the whole threat model.
"""

from __future__ import annotations

from snncompile.diagnostics import error
from snncompile.frontend.user_arch import is_user_arch

__all__ = ["require_code_consent"]


def require_code_consent(arch: str | None, origin: str, trust_code: bool) -> None:
    """SC101 when ``arch`` (read from ``origin``, a file) names code and ``trust_code`` is off.

    Args:
        arch: the architecture the file names (a zoo name needs no consent).
        origin: what named it, for the message (``the model card model.json``).
        trust_code: the user's ``--trust-code`` / ``trust_code=True``.
    """
    if not is_user_arch(arch) or trust_code:
        return
    raise error(
        "SC101",
        f"{origin} names the code {arch!r}; importing it would run it. snncompile runs code "
        "from a file only when you say so: pass --trust-code if you trust it, or give "
        f"--arch {arch} yourself",
        node=str(arch),
    )
