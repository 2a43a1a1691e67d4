"""Each metadata, format and encryption check with a passing and a failing input; safe
unpacking of archive members, with property tests on member names."""

from __future__ import annotations

import datetime as dt
import io
import tarfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from preserve.ingest import archive as arc
from preserve.ingest.bagin import unpack_bag
from preserve.ingest.checks import Report, Result
from preserve.ingest.encryption import encryption_problem
from preserve.ingest.metadata import check_metadata, normalize
from preserve.ingest.profile import SHIPPED, load_profile
from support.records import MINIMAL_PDF, metadata

TODAY = dt.date(2025, 6, 1)
PROFILE = load_profile(Path("/nonexistent"), "agency")


def outcomes(doc: dict) -> dict[str, list[tuple[str, str]]]:
    normalized, conflicts = normalize(doc)
    found: dict[str, list[tuple[str, str]]] = {}
    for check in check_metadata(normalized, conflicts, PROFILE, TODAY):
        found.setdefault(check.code, []).append((check.outcome.value, check.detail))
    return found


def worst(doc: dict, code: str) -> str:
    values = {o for o, _ in outcomes(doc)[code]}
    return "fail" if "fail" in values else "warn" if "warn" in values else "pass"


FULL = metadata(fonds="A001", year="2024", classification="公开")


def test_the_full_da_t_46_core_passes_every_metadata_check():
    found = outcomes(FULL)
    assert all(o == "pass" for items in found.values() for o, _ in items), found


def test_the_foundations_minimal_metadata_is_accepted_with_warnings_for_missing_items():
    found = outcomes(metadata())
    assert worst(metadata(), "2-3") == "warn"
    assert "fonds (全宗号)" in found["2-3"][0][1] and "classification (密级)" in found["2-3"][0][1]
    assert not [c for items in found.values() for c in items if c[0] == "fail"]


def test_chinese_field_names_and_values_are_accepted_and_mapped():
    doc = {
        "题名": "关于档案工作的通知",
        "责任者": "省档案局",
        "日期": "20240301",
        "保管期限": "永久",
        "档号": "A001-WS-2024-Y-0001",
        "全宗号": "A001",
        "年度": 2024,
        "密级": "内部",
    }
    normalized, conflicts = normalize(doc)
    assert normalized["retention"] == "permanent" and normalized["date"] == "2024-03-01"
    assert normalized["year"] == "2024" and not conflicts
    assert all(o == "pass" for items in outcomes(doc).values() for o, _ in items)


@pytest.mark.parametrize(
    ("change", "code", "needle"),
    [
        ({"creator": None}, "2-3", "creator"),
        ({"title": "   "}, "2-4", "title"),
        ({"title": "x" * 2001}, "1-2", "title"),
        ({"date": "yesterday"}, "1-3", "date"),
        ({"retention": "forever"}, "1-4", "retention"),
        ({"classification": "unknown"}, "1-4", "classification"),
        ({"date": "2099-01-01"}, "1-5", "future"),
        ({"year": "2023"}, "1-5", "year"),
        ({"title": "通知\x07"}, "1-6", "control"),
        ({"creator": "abc\u202edef"}, "1-6", "bidirectional"),
        ({"title": "通知\ufffd"}, "1-6", "U+FFFD"),
        ({"archival_code": "A001/WS/2024"}, "1-7", "does not match"),
        ({"archival_code": "A0012024"}, "1-7", "does not match"),
        ({"档号": "B002-WS-2024-Y-0001"}, "1-3", "twice"),
    ],
)
def test_each_metadata_check_fails_on_a_bad_value(change, code, needle):
    doc = {k: v for k, v in {**FULL, **change}.items() if v is not None}
    assert worst(doc, code) == "fail", outcomes(doc)
    assert any(needle in detail for o, detail in outcomes(doc)[code] if o == "fail")


@pytest.mark.parametrize(
    ("change", "code"),
    [({"title": "通知\u200b"}, "1-6"), ({"fonds": "B009"}, "1-7")],
)
def test_some_findings_are_warnings(change, code):
    assert worst({**FULL, **change}, code) == "warn"


def test_archival_code_pattern_is_configurable(tmp_path):
    (tmp_path / "ingest").mkdir()
    (tmp_path / "ingest" / "agency-x.json").write_text('{"archival_code_pattern": "^X-\\\\d+$"}')
    profile = load_profile(tmp_path, "agency-x")
    assert profile.name == "agency-x"
    normalized, _ = normalize(metadata(archival_code="X-42"))
    assert {
        c.outcome for c in check_metadata(normalized, [], profile, TODAY) if c.code == "1-7"
    } == {Result.PASS}
    assert load_profile(tmp_path, "other").archival_code_pattern.pattern != "^X-\\d+$"


@pytest.mark.parametrize(
    ("puid", "outcome"),
    [
        ("fmt/354", Result.PASS),  # PDF/A-1b: preferred
        ("preserve-fmt/ofd", Result.PASS),
        ("fmt/18", Result.PASS),  # PDF 1.4: accepted
        ("x-fmt/411", Result.FAIL),  # Windows executable: rejected
        ("fmt/9999", Result.WARN),  # not listed
        (None, Result.WARN),  # not identified
    ],
)
def test_format_policy_judges_each_puid(puid, outcome):
    assert PROFILE.format_policy.judge(puid)[0] == outcome
    assert SHIPPED.is_file()


# --- 3-8: encryption ------------------------------------------------------------------------


def test_an_encrypted_pdf_is_found_and_a_plain_one_is_not(tmp_path):
    plain = tmp_path / "plain.pdf"
    plain.write_bytes(MINIMAL_PDF)
    encrypted = tmp_path / "encrypted.pdf"
    encrypted.write_bytes(
        MINIMAL_PDF.replace(
            b"trailer<</Size 4/Root 1 0 R>>", b"trailer<</Size 5/Root 1 0 R/Encrypt 4 0 R>>"
        )
    )
    assert encryption_problem(plain) is None
    assert "Encrypt" in encryption_problem(encrypted)


def test_a_password_protected_zip_entry_is_found(tmp_path):
    def make(path: Path, protect: bool) -> Path:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("content.xml", b"<doc/>")
        data = bytearray(buffer.getvalue())
        if protect:  # the traditional PKWARE encryption flag, in both headers
            for magic, at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
                start = data.index(magic) + at
                data[start] |= 0x1
        path.write_bytes(bytes(data))
        return path

    assert encryption_problem(make(tmp_path / "plain.zip", False)) is None
    assert "password-protected" in encryption_problem(make(tmp_path / "locked.zip", True))


def test_a_password_protected_opendocument_is_found(tmp_path):
    def make(path: Path, manifest: bytes) -> Path:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("mimetype", b"application/vnd.oasis.opendocument.text")
            archive.writestr("META-INF/manifest.xml", manifest)
        return path

    assert encryption_problem(make(tmp_path / "a.odt", b"<manifest:manifest/>")) is None
    locked = make(tmp_path / "b.odt", b"<manifest:encryption-data manifest:checksum='x'/>")
    assert "OpenDocument" in encryption_problem(locked)


def test_a_word_97_document_with_fencrypted_is_found(tmp_path):
    import olefile

    from support.corpora import corpus

    suite = corpus("siegfried-skeleton-suite-pronom-v116")
    source = next(p for p in suite.rglob("*") if p.is_file() and _word_stream(p))
    plain = tmp_path / "plain.doc"
    plain.write_bytes(source.read_bytes())
    locked = tmp_path / "locked.doc"
    locked.write_bytes(source.read_bytes())
    with olefile.OleFileIO(str(locked), write_mode=True) as ole:
        fib = bytearray(ole.openstream("WordDocument").read())
        fib[10:12] = (int.from_bytes(fib[10:12], "little") | 0x0100).to_bytes(2, "little")
        ole.write_stream("WordDocument", bytes(fib))
    assert encryption_problem(plain) is None
    assert "fEncrypted" in encryption_problem(locked)


def _word_stream(path: Path) -> bool:
    import olefile

    try:
        if not olefile.isOleFile(str(path)):
            return False
        with olefile.OleFileIO(str(path)) as ole:
            if not ole.exists("WordDocument") or ole.get_size("WordDocument") < 12:
                return False
            return not ole.openstream("WordDocument").read(12)[11] & 0x01
    except Exception:
        return False


# --- P-1: safe unpacking ---------------------------------------------------------------------

LIMITS = PROFILE.limits


def tar_with(entries: list[tarfile.TarInfo], data: bytes = b"x") -> Path:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for info in entries:
            archive.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return out.getvalue()


def member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = 1 if kind == tarfile.REGTYPE else 0
    return info


@pytest.mark.parametrize(
    ("entries", "needle"),
    [
        ([member("/etc/passwd")], "absolute"),
        ([member("bag/../../escape")], "'..'"),
        ([member("bag/data/link", tarfile.SYMTYPE, "/etc/passwd")], "symbolic link"),
        ([member("bag/data/hard", tarfile.LNKTYPE, "bag/bagit.txt")], "hard link"),
        ([member("bag/data/dev", tarfile.CHRTYPE)], "device"),
        ([member("bag/data/fifo", tarfile.FIFOTYPE)], "device"),
        ([member("bag/data/a"), member("bag/data/a")], "twice"),
        ([member("bag/data/Nu\u0301n\u0303ez"), member("bag/data/Núñez")], "NFC"),
        ([member("bag/data/" + "x" * 1100)], "longer than 1024 bytes"),
        ([member("bag/data/f"), member("bag/data/f/g")], "a file"),
    ],
)
def test_unsafe_members_are_refused_before_anything_is_written(tmp_path, entries, needle):
    path = tmp_path / "bag.tar"
    path.write_bytes(tar_with(entries))
    result = unpack_bag(path, tmp_path / "staging" / "data", LIMITS)
    assert [c for c in result.report.failures if c.code == "P-1" and needle in c.detail], (
        result.report.to_list()
    )
    assert not (tmp_path / "staging").exists()
    assert not (tmp_path / "escape").exists()


def test_case_fold_collisions_warn():
    report = Report()
    entries = [("bag/data/A.txt", "file", 1, 1, None), ("bag/data/a.txt", "file", 1, 1, None)]
    members = arc.check_members(entries, LIMITS, report)
    assert len(members) == 2 and report.outcome_of("P-1") == Result.WARN


def test_limits_on_count_size_and_expansion():
    limits = LIMITS.__class__(2, 10_000_000, 100, 1024, 1024)
    report = Report()
    files = [(f"bag/data/{i}", "file", 4_000_000, 1000, None) for i in range(3)]
    arc.check_members(files, limits, report)
    details = " ".join(c.detail for c in report.failures)
    assert "3 files" in details and "bytes unpacked" in details and "zip bomb" in details


def test_a_zip_bomb_is_refused_from_its_directory(tmp_path):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "bag/bagit.txt", b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
        )
        archive.writestr("bag/data/zeros", b"\0" * (64 * 1024 * 1024))
    result = unpack_bag(path, tmp_path / "staging" / "data", LIMITS)
    assert any("zip bomb" in c.detail for c in result.report.failures)
    assert not (tmp_path / "staging").exists()


NAMES = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"),
    min_size=1,
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(
    names=st.lists(
        st.one_of(NAMES, st.sampled_from(["..", "/", "./", "a/../..", "~/x", "C:\\x"])).map(
            lambda n: n
        ),
        min_size=1,
        max_size=6,
    )
)
def test_member_names_never_escape_and_checked_paths_are_safe(names):
    report = Report()
    entries = [(f"bag/data/{n}" if i % 2 else n, "file", 1, 1, None) for i, n in enumerate(names)]
    for m in arc.check_members(entries, LIMITS, report):
        parts = m.path.split("/")
        assert not m.path.startswith("/") and ".." not in parts and "" not in parts
        assert "\\" not in m.path and len(m.path.encode()) <= LIMITS.max_path_bytes
    kept = [m.path for m in arc.check_members(entries, LIMITS, Report())]
    assert len(kept) == len(set(kept))
