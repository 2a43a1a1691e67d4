"""What only the S3 store does: Object Lock, cold tiers, checksums, outages, error mapping."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
    ResponseStreamingError,
)

from preserve.errors import ConfigurationError
from preserve.storage.base import (
    ObjectExists,
    ObjectInfo,
    ObjectNotFound,
    ObjectUnavailable,
    StorageError,
    read_bytes,
)
from preserve.storage.profiles import ObjectLock, S3Target
from preserve.storage.s3 import S3Store
from support.moto_server import MotoServer

MiB = 1024 * 1024


@pytest.fixture
def make_store(moto: MotoServer) -> Callable[..., S3Store]:
    """A store on a fresh bucket: make_store(versioning=..., locked=..., **S3Store args)."""

    def make(*, versioning: bool = False, locked: bool = False, **kwargs: Any) -> S3Store:
        bucket = f"s3-{uuid.uuid4().hex[:16]}"
        client = moto.make_bucket(bucket, versioning=versioning, object_lock=locked)
        kwargs.setdefault("part_size", 5 * MiB)
        return S3Store("s3", bucket, client=client, **kwargs)

    return make


class CountingStream(io.RawIOBase):
    """``size`` zero-free bytes, recording how much any single read asked for."""

    def __init__(self, size: int) -> None:
        self._left = size
        self.largest_read = 0
        self.read_all_called = False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            self.read_all_called = True
            size = self._left
        self.largest_read = max(self.largest_read, size)
        data = b"\x5a" * min(size, self._left)
        self._left -= len(data)
        return data


def test_multipart_upload_reads_in_bounded_pieces(make_store):
    store = make_store()
    source = CountingStream(12 * MiB)
    assert store.put("big", source) == ObjectInfo("big", 12 * MiB)
    assert not source.read_all_called
    assert source.largest_read <= 5 * MiB
    head = store._client.head_object(Bucket=store.bucket, Key="big")
    assert head["ETag"].endswith('-3"')


def test_failed_multipart_upload_is_aborted(make_store):
    store = make_store()

    class Breaks(CountingStream):
        def read(self, size: int = -1) -> bytes:
            if self._left < 6 * MiB:
                raise OSError("disk read error")
            return super().read(size)

    with pytest.raises(OSError, match="disk read error"):
        store.put("big", Breaks(12 * MiB))
    assert store._client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", []) == []


def test_a_racing_writer_is_refused_by_if_none_match(make_store):
    """The key appears after our HEAD check; the conditional put must still refuse."""
    store = make_store()

    class RacedStream(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            store._client.put_object(Bucket=store.bucket, Key="k", Body=b"the other writer")
            self.read = lambda size=-1: b""  # type: ignore[method-assign]
            return b"ours"

    with pytest.raises(ObjectExists):
        store.put("k", RacedStream())
    assert read_bytes(store, "k") == b"the other writer"


def test_overwrite_on_a_versioned_bucket_keeps_the_old_version(make_store):
    store = make_store(versioning=True)
    store.put("k", io.BytesIO(b"first"))
    store.put("k", io.BytesIO(b"second"), overwrite=True)
    assert read_bytes(store, "k") == b"second"
    versions = store._client.list_object_versions(Bucket=store.bucket, Prefix="k")["Versions"]
    assert len(versions) == 2


def test_object_lock_compliance(make_store):
    store = make_store(locked=True, object_lock=ObjectLock(mode="COMPLIANCE", days=1))
    before = datetime.now(UTC)
    store.put("aips/locked", io.BytesIO(b"kept for the retention period"))
    head = store._client.head_object(Bucket=store.bucket, Key="aips/locked")
    assert head["ObjectLockMode"] == "COMPLIANCE"
    until = head["ObjectLockRetainUntilDate"]
    assert before + timedelta(hours=23) < until < before + timedelta(days=1, minutes=5)

    with pytest.raises(StorageError, match="AccessDenied") as caught:
        store.delete_version("aips/locked", head["VersionId"])
    assert type(caught.value) is StorageError
    assert "aips/locked" in str(caught.value)
    assert read_bytes(store, "aips/locked") == b"kept for the retention period"

    # A plain delete only hides the object behind a delete marker; the version survives.
    store.delete("aips/locked")
    with pytest.raises(ObjectNotFound):
        store.stat("aips/locked")
    versions = store._client.list_object_versions(Bucket=store.bucket)["Versions"]
    assert [v["VersionId"] for v in versions] == [head["VersionId"]]


@pytest.mark.parametrize("storage_class", ["GLACIER", "DEEP_ARCHIVE"])
def test_archived_object_needs_a_restore(make_store, storage_class):
    store = make_store(storage_class=storage_class)
    store.put("cold", io.BytesIO(b"on tape"))
    assert store.stat("cold").size == 7
    assert not store.is_restored("cold")
    with pytest.raises(ObjectUnavailable, match="cold"):
        store.open("cold")

    store.request_restore("cold", days=2)
    store.request_restore("cold", days=2)
    assert store.is_restored("cold")
    assert read_bytes(store, "cold") == b"on tape"
    with pytest.raises(ObjectNotFound):
        store.is_restored("missing")


def test_standard_object_counts_as_restored(make_store):
    store = make_store()
    store.put("warm", io.BytesIO(b"x"))
    assert store.is_restored("warm")


def test_outage_becomes_storage_error(tmp_path):
    with MotoServer() as server:
        server.make_bucket("outage")
        store = S3Store("site-b", "outage", client=server.client())
        store.put("before", io.BytesIO(b"x"))
        server.stop()

        calls = {
            "put": lambda: store.put("k1", io.BytesIO(b"x")),
            "open": lambda: store.open("k1"),
            "stat": lambda: store.stat("k1"),
            "list": lambda: list(store.list("k1")),
            "delete": lambda: store.delete("k1"),
            "checksum": lambda: store.checksum_sha256("k1"),
            "status": store.bucket_status,
        }
        for name, call in calls.items():
            with pytest.raises(StorageError) as caught:
                call()
            assert type(caught.value) is StorageError, name
            assert str(caught.value).startswith("site-b: cannot "), name
            assert "EndpointConnectionError" in str(caught.value), name

        server.start()  # moto comes back empty
        server.make_bucket("outage")
        assert store.put("after", io.BytesIO(b"y")) == ObjectInfo("after", 1)
        assert list(store.list()) == ["after"]


def test_prefix_is_hidden(make_store):
    store = make_store(prefix="/site-a/")
    store._client.put_object(Bucket=store.bucket, Key="elsewhere/x", Body=b"not ours")
    store.put("aips/x", io.BytesIO(b"ours"))
    assert store._client.head_object(Bucket=store.bucket, Key="site-a/aips/x")
    assert list(store.list()) == ["aips/x"]
    assert list(store.list("aips/")) == ["aips/x"]
    assert read_bytes(store, "aips/x") == b"ours"


def test_list_follows_pages(make_store):
    store = make_store()
    store.page_size = 2
    keys = [f"p/{i}" for i in range(7)]
    for key in keys:
        store.put(key, io.BytesIO(b"x"))
    assert sorted(store.list("p/")) == keys


def test_checksum_of_a_single_part_upload(make_store):
    store = make_store()
    data = b"authentic, complete, usable, secure\n" * 1000
    store.put("k", io.BytesIO(data))
    assert store.checksum_sha256("k") == hashlib.sha256(data).hexdigest()


def test_no_checksum_for_a_multipart_upload(make_store):
    store = make_store()
    store.put("big", CountingStream(11 * MiB))
    assert store.checksum_sha256("big") is None
    with pytest.raises(ObjectNotFound):
        store.checksum_sha256("missing")


@pytest.mark.parametrize(
    ("versioning", "object_lock", "expected"),
    [(False, False, (False, False)), (True, False, (True, False)), (False, True, (True, True))],
)
def test_bucket_status(make_store, versioning, object_lock, expected):
    store = make_store(versioning=versioning, locked=object_lock)
    status = store.bucket_status()
    assert (status["versioning"], status["object_lock"]) == expected
    assert status["bucket"] == store.bucket


def test_part_size_below_the_s3_minimum_is_refused():
    with pytest.raises(ConfigurationError, match="5 MiB"):
        S3Store("s3", "bucket", client=object(), part_size=MiB)


def test_unsafe_keys_are_refused(make_store):
    store = make_store()
    for key in ("", "/abs", "a/../b", "a//b"):
        with pytest.raises(StorageError, match="unsafe key"):
            store.put(key, io.BytesIO(b"x"))


def test_from_config(moto, monkeypatch):
    monkeypatch.setenv("PRESERVE_TEST_KEY", "testing")
    monkeypatch.setenv("PRESERVE_TEST_SECRET", "s3cr3t-do-not-print")
    moto.make_bucket("from-config")
    target = S3Target(
        name="object-store-b",
        kind="s3",
        site="datong-dc2",
        media="object-storage",
        bucket="from-config",
        endpoint=moto.endpoint,
        region="us-east-1",
        prefix="store-b",
        access_key_env="PRESERVE_TEST_KEY",
        secret_key_env="PRESERVE_TEST_SECRET",
        part_size_mb=5,
        max_concurrency=2,
    )
    store = S3Store.from_config(target)
    assert (store.name, store.prefix, store.part_size) == ("object-store-b", "store-b/", 5 * MiB)
    store.put("k", io.BytesIO(b"hello"))
    assert read_bytes(store, "k") == b"hello"

    missing = S3Store.from_config(target.model_copy(update={"bucket": "no-such-bucket"}))
    with pytest.raises(StorageError, match="NoSuchBucket") as caught:
        missing.put("k", io.BytesIO(b"x"))
    assert "s3cr3t" not in str(caught.value)


def test_from_config_with_a_bad_endpoint():
    target = S3Target(
        name="broken", kind="s3", site="x", media="y", bucket="b", endpoint="not a url"
    )
    with pytest.raises(ConfigurationError, match="broken: cannot build an S3 client"):
        S3Store.from_config(target)


# -- error mapping without a server ----------------------------------------------------


def client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op"
    )


class FailingClient:
    """Every S3 call raises ``error``; get_object can instead return a body that does."""

    def __init__(self, error: Exception, *, in_body: bool = False) -> None:
        self.error = error
        self.in_body = in_body

    def get_object(self, **kwargs: Any) -> dict[str, Any]:
        if self.in_body:
            return {"Body": FailingBody(self.error)}
        raise self.error

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def call(**kwargs: Any) -> Any:
            raise self.error

        return call


class FailingBody:
    def __init__(self, error: Exception) -> None:
        self.error = error
        self.closed = False
        self.reads = 0

    def read(self, size: int = -1) -> bytes:
        self.reads += 1
        if self.reads > 1:
            raise self.error
        return b"first bytes "

    def close(self) -> None:
        self.closed = True


ERRORS = [
    (client_error("NoSuchKey", 404), ObjectNotFound),
    (client_error("404", 404), ObjectNotFound),
    (client_error("InvalidObjectState", 403), ObjectUnavailable),
    (client_error("PreconditionFailed", 412), ObjectExists),
    (client_error("AccessDenied", 403), StorageError),
    (client_error("SlowDown", 503), StorageError),
    (EndpointConnectionError(endpoint_url="http://s3.example"), StorageError),
    (ConnectionClosedError(endpoint_url="http://s3.example"), StorageError),
    (ReadTimeoutError(endpoint_url="http://s3.example"), StorageError),
    (NoCredentialsError(), StorageError),
]


@pytest.mark.parametrize(("error", "expected"), ERRORS, ids=lambda v: type(v).__name__)
def test_errors_are_mapped(error, expected):
    store = S3Store("site-b", "bucket", client=FailingClient(error))
    with pytest.raises(StorageError) as caught:
        store.open("aips/x")
    assert type(caught.value) is expected
    assert caught.value.__cause__ is error
    assert str(caught.value).startswith("site-b: ")
    assert "aips/x" in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "error",
    [
        client_error("InternalError", 500),
        ReadTimeoutError(endpoint_url="http://s3.example"),
        ResponseStreamingError(error="connection reset"),
        ConnectionResetError("reset by peer"),
    ],
    ids=lambda v: type(v).__name__,
)
def test_errors_while_reading_the_body_are_mapped(error):
    store = S3Store("site-b", "bucket", client=FailingClient(error, in_body=True))
    stream = store.open("aips/x")
    with pytest.raises(StorageError, match="site-b: cannot read aips/x") as caught:
        stream.read()
    assert caught.value.__cause__ is error
    stream.close()
