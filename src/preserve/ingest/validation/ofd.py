"""OFD (GB/T 33190-2016, 版式文档) packages: the ZIP opens, every part decompresses, ``OFD.xml``
and every document, page, template, resource, annotation and signature XML it reaches parses,
carries the elements and attributes the standard requires, and every ``ST_Loc`` reference
(``BaseLoc``, ``PublicRes``, ``DocumentRes``, ``FontFile``, ``MediaFile``, ...) resolves to a
part of the package. When the archive's profile names a folder of the standard's XSD files
(``validation.ofd_xsd_dir``), each part is also validated against ``<root element>.xsd``.

``ST_Loc`` paths are resolved as the standard says: one starting with ``/`` from the package
root, any other from the folder of the part that holds it (resource files from the resource
part's own ``BaseLoc`` folder).
"""

from __future__ import annotations

import posixpath
import zipfile
from xml.etree import ElementTree as ET

from preserve.ingest.validation import ofd_xsd
from preserve.ingest.validation.package import Package, PartError, local
from preserve.ingest.validation.result import Finding, Item, Limits, failed, passed

TOOL = "preserve OFD checker (GB/T 33190-2016 structure)"
NS = "http://www.ofdspec.org/2016"
MAX_PARTS = 100_000  # parts visited in one package


class Missing(Exception):
    def __init__(self, part: str, message: str) -> None:
        super().__init__(message)
        self.part = part


def q(name: str) -> str:
    return f"{{{NS}}}{name}"


def validate(item: Item, limits: Limits) -> Finding:
    try:
        with Package(item.path, limits.max_part_bytes) as package:
            checker = _Checker(package, limits)
            documents, pages = checker.run()
    except zipfile.BadZipFile as exc:
        return failed(f"the package does not open: {exc}", "ZIP")
    except (PartError, Missing) as exc:
        return failed(str(exc), exc.part)
    xsd = " and its XSD" if limits.ofd_xsd_dir else ""
    return passed(f"{documents} documents, {pages} pages; structure of GB/T 33190{xsd} met")


def resolve(base_part: str, loc: str) -> str:
    """An ``ST_Loc`` as a package member name."""
    loc = loc.strip().replace("\\", "/")
    if loc.startswith("/"):
        joined = loc.lstrip("/")
    else:
        joined = posixpath.join(posixpath.dirname(base_part), loc)
    return posixpath.normpath(joined).lstrip("/")


def required(element: ET.Element, part: str, *path: str) -> ET.Element:
    found = element
    for name in path:
        child = found.find(q(name))
        if child is None:
            raise Missing(part, f"required element {name} missing under {local(found.tag)}")
        found = child
    return found


def attribute(element: ET.Element, part: str, name: str) -> str:
    value = element.get(name)
    if not value:
        raise Missing(part, f"required attribute {name} missing on {local(element.tag)}")
    return value


class _Checker:
    def __init__(self, package: Package, limits: Limits) -> None:
        self.package = package
        self.limits = limits
        self.seen: set[str] = set()

    def part(self, name: str, root: str) -> ET.Element:
        """A referenced XML part: present, parses, has the expected root element."""
        if len(self.seen) > MAX_PARTS:
            raise Missing(name, f"more than {MAX_PARTS} parts referenced")
        self.seen.add(name)
        if not self.package.has(name):
            raise Missing(name, f"referenced {root} part is not in the package")
        element = self.package.xml(name)
        if element.tag != q(root):
            raise Missing(name, f"root element is {element.tag}, not ofd:{root}")
        if self.limits.ofd_xsd_dir:
            ofd_xsd.check(self.limits.ofd_xsd_dir, root, self.package.read(name), name)
        return element

    def file(self, base: str, loc: str, what: str) -> None:
        name = resolve(base, loc)
        if not self.package.has(name):
            raise Missing(name, f"{what} referenced from {base} is not in the package")

    def run(self) -> tuple[int, int]:
        self.package.check_crcs()
        root = self.part("OFD.xml", "OFD")
        attribute(root, "OFD.xml", "Version")
        if attribute(root, "OFD.xml", "DocType") != "OFD":
            raise Missing("OFD.xml", "DocType is not OFD")
        bodies = root.findall(q("DocBody"))
        if not bodies:
            raise Missing("OFD.xml", "required element DocBody missing under OFD")
        pages = 0
        for body in bodies:
            required(body, "OFD.xml", "DocInfo")
            doc_root = required(body, "OFD.xml", "DocRoot")
            pages += self.document(resolve("OFD.xml", doc_root.text or ""))
            signatures = body.find(q("Signatures"))
            if signatures is not None and signatures.text:
                self.signatures(resolve("OFD.xml", signatures.text))
        return len(bodies), pages

    def document(self, name: str) -> int:
        doc = self.part(name, "Document")
        common = required(doc, name, "CommonData")
        required(common, name, "PageArea")
        required(common, name, "MaxUnitID")
        for tag in ("PublicRes", "DocumentRes"):
            for res in common.findall(q(tag)):
                self.resources(resolve(name, res.text or ""))
        for template in common.findall(q("TemplatePage")):
            self.part(resolve(name, attribute(template, name, "BaseLoc")), "Page")
        page_list = required(doc, name, "Pages").findall(q("Page"))
        if not page_list:
            raise Missing(name, "required element Page missing under Pages")
        for page in page_list:
            attribute(page, name, "ID")
            self.page(resolve(name, attribute(page, name, "BaseLoc")))
        self.optional_parts(doc, name)
        return len(page_list)

    def page(self, name: str) -> None:
        page = self.part(name, "Page")
        for res in page.findall(q("PageRes")):
            self.resources(resolve(name, res.text or ""))

    def resources(self, name: str) -> None:
        if name in self.seen:
            return
        res = self.part(name, "Res")
        base = resolve(name, res.get("BaseLoc", "")) + "/" if res.get("BaseLoc") else name
        for tag in ("FontFile", "MediaFile"):
            for loc in res.iter(q(tag)):
                self.file(base, loc.text or "", tag)

    def optional_parts(self, doc: ET.Element, name: str) -> None:
        annotations = doc.find(q("Annotations"))
        if annotations is not None and annotations.text:
            listed = resolve(name, annotations.text)
            for page in self.part(listed, "Annotations").iter(q("FileLoc")):
                self.part(resolve(listed, page.text or ""), "PageAnnot")
        for tag, root in (("Attachments", "Attachments"), ("CustomTags", "CustomTags")):
            element = doc.find(q(tag))
            if element is not None and element.text:
                self.part(resolve(name, element.text), root)

    def signatures(self, name: str) -> None:
        for signature in self.part(name, "Signatures").findall(q("Signature")):
            signed = resolve(name, attribute(signature, name, "BaseLoc"))
            value = required(self.part(signed, "Signature"), signed, "SignedValue")
            self.file(signed, value.text or "", "SignedValue")
