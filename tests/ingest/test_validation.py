"""Check 3-4 validators on real files made here: each broken file gets the outcome and the
place it is broken at; the caps stop a hanging validator and a memory-hungry one."""

from __future__ import annotations

import os
import time

import pytest
import validation_files as make

from preserve.ingest.checks import Result
from preserve.ingest.validation import Item, Limits, Validation, validate_many, validate_one
from preserve.ingest.validation.policy import ValidationPolicy

GOOD_PDF = make.pdf()
CASES = [
    # name, bytes, puid, mime, outcome, where contains
    ("good.pdf", GOOD_PDF, "fmt/18", None, "pass", None),
    ("truncated.pdf", make.truncated(GOOD_PDF), "fmt/18", None, "fail", "object"),
    ("no-xref.pdf", make.without_xref(GOOD_PDF), "fmt/18", None, "warn", "xref"),
    ("damaged-page.pdf", make.damaged_page(GOOD_PDF), "fmt/18", None, "fail", "page 1"),
    ("pdfa-1b.pdf", make.pdf(pdfa="1B"), "fmt/354", None, "pass", None),
    ("pdfa-claim-1b-puid-2b.pdf", make.pdf(pdfa="1B"), "fmt/477", None, "fail", "XMP"),
    ("pdfa-puid-no-claim.pdf", GOOD_PDF, "fmt/354", None, "fail", "XMP"),
    ("pdfa-claim-plain-puid.pdf", make.pdf(pdfa="2B"), "fmt/18", None, "warn", "XMP"),
    ("intact.png", make.image("PNG"), "fmt/11", None, "pass", None),
    ("truncated.png", make.truncated(make.image("PNG", (300, 300))), "fmt/11", None, "fail", "frame 1"),  # noqa: E501
    ("intact.jpg", make.image("JPEG"), "fmt/43", None, "pass", None),
    ("truncated.jpg", make.truncated(make.image("JPEG", (300, 300))), "fmt/43", None, "fail", "frame"),  # noqa: E501
    ("pages.tif", make.image("TIFF", frames=3), "fmt/353", None, "pass", None),
    ("pages-cut.tif", make.truncated(make.image("TIFF", (200, 200), frames=3)), "fmt/353", None, "fail", "frame 2"),  # noqa: E501
    ("intact.jp2", make.image("JPEG2000"), "x-fmt/392", None, "pass", None),
    ("bomb.png", make.png_bomb(), "fmt/12", None, "fail", "header"),
    ("good.ofd", make.ofd(), "preserve-fmt/ofd", None, "pass", None),
    ("page-missing.ofd", make.ofd(drop="Doc_0/Pages/Page_1/Content.xml"), "preserve-fmt/ofd", None, "fail", "Page_1"),  # noqa: E501
    ("no-commondata.ofd", make.ofd(without_element="CommonData"), "preserve-fmt/ofd", None, "fail", "Document.xml"),  # noqa: E501
    ("no-pages.ofd", make.ofd(without_element="Pages"), "preserve-fmt/ofd", None, "fail", "Document.xml"),  # noqa: E501
    ("font-missing.ofd", make.ofd(drop="Doc_0/Res/font_5.ttf"), "preserve-fmt/ofd", None, "fail", "font_5.ttf"),  # noqa: E501
    ("no-ofd-xml.ofd", make.ofd(drop="OFD.xml"), "preserve-fmt/ofd", None, "fail", "OFD.xml"),
    ("good.docx", make.docx(), "fmt/412", None, "pass", None),
    ("broken.docx", make.docx("<w:document"), "fmt/412", None, "fail", "word/document.xml"),
    ("good.odt", make.odt(), "fmt/290", None, "pass", None),
    ("broken.odt", make.odt("<office:document-content>"), "fmt/290", None, "fail", "content.xml"),
    ("utf8.txt", make.TEXT.encode(), "x-fmt/111", None, "pass", None),
    ("gb18030.txt", make.TEXT.encode("gb18030"), "x-fmt/111", None, "pass", None),
    ("gb18030-labelled-utf8.txt", b"\xef\xbb\xbf" + make.TEXT.encode("gb18030"), "x-fmt/111", None, "fail", "offset 3"),  # noqa: E501
    ("gb18030-declared-utf8.xml", b'<?xml version="1.0" encoding="UTF-8"?><a>' + make.TEXT.encode("gb18030") + b"</a>", "fmt/101", None, "fail", "offset 41"),  # noqa: E501
    ("no-validator.bin", b"\x00\x01", None, None, "warn", None),
]  # fmt: skip


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, Validation]:
    folder = tmp_path_factory.mktemp("files")
    items = []
    for name, data, puid, mime, _, _ in CASES:
        (folder / name).write_bytes(data)
        items.append(Item(folder / name, name, puid, mime))
    found = {v.path: v for v in validate_many(items, Limits(), workers=2)}
    for v in found.values():  # the agency sees the detail: never the server's own paths
        assert str(folder) not in v.detail, v
    return found


@pytest.mark.parametrize(("name", "outcome", "where"), [(c[0], c[4], c[5]) for c in CASES])
def test_each_file_gets_its_outcome_and_where_it_is_broken(results, name, outcome, where):
    found = results[name]
    assert found.outcome == Result(outcome), found
    if where:
        assert where in (found.where or ""), found
    if found.family:
        assert found.tool, found  # the tool and its version are named


def test_gb18030_labelled_utf8_says_what_it_really_is(results):
    assert "GB18030" in results["gb18030-labelled-utf8.txt"].detail


def test_pdf_tool_names_its_versions(results):
    assert results["good.pdf"].tool.startswith("pikepdf ") and "qpdf" in results["good.pdf"].tool


def test_audio_without_ffprobe_is_a_warning(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    from preserve.ingest.validation import av

    av.ffprobe.cache_clear()
    try:
        (tmp_path / "a.mp3").write_bytes(b"ID3" + b"\x00" * 64)
        found = validate_one(Item(tmp_path / "a.mp3", "a.mp3", "fmt/134", "audio/mpeg"), Limits())
    finally:
        av.ffprobe.cache_clear()
    assert found.outcome == Result.WARN and "ffprobe" in found.detail


def test_ofd_parts_are_checked_against_the_profiles_xsd(tmp_path):
    (tmp_path / "Page.xsd").write_text(
        f'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="{make.OFD_NS}"'
        ' elementFormDefault="qualified"><xs:element name="Page"><xs:complexType><xs:sequence>'
        '<xs:element name="Area"/></xs:sequence></xs:complexType></xs:element></xs:schema>'
    )
    (tmp_path / "a.ofd").write_bytes(make.ofd())
    item = Item(tmp_path / "a.ofd", "a.ofd", "preserve-fmt/ofd")
    found = validate_one(item, Limits(ofd_xsd_dir=tmp_path))
    assert found.outcome == Result.FAIL and "Page.xsd" in found.detail, found
    assert validate_one(item, Limits()).outcome == Result.PASS


def hang(item: Item, limits: Limits) -> Validation:
    """A validator that never answers (a test runner, imported by the child by name)."""
    if item.shown.startswith("hang"):
        time.sleep(3600)
    return validate_one(item, limits)


def hog(item: Item, limits: Limits) -> Validation:
    """A validator that asks for more memory than its cap."""
    return validate_one(Item(item.path, item.shown, "fmt/11"), limits)


def test_a_hanging_validator_is_stopped_at_its_cap_and_the_rest_go_on(tmp_path):
    items = []
    for name in ("before.txt", "hang.txt", "after.txt"):
        (tmp_path / name).write_text("档案\n", encoding="utf-8")
        items.append(Item(tmp_path / name, name, "x-fmt/111"))
    found = validate_many(items, Limits(timeout_seconds=1), workers=1, runner=hang)
    assert [v.outcome for v in found] == [Result.PASS, Result.FAIL, Result.PASS]
    assert "time cap" in found[1].detail


def test_a_bomb_without_the_pixel_limit_meets_the_memory_cap_not_the_machine(tmp_path):
    (tmp_path / "bomb.png").write_bytes(make.png_bomb(40_000, 40_000))
    limits = Limits(memory_bytes=512 * 2**20, max_image_pixels=None)
    found = validate_many([Item(tmp_path / "bomb.png", "bomb.png", "fmt/11")], limits, 1, hog)
    assert found[0].outcome == Result.FAIL, found
    assert "memory" in found[0].detail or "died" in found[0].detail, found


def test_the_profile_decides_which_failures_reject():
    policy = ValidationPolicy.from_document({"on_failure": {"fmt/18": "warn", "text": "fail"}})
    assert policy.disposition("fmt/18", "pdf") == Result.WARN
    assert policy.disposition("fmt/276", "pdf") == Result.FAIL
    assert policy.disposition("fmt/11", "image") == Result.FAIL
    assert policy.disposition("preserve-fmt/ofd", "ofd") == Result.FAIL
    assert policy.disposition("x-fmt/111", "text") == Result.FAIL
    assert policy.disposition("fmt/412", "ooxml") == Result.WARN


def which_process(item: Item, limits: Limits) -> Validation:
    """Answers with the validating process's id in its detail (a test runner)."""
    return Validation(item.shown, item.puid, "text", Result.PASS, str(os.getpid()), "test")


def test_a_child_that_finished_cleanly_serves_the_next_call_and_a_stopped_one_never(tmp_path):
    (tmp_path / "a.txt").write_text("档案\n", encoding="utf-8")
    item = Item(tmp_path / "a.txt", "a.txt", "x-fmt/111")
    limits = Limits(timeout_seconds=30)
    first = validate_many([item], limits, workers=1, runner=which_process)[0].detail
    again = validate_many([item], limits, workers=1, runner=which_process)[0].detail
    assert again == first and first != str(os.getpid())

    hung = Item(tmp_path / "a.txt", "hang.txt", "x-fmt/111")
    stopped = validate_many([hung], Limits(timeout_seconds=1), workers=1, runner=hang)
    assert "time cap" in stopped[0].detail
    after = validate_many([item], Limits(timeout_seconds=1), workers=1, runner=hang)
    assert after[0].outcome == Result.PASS  # a new child: the stopped one is gone
