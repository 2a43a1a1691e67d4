"""The Siegfried engine: siegfried's Go matcher embedded in ``pygfried`` (PRONOM v125 with its
container signatures of 2026), in process.

A result is *positive* when siegfried matched bytes or a container (basis ``byte match``,
``container name ...`` or ``xml match``), or found text whose extension agrees (``text match``
with no warning: fido would only have matched the extension), with one answer, no warning
beyond an extension or filename mismatch, no error reading the file, and the answer is not a
bare container (``GENERIC_CONTAINERS``: a ZIP or OLE2 file whose content siegfried could not name).
Anything else (``UNKNOWN``, extension only, text only, several matches, a damaged container) asks
for a second opinion (:mod:`preserve.ingest.identify.identifier`).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

import pygfried

from preserve.ingest.identify.model import FormatMatch

_BENIGN_WARNINGS = {"", "extension mismatch", "filename mismatch"}
_SIGNATURE_BASES = ("byte match", "container ", "xml match", "text match")
GENERIC_CONTAINERS = frozenset({"x-fmt/263", "fmt/111", "fmt/189"})  # ZIP, OLE2, OOXML


@dataclass(frozen=True)
class SiegfriedAnswer:
    matches: tuple[FormatMatch, ...]
    positive: bool  # a signature (byte/container/xml) match, unambiguous
    warning: str  # siegfried's warning, as it said it
    error: str  # siegfried's per-file error (a damaged ZIP...), not fatal


class SiegfriedEngine:
    """One ``pygfried.Scanner`` (the embedded default profile), loaded once per process."""

    name = "siegfried"

    def __init__(self) -> None:
        self._scanner = pygfried.Scanner()
        self.version = pygfried.version()
        self.signatures = _signature_files(self._scanner)
        self.registry = "PRONOM v" + _pronom_version(self.signatures)
        self.tool = f"siegfried {self.version} (pygfried, {self.signatures})"
        self._lock = threading.Lock()

    def identify(self, path: str) -> SiegfriedAnswer:
        """Raises on a file siegfried cannot open; an empty file is an unknown, not an error."""
        with self._lock:
            try:
                result = self._scanner.identify(path, detailed=True)
            except pygfried.EmptySourceError:
                return SiegfriedAnswer((), False, "empty file", "")
        return answer(result["files"][0])

    def identify_many(self, paths: list[str], workers: int = 1) -> list[SiegfriedAnswer]:
        """In order; ``workers`` Go threads (the GIL is not held while siegfried matches)."""
        if not paths:
            return []
        with self._lock:
            result = self._scanner.identify_many(paths, workers=workers)
        by_name = {f["filename"]: f for f in result["files"]}
        return [answer(by_name[p]) if p in by_name else _missing() for p in paths]


def answer(file: dict[str, Any]) -> SiegfriedAnswer:
    found = [m for m in file.get("matches", ()) if m.get("ns") == "pronom"]
    known = [m for m in found if m.get("id") not in ("UNKNOWN", "", None)]
    matches = tuple(_to_match(m) for m in known)
    warning = "; ".join(m.get("warning", "") for m in found if m.get("warning"))
    positive = (
        len(known) == 1
        and any(b in known[0].get("basis", "") for b in _SIGNATURE_BASES)
        and all(w.strip() in _BENIGN_WARNINGS for w in warning.split(";"))
        and not file.get("errors")
        and known[0]["id"] not in GENERIC_CONTAINERS
    )
    return SiegfriedAnswer(matches, positive, warning, file.get("errors") or "")


def _missing() -> SiegfriedAnswer:
    return SiegfriedAnswer((), False, "not scanned", "siegfried returned no result for the file")


def _to_match(m: dict[str, Any]) -> FormatMatch:
    basis = m.get("basis", "")
    if "container " in basis:
        method = "container"
    elif "byte match" in basis or "xml match" in basis:
        method = "signature"
    elif "text match" in basis:
        method = "text"
    else:
        method = "extension"
    return FormatMatch(
        m["id"], m.get("format", ""), m.get("version") or None, m.get("mime") or None, method
    )


def _signature_files(scanner: Any) -> str:
    """The signature files siegfried loaded, e.g. ``DROID_SignatureFile_V125.xml;
    container-signature-20260119.xml``, as siegfried reports them for an empty scan."""
    result = scanner.identify_many([], workers=1)
    pronom = [
        i.get("details", "") for i in result.get("identifiers", ()) if i.get("name") == "pronom"
    ]
    return "; ".join(pronom)


def _pronom_version(signatures: str) -> str:
    found = re.search(r"V(\d+)\.xml", signatures)
    return found.group(1) if found else "?"
