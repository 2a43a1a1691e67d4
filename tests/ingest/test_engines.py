"""Format identification with Siegfried beside fido: the engine choice, the second opinion, a
disagreement kept, and the pair never worse than fido alone on the skeleton suite."""

from __future__ import annotations

import csv
import json
import random

import pytest
from test_formats import docx, minimal_pdf, ofd, pdfa_1b

from preserve.errors import ConfigurationError
from preserve.ingest.checks import Result
from preserve.ingest.formats import OFD_MATCH, FormatIdentifier, identify_many
from preserve.ingest.identify.siegfried_engine import answer
from preserve.ingest.inspect import Inspection
from preserve.ingest.profile import SHIPPED, IngestProfile
from preserve.ingest.worker_checks import format_checks
from support.corpora import corpus


@pytest.fixture(scope="module")
def pair() -> FormatIdentifier:
    return FormatIdentifier()


@pytest.fixture(scope="module")
def siegfried() -> FormatIdentifier:
    return FormatIdentifier("siegfried")


def test_default_is_the_pair_with_versions_recorded(pair, tmp_path):
    assert pair.engines == "siegfried+fido"
    path = tmp_path / "report.pdf"
    path.write_bytes(pdfa_1b())
    found = pair.identify(path, "report.pdf")
    assert found.puid == "fmt/354"
    assert found.registry == "PRONOM v125"
    assert "DROID_SignatureFile_V125.xml" in found.tool and "siegfried" in found.tool
    described = pair.describe()
    assert "V125" in described and "fido 1.6.1" in described and "PRONOM v116" in described


def test_siegfried_answers_alone_where_it_has_a_signature_match(pair, tmp_path):
    path = tmp_path / "report.docx"
    docx(path)
    found = pair.identify(path, "report.docx")
    assert (found.puid, found.method, found.engines) == ("fmt/412", "container", ("siegfried",))
    assert found.disagreement is None


def test_fido_is_asked_where_siegfried_has_only_an_extension(pair, tmp_path):
    path = tmp_path / "blob"
    path.write_bytes(random.Random(1).randbytes(2048))
    found = pair.identify(path, "scans/readme.txt")  # fido sees the display name's extension
    assert found.engines == ("siegfried", "fido")
    assert found.puid == "x-fmt/111"
    assert {m.method for m in found.matches} == {"extension"}


def test_a_disagreement_is_kept_and_the_more_specific_answer_comes_first(pair, tmp_path):
    # the OLE2 signature's bytes, then garbage: siegfried names the bare container (fmt/111)
    # and reads no stream; fido's binary signatures say the same; a damaged .doc.
    suite = corpus("siegfried-skeleton-suite-pronom-v116")
    path = suite / "skeleton-suite/fmt/fmt-39-signature-id-128.doc"
    found = pair.identify(path, "letter.doc")
    assert found.engines == ("siegfried", "fido")
    assert found.puid == "fmt/39"  # fido's, more specific than siegfried's OLE2
    assert "fmt/111" in [m.puid for m in found.matches]  # siegfried's answer is kept too
    assert found.disagreement == "siegfried fmt/111 (signature), fido fmt/39 (signature)"
    record = found.to_dict()
    assert json.loads(json.dumps(record)) == record
    assert record["disagreement"] == found.disagreement
    assert record["engines"] == ["siegfried", "fido"]


def test_a_disagreement_is_a_warning_on_check_3_3(pair):
    suite = corpus("siegfried-skeleton-suite-pronom-v116")
    found = pair.identify(suite / "skeleton-suite/fmt/fmt-39-signature-id-128.doc", "a.doc")
    profile = IngestProfile.from_document(json.loads(SHIPPED.read_text(encoding="utf-8")))
    checks = [c for c in format_checks([Inspection(found, None)], profile) if c.code == "3-3"]
    warned = [c for c in checks if c.outcome == Result.WARN and "disagree" in c.detail]
    assert len(warned) == 1 and "a.doc" in warned[0].detail and "fmt/39" in warned[0].detail


def test_siegfried_alone_never_asks_fido(siegfried, tmp_path):
    path = tmp_path / "blob"
    path.write_bytes(random.Random(1).randbytes(2048))
    found = siegfried.identify(path, "blob.txt")
    assert found.engines == ("siegfried",)
    assert siegfried._fido_engine is None  # fido never loaded


def test_fido_alone(tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(minimal_pdf())
    found = FormatIdentifier("fido").identify(path)
    assert (found.puid, found.registry, found.engines) == ("fmt/18", "PRONOM v116", ("fido",))


@pytest.mark.parametrize("engines", ["siegfried+fido", "siegfried", "fido"])
def test_ofd_rule_holds_whatever_engine_answered(engines, tmp_path):
    found = FormatIdentifier(engines).identify(ofd(tmp_path / "letter.ofd"))
    assert found.matches[0] == OFD_MATCH
    assert "x-fmt/263" in [m.puid for m in found.matches]


def test_empty_and_missing_files_are_results_not_exceptions(pair, tmp_path):
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert pair.identify(empty).puid is None
    missing = pair.identify(tmp_path / "gone.pdf", "gone.pdf")
    assert missing.matches == () and missing.error and "FileNotFoundError" in missing.error


def test_siegfried_answers_that_are_not_positive():
    def file(id_: str, basis: str, warning: str = "", errors: str = "") -> dict:
        match = {"ns": "pronom", "id": id_, "format": "", "basis": basis, "warning": warning}
        return {"matches": [match], "errors": errors}

    assert answer(file("fmt/18", "byte match at 0, 8")).positive
    assert answer(file("fmt/18", "byte match at 0, 8", "extension mismatch")).positive
    assert not answer(file("fmt/817", "extension match json", "match on extension only")).positive
    assert not answer(file("UNKNOWN", "", "no match")).positive
    assert answer(file("x-fmt/111", "extension match txt; text match ASCII")).positive
    assert not answer(file("x-fmt/111", "text match ASCII", "match on text only")).positive
    assert not answer(file("x-fmt/263", "byte match at 0, 4")).positive  # a bare ZIP
    assert not answer(file("fmt/111", "byte match at 0, 30", errors="mscfb: read error")).positive


@pytest.mark.parametrize("bad", ["droid", "", 3, None])
def test_the_profile_setting_is_checked(bad):
    doc = json.loads(SHIPPED.read_text(encoding="utf-8"))
    assert IngestProfile.from_document(doc).identification_engines == "siegfried+fido"
    doc["identification"] = {"engines": "fido"}
    assert IngestProfile.from_document(doc).identification_engines == "fido"
    doc["identification"] = {"engines": bad}
    with pytest.raises(ConfigurationError):
        IngestProfile.from_document(doc)


def test_pair_is_never_worse_than_fido_alone_on_the_skeleton_suite():
    suite = corpus("siegfried-skeleton-suite-pronom-v116")
    with open(suite / "expected.tsv", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    items = [(suite / r["path"], r["path"]) for r in rows]
    fido = identify_many(items, workers=2, engines="fido")
    both = identify_many(items, workers=2, engines="siegfried+fido")
    worse = [
        (r["path"], r["expected_puid"], p.puid, f.puid)
        for r, p, f in zip(rows, both, fido, strict=True)
        if r["expected_puid"] in [m.puid for m in f.matches]
        and r["expected_puid"] not in [m.puid for m in p.matches]
    ]
    assert worse == []

    def hits(results: list) -> int:
        pairs = zip(rows, results, strict=True)
        return sum(r["expected_puid"] in [m.puid for m in i.matches] for r, i in pairs)

    assert hits(both) >= hits(fido)
