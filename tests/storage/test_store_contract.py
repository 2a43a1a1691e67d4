"""One contract every backend keeps: memory, filesystem, and S3 over a real moto server;
and each capability (storage/base.py) kept by every backend that claims it."""

from __future__ import annotations

import hashlib
import io
import random
import uuid
from datetime import UTC, datetime

import pytest

from preserve.errors import DestructionRefused
from preserve.storage.base import (
    Checksumming,
    Destroyable,
    LocalDirectory,
    Multipart,
    ObjectExists,
    ObjectInfo,
    ObjectNotFound,
    ObjectUnavailable,
    RecordLocking,
    Restorable,
    StorageError,
    Store,
    Versioned,
    proves_by_checksum,
    read_bytes,
)
from preserve.storage.filesystem import FilesystemStore
from preserve.storage.memory import MemoryStore
from preserve.storage.profiles import ObjectLock
from preserve.storage.s3 import S3Store
from support.moto_server import MotoServer

MiB = 1024 * 1024
PART_SIZE = 5 * MiB


class GeneratedStream(io.RawIOBase):
    """A non-seekable stream of ``size`` pseudo-random bytes, made as it is read.

    It hashes what it hands out and can fail after ``fail_after`` bytes, like a client
    connection that drops mid-upload.
    """

    def __init__(self, size: int, *, seed: int = 7, fail_after: int | None = None) -> None:
        self._rng = random.Random(seed)
        self._left = size
        self._fail_after = fail_after
        self.sent = 0
        self.sha256 = hashlib.sha256()
        self.largest_read = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        whole = size is None or size < 0
        size = self._left if whole else size
        self.largest_read = max(self.largest_read, size)
        if self._fail_after is not None and self.sent + size > self._fail_after:
            raise SourceBroke("the client went away")
        # Short reads (at most 1 MiB) unless asked for everything, as a socket gives them.
        data = self._rng.randbytes(self._left if whole else min(size, self._left, MiB))
        self._left -= len(data)
        self.sent += len(data)
        self.sha256.update(data)
        return data


class SourceBroke(Exception):
    pass


@pytest.fixture(params=["memory", "filesystem", "s3"])
def store(request: pytest.FixtureRequest, tmp_path) -> Store:
    if request.param == "memory":
        return MemoryStore("mem")
    if request.param == "filesystem":
        return FilesystemStore("fs", tmp_path / "store")
    moto: MotoServer = request.getfixturevalue("moto")
    bucket = f"contract-{uuid.uuid4().hex[:16]}"
    client = moto.make_bucket(bucket)
    return S3Store("s3", bucket, client=client, part_size=PART_SIZE, max_concurrency=4)


def put_bytes(store: Store, key: str, data: bytes, **kwargs) -> ObjectInfo:
    return store.put(key, io.BytesIO(data), **kwargs)


def test_is_a_store(store):
    assert isinstance(store, Store)


def test_small_round_trip(store):
    info = put_bytes(store, "aips/ab/cd/x/bagit.txt", b"BagIt-Version: 1.0\n")
    assert info == ObjectInfo("aips/ab/cd/x/bagit.txt", 19)
    assert read_bytes(store, "aips/ab/cd/x/bagit.txt") == b"BagIt-Version: 1.0\n"


def test_empty_object(store):
    assert put_bytes(store, "empty", b"") == ObjectInfo("empty", 0)
    assert read_bytes(store, "empty") == b""
    assert store.stat("empty").size == 0


def test_open_reads_in_pieces_and_closes(store):
    put_bytes(store, "k", b"0123456789")
    with store.open("k") as stream:
        assert stream.read(4) == b"0123"
        assert stream.read(4) == b"4567"
        assert stream.read(4) == b"89"
        assert stream.read(4) == b""
    assert stream.closed


def test_large_object_streams_through_in_parts(store):
    size = 12 * MiB + 123  # three parts of 5 MiB on S3, the last short
    source = GeneratedStream(size)
    assert store.put("aips/big.bin", source) == ObjectInfo("aips/big.bin", size)
    assert source.sent == size

    digest = hashlib.sha256()
    read = 0
    with store.open("aips/big.bin") as stream:
        while piece := stream.read(MiB):
            digest.update(piece)
            read += len(piece)
    assert read == size
    assert digest.hexdigest() == source.sha256.hexdigest()
    assert store.stat("aips/big.bin").size == size


def test_write_once(store):
    put_bytes(store, "k", b"first")
    with pytest.raises(ObjectExists, match="k"):
        put_bytes(store, "k", b"second")
    assert read_bytes(store, "k") == b"first"


def test_write_once_large(store):
    put_bytes(store, "k", b"first")
    with pytest.raises(ObjectExists):
        store.put("k", GeneratedStream(6 * MiB))
    assert read_bytes(store, "k") == b"first"


def test_overwrite_replaces(store):
    put_bytes(store, "k", b"first")
    assert put_bytes(store, "k", b"the second", overwrite=True) == ObjectInfo("k", 10)
    assert read_bytes(store, "k") == b"the second"
    assert store.stat("k") == ObjectInfo("k", 10)


def test_missing_key(store):
    with pytest.raises(ObjectNotFound):
        store.open("no/such/key")
    with pytest.raises(ObjectNotFound):
        store.stat("no/such/key")


def test_delete_is_idempotent(store):
    put_bytes(store, "a/k", b"x")
    store.delete("a/k")
    store.delete("a/k")
    store.delete("never/was")
    with pytest.raises(ObjectNotFound):
        store.stat("a/k")
    assert list(store.list()) == []


def test_list_with_prefix(store):
    keys = ["a/b/c.txt", "a/b/d.txt", "a/e.txt", "ab.txt", "f.txt"]
    for key in keys:
        put_bytes(store, key, key.encode())
    assert sorted(store.list()) == sorted(keys)
    assert sorted(store.list("a/")) == ["a/b/c.txt", "a/b/d.txt", "a/e.txt"]
    assert sorted(store.list("a/b/")) == ["a/b/c.txt", "a/b/d.txt"]
    assert sorted(store.list("ab")) == ["ab.txt"]
    assert list(store.list("zzz/")) == []


@pytest.mark.parametrize(
    "key",
    [
        "档案/电子文件单套制/归档说明.pdf",
        "dir with space/file name (1).txt",
        "mixed/résumé – 報告 #1 & 100%+.docx",
    ],
)
def test_unusual_keys(store, key):
    data = key.encode("utf-8") * 3
    assert put_bytes(store, key, data) == ObjectInfo(key, len(data))
    assert read_bytes(store, key) == data
    assert store.stat(key).size == len(data)
    assert list(store.list()) == [key]
    assert list(store.list(key.split("/")[0] + "/")) == [key]
    store.delete(key)
    assert list(store.list()) == []


@pytest.mark.parametrize("fail_after", [100, 7 * MiB], ids=["early", "after-a-part"])
def test_failed_put_leaves_nothing(store, fail_after):
    with pytest.raises(SourceBroke):
        store.put("k", GeneratedStream(12 * MiB, fail_after=fail_after))
    with pytest.raises(ObjectNotFound):
        store.stat("k")
    assert list(store.list()) == []


# -- filesystem only ------------------------------------------------------------------


@pytest.mark.parametrize("key", ["", "../escape", "a/../../escape", "/etc/passwd", "a//b", "./a"])
def test_filesystem_refuses_unsafe_keys(tmp_path, key):
    store = FilesystemStore("fs", tmp_path / "store")
    with pytest.raises(StorageError, match="unsafe key"):
        put_bytes(store, key, b"x")
    with pytest.raises(StorageError, match="unsafe key"):
        store.open(key)
    assert not (tmp_path / "escape").exists()


def test_filesystem_failed_put_leaves_no_temp_files(tmp_path):
    root = tmp_path / "store"
    store = FilesystemStore("fs", root)
    put_bytes(store, "aips/kept", b"x")
    with pytest.raises(SourceBroke):
        store.put("aips/broken", GeneratedStream(3 * MiB, fail_after=2 * MiB))
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == [
        "aips/kept"
    ]


# -- capabilities: each backend claims exactly these, and keeps each one it claims ------------

CAPABILITIES = (
    Versioned,
    Checksumming,
    Restorable,
    Multipart,
    LocalDirectory,
    Destroyable,
    RecordLocking,
)
CLAIMS: dict[str, set[type]] = {
    "memory": {Destroyable},
    "filesystem": {LocalDirectory, Destroyable},
    "s3": {Versioned, Checksumming, Restorable, Multipart, Destroyable, RecordLocking},
}


def claiming(capability: type) -> list[str]:
    return [kind for kind, claims in CLAIMS.items() if capability in claims]


@pytest.fixture
def make(request: pytest.FixtureRequest, tmp_path):
    """make(kind, versioning=False, **S3Store options): a fresh store of that backend."""

    def build(kind: str, *, versioning: bool = False, lock: bool = False, **kwargs) -> Store:
        if kind == "memory":
            return MemoryStore("mem")
        if kind == "filesystem":
            return FilesystemStore("fs", tmp_path / "store")
        moto: MotoServer = request.getfixturevalue("moto")
        bucket = f"contract-{uuid.uuid4().hex[:16]}"
        client = moto.make_bucket(bucket, versioning=versioning, object_lock=lock)
        return S3Store("s3", bucket, client=client, part_size=PART_SIZE, **kwargs)

    return build


@pytest.mark.parametrize("kind", CLAIMS)
def test_claims_exactly_its_capabilities(make, kind):
    store = make(kind)
    assert {c for c in CAPABILITIES if isinstance(store, c)} == CLAIMS[kind]


@pytest.mark.parametrize("kind", claiming(Versioned))
def test_versioned_removes_one_version_for_good(make, kind):
    store = make(kind, versioning=True)
    assert isinstance(store, Versioned)
    assert store.bucket_status()["versioning"] is True
    put_bytes(store, "k", b"first")
    second = put_bytes(store, "k", b"second", overwrite=True)
    assert second.version_id
    store.delete_version("k", second.version_id)
    assert read_bytes(store, "k") == b"first"
    assert make(kind).bucket_status()["versioning"] is False  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", claiming(Checksumming))
def test_checksumming_knows_the_sha256_of_what_it_keeps(make, kind):
    store = make(kind)
    assert isinstance(store, Checksumming) and store.verify_mode == "read-back"
    assert not proves_by_checksum(store)
    data = b"kept with the server's own checksum\n"
    digest = hashlib.sha256(data).hexdigest()
    info = put_bytes(store, "k", data)
    assert info.sha256 == digest and info.checksum_confirmed
    assert store.checksum_sha256("k") == digest

    def reopen():
        return io.BytesIO(data)

    assert store.matches_sha256("k", digest, reopen)
    assert not store.matches_sha256("k", "0" * 64, reopen)
    assert not store.matches_sha256("missing", digest, reopen)
    assert proves_by_checksum(make(kind, verify_mode="checksum"))


@pytest.mark.parametrize("kind", claiming(Restorable))
def test_restorable_reads_a_cold_object_only_once_restored(make, kind):
    store = make(kind, storage_class="GLACIER")
    assert isinstance(store, Restorable)
    put_bytes(store, "cold", b"archived")
    assert not store.is_restored("cold")
    with pytest.raises(ObjectUnavailable):
        read_bytes(store, "cold")
    store.request_restore("cold", days=1)
    store.request_restore("cold", days=1)  # idempotent
    assert store.is_restored("cold")
    assert read_bytes(store, "cold") == b"archived"
    warm = make(kind)
    put_bytes(warm, "warm", b"standard class")
    assert warm.is_restored("warm")  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", claiming(Multipart))
def test_multipart_lists_and_aborts_unfinished_uploads(make, kind, request):
    store = make(kind, max_concurrency=3)
    assert isinstance(store, Multipart)
    assert store.part_size == PART_SIZE and store.max_concurrency == 3
    put_bytes(store, "aips/done", b"finished")
    moto: MotoServer = request.getfixturevalue("moto")
    moto.client().create_multipart_upload(Bucket=store.bucket, Key="aips/half")  # type: ignore[attr-defined]
    (upload,) = store.incomplete_uploads("aips/")
    assert upload.key == "aips/half" and upload.upload_id and upload.initiated
    assert store.incomplete_uploads("other/") == []
    store.abort_upload(upload.key, upload.upload_id)
    assert store.incomplete_uploads("aips/") == []
    assert sorted(store.list()) == ["aips/done"]


@pytest.mark.parametrize("kind", claiming(LocalDirectory))
def test_local_directory_keeps_each_key_as_a_file_under_its_root(make, kind):
    store = make(kind)
    assert isinstance(store, LocalDirectory)
    put_bytes(store, "aips/ab/x/bagit.txt", b"BagIt-Version: 1.0\n")
    assert (store.root / "aips" / "ab" / "x" / "bagit.txt").read_bytes() == b"BagIt-Version: 1.0\n"


@pytest.mark.parametrize("kind", claiming(Destroyable))
def test_destroyable_leaves_nothing_under_the_prefix(make, kind):
    store = make(kind, versioning=True)
    assert isinstance(store, Destroyable)
    put_bytes(store, "aips/ab/cd/x/data/a.txt", b"a")
    put_bytes(store, "aips/ab/cd/x/data/a.txt", b"a again", overwrite=True)  # a second version
    put_bytes(store, "aips/ab/cd/x/bagit.txt", b"b")
    store.delete("aips/ab/cd/x/bagit.txt")  # a delete marker on a versioned bucket
    put_bytes(store, "aips/ab/cd/xy/kept.txt", b"another AIP")
    assert store.remnants("aips/ab/cd/x/")
    store.destroy("aips/ab/cd/x/")
    assert store.remnants("aips/ab/cd/x/") == []
    assert list(store.list("aips/ab/cd/x/")) == []
    assert read_bytes(store, "aips/ab/cd/xy/kept.txt") == b"another AIP"
    with pytest.raises(StorageError):
        store.destroy("")


def test_s3_destroy_lifts_a_governance_lock_only_when_asked(make):
    lock = ObjectLock(mode="GOVERNANCE", days=30)
    store = make("s3", versioning=True, lock=True, object_lock=lock)
    put_bytes(store, "aips/ab/cd/x/a.txt", b"locked")
    with pytest.raises(DestructionRefused):
        store.destroy("aips/ab/cd/x/")
    assert store.remnants("aips/ab/cd/x/")
    store.destroy("aips/ab/cd/x/", bypass_governance=True)
    assert store.remnants("aips/ab/cd/x/") == []


def test_s3_destroy_reports_a_compliance_lock(make):
    store = make(
        "s3", versioning=True, lock=True, object_lock=ObjectLock(mode="COMPLIANCE", days=30)
    )
    put_bytes(store, "aips/ab/cd/x/a.txt", b"locked for good")
    with pytest.raises(DestructionRefused):
        store.destroy("aips/ab/cd/x/", bypass_governance=True)
    assert store.remnants("aips/ab/cd/x/")


def test_s3_put_until_locks_until_then_and_not_the_profile_days(make):
    lock = ObjectLock(mode="GOVERNANCE", days=3650)
    store = make("s3", versioning=True, lock=True, object_lock=lock)
    until = datetime(2031, 1, 1, tzinfo=UTC)
    store.put_until("aips/ab/cd/x/a.txt", io.BytesIO(b"ten years"), until)
    put_bytes(store, "aips/ab/cd/y/a.txt", b"permanent")
    head = store._client.head_object(Bucket=store.bucket, Key="aips/ab/cd/x/a.txt")
    assert head["ObjectLockRetainUntilDate"] == until
    assert head["ObjectLockMode"] == "GOVERNANCE"
    other = store._client.head_object(Bucket=store.bucket, Key="aips/ab/cd/y/a.txt")
    assert other["ObjectLockRetainUntilDate"] > datetime(2035, 1, 1, tzinfo=UTC)
