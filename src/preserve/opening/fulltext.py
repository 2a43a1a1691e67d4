"""The text layer of an open record's files, for full-text search and reading online.

Only ever run for open records (the ``opening.fulltext`` job, enqueued by an approval), never
on ingest. Formats: PDF (pypdf), OFD (the TextCode elements of its pages, GB/T 33190), DOCX
(WordprocessingML ``w:t``), ODT (``content.xml``), plain text (UTF-8, else GB 18030). Anything
else, or a file that does not parse, gives no text: extraction never fails a job.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile

from lxml import etree

log = logging.getLogger(__name__)

MAX_TEXT = 2_000_000
MAX_XML_PART = 64 * 1024 * 1024
_TEXT_SUFFIXES = (".txt", ".csv", ".md")
_OFD_PAGE = re.compile(r"(^|/)Pages/Page_\d+/Content\.xml$", re.IGNORECASE)
_SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def extract(path: str, data: bytes) -> str:
    name = path.lower()
    try:
        if name.endswith(".pdf") or data.startswith(b"%PDF"):
            text = _pdf(data)
        elif name.endswith(".ofd"):
            text = _zip_xml(data, lambda n: bool(_OFD_PAGE.search(n)), "TextCode")
        elif name.endswith(".docx"):
            text = _zip_xml(data, lambda n: n == "word/document.xml", "t", paragraph="p")
        elif name.endswith(".odt"):
            text = _zip_xml(data, lambda n: n == "content.xml", None, paragraph="p")
        elif name.endswith(_TEXT_SUFFIXES):
            text = _plain(data)
        else:
            return ""
    except Exception as exc:  # a file that does not parse has no text layer for us
        log.info("no text from %s: %s", path, type(exc).__name__)
        return ""
    return _tidy(text)[:MAX_TEXT]


def _pdf(data: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    parts = []
    for page in reader.pages:
        parts.append(page.extract_text() or "")
        if sum(map(len, parts)) > MAX_TEXT:
            break
    return "\n".join(parts)


def _zip_xml(data: bytes, wanted, element: str | None, paragraph: str | None = None) -> str:
    parts: list[str] = []
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in sorted(zf.infolist(), key=lambda i: _page_order(i.filename)):
            if not wanted(info.filename) or info.file_size > MAX_XML_PART:
                continue
            root = etree.fromstring(zf.read(info), _SAFE_XML)
            parts.append(_xml_text(root, element, paragraph))
    return "\n".join(parts)


def _page_order(name: str) -> tuple[int, str]:
    found = re.search(r"Page_(\d+)", name)
    return (int(found.group(1)) if found else 0, name)


def _xml_text(root, element: str | None, paragraph: str | None) -> str:
    """Text of ``element`` nodes (any namespace), a line per ``paragraph``; all text if no
    element is named."""
    lines: list[str] = []
    current: list[str] = []
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        local = etree.QName(node).localname
        if paragraph and local == paragraph and current:
            lines.append("".join(current))
            current = []
        if element is None:
            current.extend(t for t in (node.text, node.tail) if t)
        elif local == element and node.text:
            current.append(node.text)
    lines.append("".join(current))
    return "\n".join(lines)


def _plain(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", "replace")


def _tidy(text: str) -> str:
    return "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())
