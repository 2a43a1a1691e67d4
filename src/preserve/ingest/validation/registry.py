"""Which validator looks at a file: by its PRONOM PUID, else by the MIME type of its match.

Families: ``pdf``, ``image``, ``ofd``, ``ooxml``, ``odf``, ``text``, ``xml``, ``av``. A file of
no family (or not identified) gets no validator and is reported as ``warn``: not checked.
The ingest profile decides per family or PUID whether a failure rejects (:mod:`.policy`).
"""

from __future__ import annotations

from collections.abc import Callable

from preserve.ingest.validation.result import Finding, Item, Limits

Validator = Callable[[Item, Limits], Finding]

_TABLE = {
    "pdf": "fmt/14 fmt/15 fmt/16 fmt/17 fmt/18 fmt/19 fmt/20 fmt/276 fmt/1129 fmt/95 fmt/354"
    " fmt/476 fmt/477 fmt/478 fmt/479 fmt/480 fmt/481 fmt/144 fmt/145 fmt/146 fmt/147 fmt/148"
    " fmt/157 fmt/158 fmt/488 fmt/489 fmt/490 fmt/491 fmt/492 fmt/493",
    "image": "fmt/11 fmt/12 fmt/13 fmt/935 fmt/41 fmt/42 fmt/43 fmt/44 fmt/645 x-fmt/398"
    " x-fmt/390 x-fmt/391 fmt/353 fmt/7 fmt/8 fmt/9 fmt/10 fmt/152 x-fmt/392 fmt/151"
    " fmt/463 fmt/3 fmt/4 fmt/114 fmt/115 fmt/116 fmt/117 fmt/118 fmt/119 x-fmt/270"
    " fmt/566 fmt/567 fmt/568",
    "ofd": "preserve-fmt/ofd",
    "ooxml": "fmt/412 fmt/214 fmt/215 fmt/189 fmt/523 fmt/445 fmt/487",
    "odf": "fmt/136 fmt/137 fmt/138 fmt/139 fmt/140 fmt/290 fmt/291 fmt/292 fmt/293 fmt/294"
    " fmt/295 fmt/296",
    "text": "x-fmt/111 x-fmt/18 x-fmt/16 x-fmt/21 x-fmt/22",
    "xml": "fmt/101 x-fmt/280",
}
_PUIDS = {puid: family for family, puids in _TABLE.items() for puid in puids.split()}
_MIME_PREFIXES = (
    ("application/pdf", "pdf"),
    ("image/svg", None),
    ("image/", "image"),
    ("application/ofd", "ofd"),
    ("application/vnd.openxmlformats-officedocument.", "ooxml"),
    ("application/vnd.oasis.opendocument.", "odf"),
    ("text/xml", "xml"),
    ("application/xml", "xml"),
    ("text/", "text"),
    ("audio/", "av"),
    ("video/", "av"),
)


def family_of(puid: str | None, mime: str | None) -> str | None:
    if puid in _PUIDS:
        return _PUIDS[puid]
    for prefix, family in _MIME_PREFIXES:
        if mime and mime.startswith(prefix):
            return family
    return None


def validator(family: str) -> tuple[Validator, str]:
    """The validating function of a family and its tool string (imported on first use, so a
    process pays only for the libraries it needs)."""
    if family == "pdf":
        from preserve.ingest.validation import pdf

        return pdf.validate, pdf.TOOL
    if family == "image":
        from preserve.ingest.validation import image

        return image.validate, image.TOOL
    if family == "ofd":
        from preserve.ingest.validation import ofd

        return ofd.validate, ofd.TOOL
    if family in ("ooxml", "odf"):
        from preserve.ingest.validation import office

        return (office.validate_ooxml if family == "ooxml" else office.validate_odf), office.TOOL
    if family in ("text", "xml"):
        from preserve.ingest.validation import text

        return (text.validate_text if family == "text" else text.validate_xml), text.TOOL
    if family == "av":
        from preserve.ingest.validation import av

        return av.validate, av.tool()
    raise KeyError(family)
