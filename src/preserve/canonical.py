"""The one canonical JSON form of everything preserve signs: RFC 8785 (JCS).

Receipts, fixity reports, log checkpoints (and, later, tombstones) are signed over these
bytes, so that an auditor's own JCS implementation reproduces them and can check the
signature without our code. The ``rfc8785`` package does the work (numbers in ECMAScript form,
keys in UTF-16 code-unit order); we do not write our own.

Documents signed before JCS were canonicalised with Python's ``json.dumps`` (sorted keys,
compact separators, UTF-8): :func:`legacy` reproduces that form so that verification keeps
accepting what was signed then. A signed document says which form it used in its
``canonicalization`` field (:data:`JCS`); a document without one is legacy.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

JCS = "RFC8785"
"""The value of a signed document's ``canonicalization`` field for JCS."""


def canonical(doc: Any) -> bytes:
    """``doc`` in RFC 8785 canonical form, UTF-8."""
    return rfc8785.dumps(doc)


def legacy(doc: Any) -> bytes:
    """The form documents were signed in before JCS (kept for verifying them only)."""
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def canonical_for(form: str | None, doc: Any) -> bytes:
    """The bytes a document declaring ``form`` (None: none declared) was signed over."""
    return canonical(doc) if form == JCS else legacy(doc)
