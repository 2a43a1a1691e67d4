"""Validating OFD parts against the XSD files of GB/T 33190 that an archive supplies.

The standard's schemas are not redistributable here; a profile names a folder holding them
(``OFD.xsd``, ``Document.xsd``, ``Page.xsd``, ``Res.xsd``, ...) and each part is checked against
the file named after its root element, when there is one. Schemas are compiled once per
process; parsing never touches the network nor resolves entities.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from lxml import etree

from preserve.ingest.validation.package import PartError


@cache
def _schema(folder: Path, root: str) -> etree.XMLSchema | None:
    path = folder / f"{root}.xsd"
    if not path.is_file():
        return None
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.XMLSchema(etree.parse(str(path), parser))


def check(folder: Path, root: str, data: bytes, part: str) -> None:
    schema = _schema(Path(folder), root)
    if schema is None:
        return
    parser = etree.XMLParser(no_network=True, resolve_entities=False, huge_tree=False)
    document = etree.fromstring(data, parser).getroottree()
    if not schema.validate(document):
        error = schema.error_log.last_error
        raise PartError(part, f"not valid against {root}.xsd: line {error.line}: {error.message}")
