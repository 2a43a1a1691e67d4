"""How the S3 store proves what it wrote: our own SHA-256 of the bytes sent against the server's
checksum (composite for multipart), never the ETag; bad bytes refused; retention on every
object; write-once with or without the server's conditional writes; unfinished uploads."""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from preserve.errors import IntegrityError
from preserve.storage.base import ObjectCorrupt, ObjectExists, ObjectNotFound, read_bytes
from preserve.storage.profiles import ObjectLock
from preserve.storage.s3 import S3Store
from support.moto_server import MotoServer

MiB = 1024 * 1024
SIZES = [0, 1, 5 * MiB - 1, 5 * MiB, 5 * MiB + 1, 11 * MiB + 7]


@pytest.fixture
def make_store(moto: MotoServer) -> Callable[..., S3Store]:
    def make(*, versioning: bool = False, locked: bool = False, **kwargs: Any) -> S3Store:
        bucket = f"v-{uuid.uuid4().hex[:16]}"
        client = moto.make_bucket(bucket, versioning=versioning, object_lock=locked)
        kwargs.setdefault("part_size", 5 * MiB)
        return S3Store("s3", bucket, client=client, **kwargs)

    return make


def calls(store: S3Store, operation: str) -> list[dict]:
    """Record every call of ``operation`` the store's client makes from now on."""
    seen: list[dict] = []
    store._client.meta.events.register(
        f"before-parameter-build.s3.{operation}", lambda params, **_: seen.append(dict(params))
    )
    return seen


@pytest.mark.parametrize("size", SIZES, ids=lambda n: f"{n}B")
def test_every_put_is_confirmed_by_the_servers_checksum(make_store, size):
    store = make_store(versioning=True)
    data = os.urandom(size)
    info = store.put("k", io.BytesIO(data))
    assert info.size == size
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert info.checksum_confirmed, "single part: the plain digest; multipart: the composite"
    assert info.version_id
    assert store.matches_sha256("k", info.sha256, lambda: io.BytesIO(data))
    assert not store.matches_sha256("k", "0" * 64, lambda: io.BytesIO(data))
    assert not store.matches_sha256("missing", info.sha256, lambda: io.BytesIO(data))


def test_every_part_carries_a_sha256(make_store):
    store = make_store()
    parts = calls(store, "UploadPart")
    store.put("big", io.BytesIO(os.urandom(11 * MiB)))
    assert len(parts) == 3
    assert all(p.get("ChecksumAlgorithm") == "SHA256" for p in parts)


@pytest.mark.parametrize("size", [100, 6 * MiB], ids=["single", "multipart"])
def test_a_server_checksum_that_differs_refuses_the_object(make_store, size):
    """A server reporting a checksum not of our bytes: the object is removed, never kept."""
    store = make_store()
    op = "PutObject" if size < 5 * MiB else "HeadObject"
    store._client.meta.events.register(f"after-call.s3.{op}", _forge_checksum)
    with pytest.raises(IntegrityError, match="not that of the bytes sent"):
        store.put("k", io.BytesIO(os.urandom(size)))
    store._client.meta.events.unregister(f"after-call.s3.{op}", _forge_checksum)
    with pytest.raises(ObjectNotFound):
        store.stat("k")


def _forge_checksum(parsed: dict, **_: Any) -> None:
    if parsed.get("ChecksumSHA256"):
        parsed["ChecksumSHA256"] = "AAAA" + parsed["ChecksumSHA256"][4:]


def test_bytes_garbled_on_the_way_are_caught_on_reading(make_store):
    """moto keeps a body that does not match the checksum sent with it; botocore's check of
    the response, mapped to ObjectCorrupt, catches it when the copy is read back."""
    store = make_store()

    def garble(request, **_: Any) -> None:
        body = request.body.read() if hasattr(request.body, "read") else request.body
        request.body = bytes([body[0] ^ 1]) + body[1:]

    store._client.meta.events.register("before-send.s3.PutObject", garble)
    store.put("k", io.BytesIO(b"the record as sent"))
    with pytest.raises(ObjectCorrupt, match="does not match the server's own checksum"):
        read_bytes(store, "k")


def test_retention_is_set_on_multipart_objects_too(make_store):
    """moto drops the retention sent with CreateMultipartUpload; the store sets it after."""
    store = make_store(locked=True, object_lock=ObjectLock(mode="COMPLIANCE", days=2))
    before = datetime.now(UTC)
    store.put("big", io.BytesIO(os.urandom(6 * MiB)))
    store.put("small", io.BytesIO(b"x"))
    for key in ("big", "small"):
        head = store._client.head_object(Bucket=store.bucket, Key=key)
        assert head["ObjectLockMode"] == "COMPLIANCE", key
        assert head["ObjectLockRetainUntilDate"] > before + timedelta(days=1, hours=23)


@pytest.mark.parametrize("conditional", [True, False])
def test_write_once_with_and_without_conditional_writes(make_store, conditional):
    store = make_store(conditional_writes=conditional)
    heads, puts = calls(store, "HeadObject"), calls(store, "PutObject")
    store.put("k", io.BytesIO(b"first"))
    with pytest.raises(ObjectExists):
        store.put("k", io.BytesIO(b"second"))
    assert read_bytes(store, "k") == b"first"
    if conditional:
        assert heads == [] and len(puts) == 2, "the server refused the second put itself"
        assert all(p["IfNoneMatch"] == "*" for p in puts)
    else:
        assert len(heads) == 2 and len(puts) == 1, "the HEAD check stopped the second put"


def test_unfinished_uploads_are_listed_and_aborted(make_store):
    store = make_store(prefix="site-b")
    client = store._client
    started = client.create_multipart_upload(Bucket=store.bucket, Key="site-b/aips/x/big")
    client.create_multipart_upload(Bucket=store.bucket, Key="elsewhere/y")
    (pending,) = store.incomplete_uploads("aips/")
    assert (pending.key, pending.upload_id) == ("aips/x/big", started["UploadId"])
    store.abort_upload(pending.key, pending.upload_id)
    assert store.incomplete_uploads() == []
    assert len(client.list_multipart_uploads(Bucket=store.bucket)["Uploads"]) == 1
