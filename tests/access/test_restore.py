"""Restore: the payload comes back byte for byte, or not at all."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from preserve.access.restore import restore_aip
from preserve.aip import bag
from preserve.aip.layout import aip_prefix
from preserve.catalog.repository import get_aip
from preserve.errors import Conflict, IntegrityError
from support.ingest import ingest
from support.records import MINIMAL_PDF

FILES = {
    "docs/notice.pdf": MINIMAL_PDF,
    "文书档案/2024年/关于档案工作的通知.txt": "通知正文\n".encode() * 100,
    "附件/说明.txt": "说明文字\n".encode(),
    "附件/图表/统计 表.csv": b"year,count\n2024,17\n",
}


@pytest.fixture
def aip_id(rt, client, make_token) -> str:
    return ingest(rt, client, make_token, FILES)


def restore(rt, aip_id: str, destination: Path, target: str = "site-a-disk", **kw):
    with rt.sessions() as session:
        aip = get_aip(session, aip_id)
        catalogue = {f.path: f.sha256 for f in aip.files}
        recorded = aip.tagmanifest_sha256
    return restore_aip(
        rt.store("local", target),
        aip_id,
        destination,
        rt.trusted_keys(),
        catalogue=kw.pop("catalogue", catalogue),
        tagmanifest_sha256=kw.pop("tagmanifest_sha256", recorded),
        **kw,
    )


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def replica_file(rt, aip_id: str, target: str, relpath: str) -> Path:
    return Path(rt.profile().target(target).root) / aip_prefix(aip_id) / relpath


def test_restore_gives_identical_files_under_their_original_paths(rt, aip_id, tmp_path):
    destination = tmp_path / "out" / "restored"
    seen: list[int] = []

    result = restore(rt, aip_id, destination, progress=seen.append)

    assert tree(destination) == FILES
    assert (result.aip_id, result.target, result.destination) == (
        aip_id,
        "site-a-disk",
        destination,
    )
    assert result.files == len(FILES)
    assert result.bytes == sum(seen) == sum(len(c) for c in FILES.values())
    assert sorted(p.name for p in destination.parent.iterdir()) == ["restored"]

    # The other replica gives the same bytes, here into an empty directory made beforehand.
    other = tmp_path / "out" / "from-b"
    other.mkdir()
    restore(rt, aip_id, other, target="site-b-nas")
    assert tree(other) == FILES


def test_a_flipped_byte_fails_the_restore_and_leaves_nothing(rt, aip_id, tmp_path):
    victim = max(FILES)  # restored last: every other file is already in the partial directory
    path = replica_file(rt, aip_id, "site-b-nas", f"data/{victim}")
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))
    parent = tmp_path / "restores"
    parent.mkdir()

    with pytest.raises(IntegrityError, match="expected") as caught:
        restore(rt, aip_id, parent / "restored", target="site-b-nas")

    assert victim in str(caught.value)
    assert list(parent.iterdir()) == [], "no output directory and no .partial sibling"
    restore(rt, aip_id, parent / "restored", target="site-a-disk")
    assert tree(parent / "restored") == FILES


def test_a_destination_that_is_not_an_empty_directory_is_refused(rt, aip_id, tmp_path):
    destination = tmp_path / "restores" / "busy"
    destination.mkdir(parents=True)
    (destination / "keep.txt").write_bytes(b"mine")
    a_file = tmp_path / "restores" / "a-file"
    a_file.write_bytes(b"x")

    with pytest.raises(Conflict, match="not an empty directory"):
        restore(rt, aip_id, destination)
    with pytest.raises(Conflict, match="not an empty directory"):
        restore(rt, aip_id, a_file)

    assert tree(destination) == {"keep.txt": b"mine"}
    assert a_file.read_bytes() == b"x"
    assert sorted(p.name for p in destination.parent.iterdir()) == ["a-file", "busy"]


def test_a_pattern_restores_only_matching_files(rt, aip_id, tmp_path):
    cases = {
        "附件/*": {"附件/说明.txt", "附件/图表/统计 表.csv"},
        "*.txt": {"文书档案/2024年/关于档案工作的通知.txt", "附件/说明.txt"},
        "docs/notice.pdf": {"docs/notice.pdf"},
    }
    for n, (pattern, expected) in enumerate(cases.items()):
        result = restore(rt, aip_id, tmp_path / f"some-{n}", pattern=pattern)
        assert tree(tmp_path / f"some-{n}") == {p: FILES[p] for p in expected}, pattern
        assert result.files == len(expected)

    with pytest.raises(Conflict, match="matches"):
        restore(rt, aip_id, tmp_path / "none" / "x", pattern="*.docx")
    assert not (tmp_path / "none").exists()


def test_the_bag_must_agree_with_its_signed_manifests_and_the_catalogue(rt, aip_id, tmp_path):
    wrong = {p: hashlib.sha256(c).hexdigest() for p, c in FILES.items()}
    wrong["docs/notice.pdf"] = "0" * 64
    with pytest.raises(IntegrityError, match="disagree"):
        restore(rt, aip_id, tmp_path / "x", catalogue=wrong)
    with pytest.raises(IntegrityError, match="not the one recorded"):
        restore(rt, aip_id, tmp_path / "x", tagmanifest_sha256="f" * 64)

    manifest = replica_file(rt, aip_id, "site-a-disk", "manifest-sha256.txt")
    entries = bag.parse_manifest(manifest.read_bytes())
    entries["data/docs/notice.pdf"] = "0" * 64
    manifest.write_bytes(bag.manifest_text(entries.items()))
    with pytest.raises(IntegrityError, match=r"manifest-sha256\.txt"):
        restore(rt, aip_id, tmp_path / "x", catalogue=None)
    assert not (tmp_path / "x").exists()


def test_a_name_with_a_unicode_line_separator_restores(rt, client, make_token, tmp_path):
    aip_id = ingest(rt, client, make_token, {"notes\u2028draft.txt": b"text\n"})
    restore(rt, aip_id, tmp_path / "x")
    assert tree(tmp_path / "x") == {"notes\u2028draft.txt": b"text\n"}
