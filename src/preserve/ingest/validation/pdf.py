"""PDF (and PDF/A) with pikepdf over qpdf: the file opens, the cross-reference table and page
tree are sound, every object and stream of every page decodes (``qpdf --check``), and the
PDF/A part and conformance claimed in the XMP metadata are the ones the PUID names.

What qpdf repairs silently in any reader (a missing or misplaced cross-reference table, a page
without ``/Resources``) is a ``warn``: the file opens, but it is damaged. Anything else qpdf
reports (objects cut off, streams that do not decode, a broken page tree) is a ``fail``.
PDF/A conformance itself (fonts embedded, colour, ...) needs veraPDF and is not checked here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pikepdf

from preserve.ingest.validation.result import Finding, Item, Limits, failed, passed, warned

TOOL = f"pikepdf {pikepdf.__version__} (qpdf {pikepdf.__libqpdf_version__})"

# PRONOM PUID -> the PDF/A part and conformance level the XMP must claim.
PDFA_CLAIMS = {
    "fmt/95": "1A",
    "fmt/354": "1B",
    "fmt/476": "2A",
    "fmt/477": "2B",
    "fmt/478": "2U",
    "fmt/479": "3A",
    "fmt/480": "3B",
    "fmt/481": "3U",
}
_REPAIRED = re.compile(
    r"file is damaged|can't find startxref|xref not found|reconstruct cross-reference table"
    r"|Resources is missing or invalid; repairing"
)
_PAGE = re.compile(r"page (\d+)")
_OFFSET = re.compile(r"offset (\d+)")
_OBJECT = re.compile(r"object (\d+ \d+)")
SHOWN = 3  # qpdf messages quoted in one detail


def validate(item: Item, limits: Limits) -> Finding:
    try:
        with pikepdf.open(item.path) as pdf:
            opened = [str(w) for w in pdf.get_warnings()]
            problems = [m.removeprefix("WARNING: ").removeprefix("ERROR: ") for m in _check(pdf)]
            pages = len(pdf.pages)
            claim = _pdfa_claim(pdf)
    except pikepdf.PasswordError:
        return failed("encrypted: cannot be opened without a password")
    except (pikepdf.PdfError, ValueError, RuntimeError) as exc:
        return failed(f"does not open: {_clean(str(exc), item.path)}", _where(str(exc)))
    broken = list(dict.fromkeys([m for m in opened if not _REPAIRED.search(m)] + problems))
    if broken:
        return failed(_quote(broken, item.path), _where(*broken))
    if mismatch := _claim_problem(item.puid, claim):
        return mismatch
    if opened:
        return warned(f"opens only after qpdf repairs: {_quote(opened, item.path)}", "xref")
    pdfa = f", declares PDF/A-{claim}" if claim else ""
    noun = "page" if pages == 1 else "pages"
    return passed(f"{pages} {noun}, every object decodes{pdfa}")


def _check(pdf: pikepdf.Pdf) -> list[str]:
    """qpdf's own check (every object, every page's content streams), and the page tree."""
    problems = list(pdf.check_pdf_syntax())
    if not problems and len(pdf.pages) == 0:
        problems.append("the page tree holds no pages")
    return problems


def _pdfa_claim(pdf: pikepdf.Pdf) -> str:
    try:
        return pdf.open_metadata().pdfa_status or ""
    except Exception:  # unparseable XMP: no claim can be read
        return ""


def _claim_problem(puid: str | None, claim: str) -> Finding | None:
    expected = PDFA_CLAIMS.get(puid or "")
    if expected and claim != expected:
        said = f"claims PDF/A-{claim}" if claim else "has no PDF/A claim in its XMP metadata"
        return failed(f"identified as PDF/A-{expected} ({puid}) but {said}", "XMP metadata")
    if claim and not expected and puid is not None:
        return warned(f"XMP claims PDF/A-{claim} but the file was identified as {puid}", "XMP")
    return None


def _where(*messages: str) -> str | None:
    """The most useful place named by qpdf's messages: a page, else an object, else an offset."""
    for pattern, label in ((_PAGE, "page"), (_OBJECT, "object"), (_OFFSET, "offset")):
        for message in messages:
            if m := pattern.search(message):
                return f"{label} {m[1]}"
    return None


def _clean(message: str, path: Path) -> str:
    return message.replace(str(path), "").lstrip(": ").strip()


def _quote(messages: list[str], path: Path) -> str:
    shown = "; ".join(_clean(m, path) for m in messages[:SHOWN])
    more = f" (and {len(messages) - SHOWN} more)" if len(messages) > SHOWN else ""
    return shown + more
