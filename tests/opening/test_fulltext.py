"""The text layer of open files: PDF, OFD, DOCX, ODT, plain text; hostile files give nothing."""

from __future__ import annotations

import io
import zipfile

import pytest

from preserve.opening.fulltext import extract
from support.opening import text_pdf


def _zip(parts: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, body in parts.items():
            zf.writestr(name, body)
    return out.getvalue()


DOCX = _zip(
    {
        "word/document.xml": '<w:document xmlns:w="http://schemas.openxmlformats.org/'
        'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>关于港口</w:t></w:r>'
        "<w:r><w:t>灯塔</w:t></w:r></w:p><w:p><w:r><w:t>Second para</w:t></w:r></w:p>"
        "</w:body></w:document>"
    }
)
ODT = _zip(
    {
        "content.xml": '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:'
        'xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0">'
        "<office:body><office:text><text:p>开放档案 open text</text:p></office:text>"
        "</office:body></office:document-content>"
    }
)
OFD = _zip(
    {
        "OFD.xml": "<ofd:OFD xmlns:ofd='http://www.ofdspec.org/2016'/>",
        "Doc_0/Pages/Page_1/Content.xml": "<ofd:Page xmlns:ofd='http://www.ofdspec.org/2016'>"
        "<ofd:Content><ofd:Layer><ofd:TextObject><ofd:TextCode X='0' Y='0'>第二页</ofd:TextCode>"
        "</ofd:TextObject></ofd:Layer></ofd:Content></ofd:Page>",
        "Doc_0/Pages/Page_0/Content.xml": "<ofd:Page xmlns:ofd='http://www.ofdspec.org/2016'>"
        "<ofd:Content><ofd:Layer><ofd:TextObject>"
        "<ofd:TextCode X='0' Y='0'>第一页文字</ofd:TextCode>"
        "</ofd:TextObject></ofd:Layer></ofd:Content></ofd:Page>",
    }
)


@pytest.mark.parametrize(
    ("path", "data", "want"),
    [
        ("a.pdf", text_pdf("Lighthouse keeper ledger"), "Lighthouse keeper ledger"),
        ("a.docx", DOCX, "关于港口灯塔\nSecond para"),
        ("a.odt", ODT, "开放档案 open text"),
        ("a.ofd", OFD, "第一页文字\n第二页"),
        ("a.txt", "港口 日志\n\n  second  line ".encode(), "港口 日志\nsecond line"),
        ("a.txt", "港口".encode("gb18030"), "港口"),
    ],
)
def test_text_of_each_format(path, data, want):
    assert extract(path, data) == want


XXE = _zip(
    {
        "word/document.xml": '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM '
        '"file:///etc/passwd">]><w:document xmlns:w="http://schemas.openxmlformats.org/'
        'wordprocessingml/2006/main"><w:p><w:t>&x;</w:t></w:p></w:document>'
    }
)


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("a.pdf", b"%PDF-1.4 garbage"),
        ("a.docx", b"not a zip"),
        ("a.ofd", _zip({"Doc_0/Pages/Page_0/Content.xml": "<unclosed"})),
        ("a.docx", XXE),
        ("a.bin", b"\x00\x01"),
        ("a.html", b"<p>x</p>"),
    ],
)
def test_hostile_or_unknown_files_give_no_text(path, data):
    text = extract(path, data)
    assert "root:" not in text
    assert text == ""
