"""Real files for the check 3-4 tests, made on the spot: good and broken PDFs, images, OFD,
OOXML and ODF packages, and text in UTF-8 and GB18030."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import pikepdf
from PIL import Image

OFD_NS = "http://www.ofdspec.org/2016"


def pdf(pages: int = 3, pdfa: str | None = None) -> bytes:
    """A sound PDF with text on every page; ``pdfa`` ("1B", "2U", ...) claimed in its XMP."""
    doc = pikepdf.Pdf.new()
    font = pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
    )
    for n in range(pages):
        doc.add_blank_page()
        page = doc.pages[n]
        page.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
        page.Contents = doc.make_stream(b"BT /F1 12 Tf 72 712 Td (page %d) Tj ET" % n)
    if pdfa:
        with doc.open_metadata(set_pikepdf_as_editor=False) as meta:
            meta["pdfaid:part"] = pdfa[0]
            meta["pdfaid:conformance"] = pdfa[1:]
    out = io.BytesIO()
    doc.save(out, object_stream_mode=pikepdf.ObjectStreamMode.disable)
    return out.getvalue()


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def without_xref(data: bytes) -> bytes:
    return data[: data.rindex(b"xref")] + b"%%EOF\n"


def damaged_page(data: bytes) -> bytes:
    """The first page's compressed content stream overwritten in the middle."""
    start = data.index(b"stream\n", data.index(b"/FlateDecode")) + len(b"stream\n")
    return data[: start + 2] + b"X" * 8 + data[start + 10 :]


def image(fmt: str, size: tuple[int, int] = (64, 48), frames: int = 1) -> bytes:
    pictures = [Image.new("RGB", size, (40 * n % 256, 90, 160)) for n in range(frames)]
    out = io.BytesIO()
    extra = {"save_all": True, "append_images": pictures[1:]} if frames > 1 else {}
    pictures[0].save(out, fmt, **extra)
    return out.getvalue()


def png_bomb(width: int = 30_000, height: int = 30_000) -> bytes:
    """A ~100 KB PNG declaring 900 million 1-bit pixels of zeros."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    row = b"\x00" * (1 + (width + 7) // 8)
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def _zip(parts: dict[str, bytes | str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in parts.items():
            z.writestr(name, body)
    return out.getvalue()


def ofd(*, drop: str | None = None, without_element: str | None = None) -> bytes:
    """A two-page OFD (GB/T 33190) with a font resource; ``drop`` leaves that part out,
    ``without_element`` removes that element from Document.xml."""
    ns = f'xmlns:ofd="{OFD_NS}"'
    common = (
        "<ofd:CommonData><ofd:MaxUnitID>10</ofd:MaxUnitID>"
        "<ofd:PageArea><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox></ofd:PageArea>"
        "<ofd:PublicRes>PublicRes.xml</ofd:PublicRes></ofd:CommonData>"
    )
    pages = (
        '<ofd:Pages><ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/>'
        '<ofd:Page ID="2" BaseLoc="Pages/Page_1/Content.xml"/></ofd:Pages>'
    )
    if without_element == "CommonData":
        common = ""
    if without_element == "Pages":
        pages = ""
    page = (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page {ns}><ofd:Content><ofd:Layer ID="3">'
        '<ofd:TextObject ID="4" Boundary="10 10 100 20" Font="5" Size="5">'
        '<ofd:TextCode X="0" Y="5">档案</ofd:TextCode></ofd:TextObject>'
        "</ofd:Layer></ofd:Content></ofd:Page>"
    )
    parts: dict[str, bytes | str] = {
        "OFD.xml": f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD {ns} Version="1.0" '
        'DocType="OFD"><ofd:DocBody><ofd:DocInfo><ofd:DocID>0C1D4F7159954EEEDE517F7285E84DC4'
        "</ofd:DocID></ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot>"
        "</ofd:DocBody></ofd:OFD>",
        "Doc_0/Document.xml": f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document {ns}>'
        f"{common}{pages}</ofd:Document>",
        "Doc_0/PublicRes.xml": f'<?xml version="1.0" encoding="UTF-8"?><ofd:Res {ns} '
        'BaseLoc="Res"><ofd:Fonts><ofd:Font ID="5" FontName="SimSun">'
        "<ofd:FontFile>font_5.ttf</ofd:FontFile></ofd:Font></ofd:Fonts></ofd:Res>",
        "Doc_0/Res/font_5.ttf": b"\x00\x01\x00\x00" + b"\x00" * 60,
        "Doc_0/Pages/Page_0/Content.xml": page,
        "Doc_0/Pages/Page_1/Content.xml": page,
    }
    if drop:
        del parts[drop]
    return _zip(parts)


def docx(main: str | None = None) -> bytes:
    body = main or (
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        "<w:body><w:p><w:r><w:t>档案</w:t></w:r></w:p></w:body></w:document>"
    )
    return _zip(
        {
            "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="xml" ContentType="application/xml"/></Types>',
            "_rels/.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
            'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
            "</Relationships>",
            "word/document.xml": body,
        }
    )


def odt(content: str | None = None) -> bytes:
    office = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
    return _zip(
        {
            "mimetype": "application/vnd.oasis.opendocument.text",
            "META-INF/manifest.xml": '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:'
            'opendocument:xmlns:manifest:1.0"/>',
            "content.xml": content or f'<office:document-content xmlns:office="{office}"/>',
            "styles.xml": f'<office:document-styles xmlns:office="{office}"/>',
        }
    )


TEXT = "关于2024年档案工作的通知：请各单位按时移交电子档案。\n" * 50
