"""Plain text and XML.

Text: the whole file decodes in its declared encoding, streamed (constant memory). The
encoding is declared by a byte-order mark (UTF-8, UTF-16, UTF-32) or, failing that, is
detected: UTF-8 when every byte decodes as UTF-8, else GB18030. A file labelled UTF-8 (by its
BOM) that is not UTF-8 fails at the first bad byte, naming the offset and, when the bytes are
GB18030, saying so. XML: the document is well formed, decoded in the encoding its declaration
names (expat; external entities are never fetched).
"""

from __future__ import annotations

import codecs
from pathlib import Path
from xml.parsers import expat

from preserve.ingest.validation.result import Finding, Item, Limits, failed, passed

TOOL = "preserve text checker (Python codecs, expat)"
CHUNK = 1 << 20
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def declared(path: Path) -> str | None:
    with path.open("rb") as f:
        head = f.read(4)
    return next((name for bom, name in _BOMS if head.startswith(bom)), None)


def first_error(path: Path, encoding: str, skip: int = 0) -> tuple[int, str] | None:
    """The byte offset and reason of the first undecodable byte, or None if all decodes."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = skip
    with path.open("rb") as f:
        f.seek(skip)
        while True:
            chunk = f.read(CHUNK)
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                return offset - pending + exc.start, exc.reason
            if not chunk:
                return None
            offset += len(chunk)


def validate_text(item: Item, limits: Limits) -> Finding:
    label = declared(item.path)
    if label is not None:
        error = first_error(item.path, label)
        if error is None:
            return passed(f"decodes as {_name(label)} (declared by its byte-order mark)")
        bom = len(codecs.BOM_UTF8) if label == "utf-8" else 0
        gb18030 = bom and first_error(item.path, "gb18030", bom) is None
        hint = "; after its BOM it decodes as GB18030" if gb18030 else ""
        return failed(f"labelled {_name(label)} but is not: {error[1]}{hint}", f"offset {error[0]}")
    for encoding in ("utf-8", "gb18030"):
        error = first_error(item.path, encoding)
        if error is None:
            return passed(f"decodes as {_name(encoding)} (detected)")
    return failed(f"decodes neither as UTF-8 nor GB18030: {error[1]}", f"offset {error[0]}")


def validate_xml(item: Item, limits: Limits) -> Finding:
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        with item.path.open("rb") as f:
            parser.ParseFile(f)
    except expat.ExpatError as exc:
        where = f"line {exc.lineno}, column {exc.offset}, offset {parser.CurrentByteIndex}"
        return failed(f"not well-formed XML: {expat.errors.messages[exc.code]}", where)
    return passed("well-formed XML")


def _name(encoding: str) -> str:
    return {"utf-8-sig": "UTF-8", "gb18030": "GB18030"}.get(encoding, encoding.upper())
