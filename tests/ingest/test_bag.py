"""The AIP is a BagIt 1.0 bag (RFC 8493) that a third-party validator accepts, and signed."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import bagit as bagit_python
import pytest
from hypothesis import given
from hypothesis import strategies as st

from preserve.aip import bag
from preserve.aip.layout import aip_prefix
from preserve.catalog.models import Aip
from preserve.errors import IntegrityError
from preserve.trust.signing import Signature, verify
from support.ingest import ingest
from support.records import MINIMAL_PDF, metadata

FILES = {
    "docs/notice.pdf": MINIMAL_PDF,
    "附件/说明 文件.txt": "说明文字\n".encode(),
    "附件/子目录/数据.csv": b"a,b\n1,2\n" * 1000,
}


@pytest.fixture
def aip_copy(rt, client, make_token, tmp_path) -> tuple[str, Path]:
    """An AIP built end to end, copied out of the first filesystem store."""
    aip_id = ingest(rt, client, make_token, FILES)
    root = Path(rt.profile().target("site-a-disk").root)
    stored = root / aip_prefix(aip_id)
    assert stored == root / "aips" / aip_id[0:2] / aip_id[2:4] / aip_id / ""
    out = tmp_path / "bag-copy"
    shutil.copytree(stored, out)
    return aip_id, out


def test_the_stored_aip_is_a_valid_bagit_1_0_bag(aip_copy):
    aip_id, path = aip_copy
    checked = bagit_python.Bag(str(path))

    checked.validate(processes=1)

    assert checked.version_info == (1, 0)
    assert (path / "bagit.txt").read_bytes() == (
        b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
    )
    assert set(checked.algorithms) == {"sha256", "sha512"}
    assert set(checked.payload_files()) == {f"data/{p}" for p in FILES}
    for alg in ("sha256", "sha512"):
        listed = bag.parse_manifest((path / f"manifest-{alg}.txt").read_bytes())
        assert listed == {
            f"data/{p}": hashlib.new(alg, content).hexdigest() for p, content in FILES.items()
        }

    total = sum(len(c) for c in FILES.values())
    assert checked.info["Payload-Oxum"] == f"{total}.{len(FILES)}"
    assert checked.info["Bag-Group-Identifier"] == aip_id
    assert checked.info["External-Identifier"] == metadata()["archival_code"]
    assert checked.info["BagIt-Profile-Identifier"] == bag.PROFILE_ID

    # The signed tag manifest covers every tag file but itself and the signature.
    tagged = bag.parse_manifest((path / bag.TAGMANIFEST).read_bytes())
    tag_files = {
        p.relative_to(path).as_posix()
        for p in path.rglob("*")
        if p.is_file() and not p.relative_to(path).as_posix().startswith("data/")
    }
    assert set(tagged) == tag_files - {bag.TAGMANIFEST, *bag.UNRECORDED}
    assert {"metadata/record.json", "metadata/formats.json", "metadata/events.json"} <= set(tagged)
    for name, digest in tagged.items():
        assert hashlib.sha256((path / name).read_bytes()).hexdigest() == digest

    # ...and the validator is not a rubber stamp.
    victim = path / "data" / "docs" / "notice.pdf"
    data = bytearray(victim.read_bytes())
    data[10] ^= 0x01
    victim.write_bytes(bytes(data))
    with pytest.raises(bagit_python.BagValidationError):
        bagit_python.Bag(str(path)).validate(processes=1)


def test_the_signature_verifies_and_fails_after_one_changed_byte(rt, aip_copy):
    aip_id, path = aip_copy
    signature = Signature.from_json((path / bag.SIGNATURE).read_bytes())
    tagmanifest = (path / bag.TAGMANIFEST).read_bytes()
    assert signature.signed_file == bag.TAGMANIFEST
    assert signature.key_id == rt.signing_key.key_id

    verify(signature, tagmanifest)
    verify(signature, tagmanifest, rt.trusted_keys())
    with rt.sessions() as session:
        recorded = session.get(Aip, aip_id).tagmanifest_sha256
    assert recorded == hashlib.sha256(tagmanifest).hexdigest()

    for position in (0, len(tagmanifest) // 2, len(tagmanifest) - 2):
        changed = bytearray(tagmanifest)
        changed[position] ^= 0x01
        with pytest.raises(IntegrityError, match="does not match"):
            verify(signature, bytes(changed))
        with pytest.raises(IntegrityError):
            verify(signature, bytes(changed), rt.trusted_keys())


@pytest.mark.parametrize(
    ("path", "encoded"),
    [
        ("data/plain.txt", "data/plain.txt"),
        ("data/100%.txt", "data/100%25.txt"),
        ("data/line\nbreak.txt", "data/line%0Abreak.txt"),
        ("data/carriage\rreturn.txt", "data/carriage%0Dreturn.txt"),
        ("data/crlf\r\n.txt", "data/crlf%0D%0A.txt"),
        ("data/literal%0A.txt", "data/literal%250A.txt"),
        ("data/literal%25.txt", "data/literal%2525.txt"),
        ("data/档案 文件.txt", "data/档案 文件.txt"),
    ],
)
def test_manifest_paths_are_percent_encoded_per_rfc_8493(path, encoded):
    digest = "ab" * 32
    text = bag.manifest_text([(path, digest)])
    assert text == f"{digest}  {encoded}\n".encode()
    assert text.count(b"\n") == 1
    assert b"\r" not in text
    assert bag.parse_manifest(text) == {path: digest}


def test_parse_manifest_accepts_lowercase_escapes_crlf_lines_and_binary_mode_marks():
    digest = "cd" * 32
    text = f"{digest.upper()}  data/a%0ab%0dc.txt\r\n\r\n{digest} *data/x.txt\r\n".encode()
    assert bag.parse_manifest(text) == {"data/a\nb\rc.txt": digest, "data/x.txt": digest}
    with pytest.raises(ValueError, match="line 1"):
        bag.parse_manifest(b"no-path-here\n")


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\x85"])
def test_manifest_round_trips_unicode_line_separators_in_names(char):
    path = f"data/a{char}b.txt"
    assert bag.parse_manifest(bag.manifest_text([(path, "ef" * 32)])) == {path: "ef" * 32}


NAME = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",), blacklist_characters="\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
    ),
    min_size=1,
)


@given(st.dictionaries(NAME, st.sampled_from(["0" * 64, "f" * 64, "1a" * 32]), max_size=5))
def test_manifest_text_and_parse_manifest_round_trip(entries):
    paths = {f"data/{name}": digest for name, digest in entries.items()}
    assert bag.parse_manifest(bag.manifest_text(paths.items())) == paths
