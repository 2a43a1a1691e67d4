"""OOXML (ISO/IEC 29500: docx, xlsx, pptx) and ODF (ISO/IEC 26300: odt, ods, odp) packages:
the ZIP opens, every member decompresses with its CRC, and the parts that make the document
parse: ``[Content_Types].xml``, ``_rels/.rels`` and the main part it points to; or
``mimetype``, ``META-INF/manifest.xml``, ``content.xml`` and ``styles.xml``."""

from __future__ import annotations

import posixpath
import zipfile

from preserve.ingest.validation.package import Package, PartError, local
from preserve.ingest.validation.result import Finding, Item, Limits, failed, passed

TOOL = "preserve package checker (zipfile + expat)"
OFFICE_DOCUMENT = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument",
    "http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument",
)


def validate_ooxml(item: Item, limits: Limits) -> Finding:
    return _run(item, limits, _ooxml)


def validate_odf(item: Item, limits: Limits) -> Finding:
    return _run(item, limits, _odf)


def _run(item: Item, limits: Limits, check) -> Finding:
    try:
        with Package(item.path, limits.max_part_bytes) as package:
            package.check_crcs()
            detail = check(package)
    except zipfile.BadZipFile as exc:
        return failed(f"the package does not open: {exc}", "ZIP")
    except PartError as exc:
        return failed(str(exc), exc.part)
    return passed(detail)


def _ooxml(package: Package) -> str:
    package.xml("[Content_Types].xml")
    rels = package.xml("_rels/.rels")
    targets = [
        r.get("Target", "")
        for r in rels
        if local(r.tag) == "Relationship" and r.get("Type") in OFFICE_DOCUMENT
    ]
    if not targets:
        raise PartError("_rels/.rels", "no officeDocument relationship: no main part")
    main = posixpath.normpath(targets[0].lstrip("/"))
    package.xml(main)
    return f"container opens; main part {main} parses"


def _odf(package: Package) -> str:
    mimetype = package.read("mimetype").decode("ascii", "replace").strip()
    package.xml("META-INF/manifest.xml")
    for part in ("content.xml", "styles.xml"):
        if package.has(part) or part == "content.xml":
            package.xml(part)
    return f"container opens ({mimetype}); content.xml and styles.xml parse"
