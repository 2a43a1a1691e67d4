"""A bag copied to a filesystem target: every file fsynced as written, the names of each group
(payload, tag files, tag manifests, signature) made durable together, before the next group is
written; names found present by a re-run are made durable too."""

from __future__ import annotations

import hashlib
from pathlib import Path

from preserve.aip.bag import SIGNATURE, TAGMANIFEST
from preserve.aip.layout import aip_key
from preserve.storage import filesystem
from preserve.storage.copy import DirectorySource, copy_bag
from preserve.storage.filesystem import FilesystemStore

AIP = "0123abcd-0000-4000-8000-000000000001"


def _bag(root: Path, files: int) -> dict[str, str]:
    contents = {f"data/d{i % 3}/f{i:03d}.txt": f"file {i}".encode() for i in range(files)}
    contents |= {"bagit.txt": b"BagIt-Version: 1.0\n", TAGMANIFEST: b"m\n", SIGNATURE: b"{}"}
    for relpath, data in contents.items():
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return {relpath: hashlib.sha256(data).hexdigest() for relpath, data in contents.items()}


def _record(monkeypatch) -> list[tuple[str, str]]:
    log: list[tuple[str, str]] = []
    fsync_dir, put_unsynced = filesystem.fsync_dir, FilesystemStore.put_unsynced

    def sync(path: Path) -> None:
        log.append(("sync", str(path)))
        fsync_dir(path)

    def put(self, key, source, *, overwrite=False):
        log.append(("put", key))
        return put_unsynced(self, key, source, overwrite=overwrite)

    monkeypatch.setattr(filesystem, "fsync_dir", sync)
    monkeypatch.setattr(FilesystemStore, "put_unsynced", put)
    return log


def test_names_are_made_durable_per_group_not_per_file(tmp_path, monkeypatch):
    expected = _bag(tmp_path / "bag", 200)
    store = FilesystemStore("disk", tmp_path / "store")
    log = _record(monkeypatch)
    copy_bag(DirectorySource(tmp_path / "bag"), store, AIP, expected, [])

    puts = [key for op, key in log if op == "put"]
    syncs = [path for op, path in log if op == "sync"]
    assert sorted(puts) == sorted(aip_key(AIP, p) for p in expected)  # each file once
    assert len(syncs) < len(puts) / 4  # a few directories, not one fsync per file
    root = tmp_path / "store"
    for relpath in expected:  # every holding directory, up to the root, was synced
        parent = (root / aip_key(AIP, relpath)).parent
        assert str(parent) in syncs
    assert str(root) in syncs

    # the payload's directories are synced before any tag file is written, and the tag
    # manifest's before the signature
    first_tag = log.index(("put", aip_key(AIP, "bagit.txt")))
    payload_dir = str((root / aip_key(AIP, "data/d0/f000.txt")).parent)
    assert log.index(("sync", payload_dir)) < first_tag
    signature_put = log.index(("put", aip_key(AIP, SIGNATURE)))
    bag_dir = str((root / aip_key(AIP, TAGMANIFEST)).parent)
    assert max(i for i, entry in enumerate(log) if entry == ("sync", bag_dir)) > signature_put
    assert any(entry == ("sync", bag_dir) for entry in log[:signature_put])
    for relpath, digest in expected.items():
        data = (root / aip_key(AIP, relpath)).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest


def test_a_rerun_makes_the_names_it_finds_durable(tmp_path, monkeypatch):
    expected = _bag(tmp_path / "bag", 6)
    store = FilesystemStore("disk", tmp_path / "store")
    for relpath in expected:  # an earlier run wrote everything and failed before syncing
        with open(tmp_path / "bag" / relpath, "rb") as source:
            store.put_unsynced(aip_key(AIP, relpath), source)
    log = _record(monkeypatch)
    copy_bag(DirectorySource(tmp_path / "bag"), store, AIP, expected, [])
    assert [op for op, _ in log if op == "put"] == []  # nothing written again
    synced = {path for op, path in log if op == "sync"}
    for relpath in expected:
        assert str((tmp_path / "store" / aip_key(AIP, relpath)).parent) in synced


def test_put_alone_still_makes_its_name_durable(tmp_path, monkeypatch):
    log = _record(monkeypatch)
    store = FilesystemStore("disk", tmp_path / "store")
    with open(__file__, "rb") as source:
        store.put("a/b/c", source)
    assert ("sync", str(tmp_path / "store" / "a" / "b")) in log
