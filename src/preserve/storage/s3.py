"""A store in an S3 or S3-compatible bucket (AWS, MinIO, Ceph RGW, a tape gateway), on boto3.

Write once: without ``overwrite`` a put is refused when the key exists. A single-part put
sends ``If-None-Match: *``, so the server itself refuses it when the key exists (AWS since
2024, MinIO, Ceph Squid); for a server that ignores the header (``conditional_writes = false``
in the profile) a HEAD check runs first. s3transfer cannot send the header on
CompleteMultipartUpload, so a multipart put always makes the HEAD check.

Bounded memory: the source is read in parts of ``part_size``; at most ``max_concurrency``
parts are in memory at once, whatever the object's size. Every put, and every part of a
multipart put, is sent with ``ChecksumAlgorithm=SHA256``. For a single-part object the
server's checksum is the SHA-256 of the bytes; for a multipart object it is a COMPOSITE
checksum (the SHA-256 of the parts' SHA-256s), which :meth:`S3Store.checksum_sha256` does not
return because it cannot be compared with a digest of the content.

After every put the store compares the server's checksum of the whole object with the one it
computed itself from the bytes it sent (for a multipart object, the composite of its own part
digests), and refuses the object when they differ. The ETag is never taken for a digest. A
server that checks nothing (moto accepts a wrong checksum) can still keep bad bytes, so the
copy layer reads every copy back as well, except where reading is impossible (archive
classes), where this check is the proof (:attr:`S3Store.verify_mode`).

Every boto3/botocore error becomes a :class:`StorageError` subclass here, including errors
raised while the caller reads an object's body.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError, FlexibleChecksumError

from preserve.errors import ConfigurationError, DestructionRefused, IntegrityError
from preserve.storage.base import (
    ObjectCorrupt,
    ObjectExists,
    ObjectInfo,
    ObjectNotFound,
    ObjectUnavailable,
    StorageError,
)
from preserve.storage.profiles import ARCHIVE_CLASSES, ObjectLock, S3Target
from preserve.storage.s3_ranged import ObjectReader, RangedReads
from preserve.storage.s3_streams import BOTO_ERRORS, SourceReader, client_config

log = logging.getLogger(__name__)

MiB = 1024 * 1024
MIN_PART_SIZE = 5 * MiB  # S3's smallest part but the last

_NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchVersion"})
_EXISTS = frozenset({"412", "PreconditionFailed"})
_UNAVAILABLE = frozenset({"InvalidObjectState"})


@dataclass(frozen=True)
class PendingUpload:
    """A multipart upload that was started and neither completed nor aborted."""

    key: str
    upload_id: str
    initiated: datetime


class S3Store:
    # Keys per list_objects_v2 page; S3's own maximum. Tests lower it to exercise paging.
    page_size = 1000

    def __init__(
        self,
        name: str,
        bucket: str,
        *,
        client: Any = None,
        prefix: str = "",
        storage_class: str | None = None,
        object_lock: ObjectLock | None = None,
        part_size: int = 64 * MiB,
        max_concurrency: int = 4,
        verify_mode: str | None = None,
        conditional_writes: bool = True,
        ranged: RangedReads | None = None,
    ) -> None:
        if part_size < MIN_PART_SIZE:
            raise ConfigurationError(f"{name}: part_size must be at least 5 MiB")
        self.name = name
        self.conditional_writes = conditional_writes
        self.verify_mode = verify_mode or (
            "checksum" if storage_class in ARCHIVE_CLASSES else "read-back"
        )
        self.bucket = bucket
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        self.storage_class = storage_class
        self.object_lock = object_lock
        self.part_size = part_size
        self.max_concurrency = max_concurrency
        self._client = client or boto3.client("s3", config=client_config(max_concurrency))
        self._reader = ObjectReader(self._client, bucket, self._error, ranged or RangedReads())
        self._transfer = TransferConfig(
            multipart_threshold=part_size,
            multipart_chunksize=part_size,
            max_concurrency=max_concurrency,
            use_threads=max_concurrency > 1,
        )
        # s3transfer buffers up to 10 parts of a non-seekable stream by default.
        self._transfer.max_in_memory_upload_chunks = max_concurrency

    @classmethod
    def from_config(cls, target: S3Target) -> S3Store:
        access_key, secret_key = target.credentials()
        try:
            session = boto3.session.Session(
                aws_access_key_id=access_key,
                aws_secret_access_key=secret_key,
                region_name=target.region,
            )
            client = session.client(
                "s3",
                endpoint_url=target.endpoint,
                config=client_config(
                    max(target.max_concurrency, target.read_concurrency),
                    path_style=bool(target.endpoint),
                    attempts=target.request_attempts,
                    connect_timeout=target.connect_timeout_seconds,
                ),
            )
        except (BotoCoreError, ValueError) as exc:
            raise ConfigurationError(
                f"{target.name}: cannot build an S3 client: {type(exc).__name__}"
            ) from exc
        return cls(
            target.name,
            target.bucket,
            client=client,
            prefix=target.prefix,
            storage_class=target.storage_class,
            object_lock=target.object_lock,
            part_size=target.part_size_mb * MiB,
            max_concurrency=target.max_concurrency,
            verify_mode=target.verify_mode,
            conditional_writes=target.conditional_writes,
            ranged=RangedReads(
                target.ranged_read_threshold_mb * MiB,
                target.read_part_size_mb * MiB,
                target.read_concurrency,
            ),
        )

    # -- the Store protocol -------------------------------------------------------------

    def put(self, key: str, source: BinaryIO, *, overwrite: bool = False) -> ObjectInfo:
        return self._put(key, source, overwrite, None)

    def put_until(
        self, key: str, source: BinaryIO, until: datetime, *, overwrite: bool = False
    ) -> ObjectInfo:
        """Locked until ``until`` (at least a day from now) instead of the profile's days; a
        bucket written without Object Lock ignores ``until``."""
        return self._put(key, source, overwrite, max(until, datetime.now(UTC) + timedelta(days=1)))

    def _put(
        self, key: str, source: BinaryIO, overwrite: bool, until: datetime | None
    ) -> ObjectInfo:
        full = self._full(key)
        reader = SourceReader(source, self.part_size)
        with self._mapped("write", key):
            first = reader.peek(self.part_size)
            single = len(first) < self.part_size
            trust_server = single and self.conditional_writes
            if not overwrite and not trust_server and self._head(full) is not None:
                raise ObjectExists(f"{self.name}: {key} already exists")
            if single:
                data = reader.read(len(first))
                written = self._put_single(full, data, overwrite=overwrite, until=until)
            else:
                args = self._write_args(until)
                self._client.upload_fileobj(
                    reader, self.bucket, full, ExtraArgs=args, Config=self._transfer
                )
                written = self._client.head_object(
                    Bucket=self.bucket, Key=full, ChecksumMode="ENABLED"
                )
                self._ensure_retention(full, written, until)
        version = written.get("VersionId")
        confirmed = self._confirm_checksum(key, reader, written.get("ChecksumSHA256"), version)
        return ObjectInfo(
            key,
            reader.count,
            sha256=reader.sha256(),
            checksum_confirmed=confirmed,
            version_id=version,
        )

    def _ensure_retention(
        self, full: str, head: dict[str, Any], until: datetime | None = None
    ) -> None:
        """Set the profile's retention on a multipart object the server left without it.

        The retention goes with CreateMultipartUpload; a server may drop it there (moto
        does), so the finished object is checked and given its retention explicitly."""
        if self.object_lock is None or head.get("ObjectLockMode"):
            return
        retention = {
            "Mode": self.object_lock.mode,
            "RetainUntilDate": self._write_args(until)["ObjectLockRetainUntilDate"],
        }
        extra = {"VersionId": head["VersionId"]} if head.get("VersionId") else {}
        self._client.put_object_retention(
            Bucket=self.bucket, Key=full, Retention=retention, **extra
        )

    def _confirm_checksum(
        self, key: str, sent: SourceReader, server: str | None, version: str | None
    ) -> bool:
        """Compare the server's checksum with ours; False when the server gave none."""
        if not server:
            return False
        value, _, parts = server.partition("-")
        if parts and int(parts) != sent.parts:
            log.warning("%s: %s has %s parts, we sent %d", self.name, key, parts, sent.parts)
            return False
        if value == base64.b64encode(sent.checksum()).decode():
            return True
        try:
            if version:
                self.delete_version(key, version)
            else:
                self.delete(key)
        except StorageError:
            log.warning("%s: could not remove the bad upload of %s", self.name, key)
        raise IntegrityError(
            f"{self.name}: the server's checksum of {key} is not that of the bytes sent"
        )

    def open(self, key: str) -> BinaryIO:
        """One GET; a large object in parallel ranged GETs (:mod:`.s3_ranged`)."""
        return self._reader.open(self._full(key), key)

    def fetch(self, key: str, fd: int, consume: Callable[[bytes], None]) -> int:
        """The object written into ``fd`` at its offsets, every byte handed to ``consume`` in
        order (:class:`~preserve.storage.base.Fetching`)."""
        return self._reader.fetch(self._full(key), key, fd, consume)

    def stat(self, key: str) -> ObjectInfo:
        head = self._head(self._full(key))
        if head is None:
            raise ObjectNotFound(f"{self.name}: no object {key}")
        return ObjectInfo(key, head["ContentLength"])

    def list(self, prefix: str = "") -> Iterator[str]:
        paginator = self._client.get_paginator("list_objects_v2")
        pages = paginator.paginate(
            Bucket=self.bucket,
            Prefix=self.prefix + prefix,
            PaginationConfig={"PageSize": self.page_size},
        )
        with self._mapped("list", prefix or "(all keys)"):
            for page in pages:
                for entry in page.get("Contents", ()):
                    yield entry["Key"][len(self.prefix) :]

    def delete(self, key: str) -> None:
        """Delete the key; on a versioned bucket this adds a delete marker, versions stay."""
        full = self._full(key)
        with self._mapped("delete", key):
            self._client.delete_object(Bucket=self.bucket, Key=full)

    # -- beyond the protocol (audit, replication, operators) -----------------------------

    def delete_version(self, key: str, version_id: str) -> None:
        """Delete one version for good; Object Lock retention makes the server refuse it."""
        full = self._full(key)
        with self._mapped("delete version of", key):
            self._client.delete_object(Bucket=self.bucket, Key=full, VersionId=version_id)

    def destroy(self, prefix: str, *, bypass_governance: bool = False) -> int:
        """Delete every version and delete marker under ``prefix`` (a versioned bucket keeps
        a deleted object's bytes as older versions until each is deleted by its id)."""
        count = 0
        refused: list[str] = []
        for full, version in self._versions(prefix):
            extra: dict[str, Any] = {"BypassGovernanceRetention": True} if bypass_governance else {}
            if version is not None:
                extra["VersionId"] = version
            try:
                self._client.delete_object(Bucket=self.bucket, Key=full, **extra)
            except ClientError as exc:
                if _code(exc) in ("AccessDenied", "InvalidRequest", "ObjectLocked"):
                    refused.append(f"{full[len(self.prefix) :]} ({_code(exc)})")
                    continue
                raise self._error(exc, "delete", full[len(self.prefix) :]) from exc
            except BOTO_ERRORS as exc:
                raise self._error(exc, "delete", full[len(self.prefix) :]) from exc
            count += 1
        if refused:
            raise DestructionRefused(
                f"{self.name}: the server refused to delete {len(refused)} object version(s), "
                f"first {refused[0]}"
            )
        return count

    def remnants(self, prefix: str) -> list[str]:
        return sorted(
            f"{full[len(self.prefix) :]}@{version}" if version else full[len(self.prefix) :]
            for full, version in self._versions(prefix)
        )

    def _versions(self, prefix: str) -> list[tuple[str, str | None]]:
        """(full key, version id) of every version and delete marker under ``prefix``; on an
        unversioned bucket the version id is None (or ``"null"``)."""
        if not prefix.strip("/"):
            raise StorageError(f"{self.name}: refusing to destroy the whole bucket")
        found: list[tuple[str, str | None]] = []
        paginator = self._client.get_paginator("list_object_versions")
        pages = paginator.paginate(
            Bucket=self.bucket,
            Prefix=self.prefix + prefix,
            PaginationConfig={"PageSize": self.page_size},
        )
        with self._mapped("list the versions under", prefix):
            for page in pages:
                for entry in (*page.get("Versions", ()), *page.get("DeleteMarkers", ())):
                    found.append((entry["Key"], entry.get("VersionId")))
        return found

    def request_restore(self, key: str, days: int = 1) -> None:
        """Ask for a temporary readable copy of an archived object (idempotent)."""
        full = self._full(key)
        request = {"Days": days, "GlacierJobParameters": {"Tier": "Standard"}}
        try:
            with self._mapped("restore", key):
                self._client.restore_object(Bucket=self.bucket, Key=full, RestoreRequest=request)
        except StorageError as exc:
            if _code(exc.__cause__) != "RestoreAlreadyInProgress":
                raise

    def is_restored(self, key: str) -> bool:
        """Whether :meth:`open` can read the object now (always true outside archive tiers)."""
        head = self._head(self._full(key))
        if head is None:
            raise ObjectNotFound(f"{self.name}: no object {key}")
        if head.get("StorageClass") not in ARCHIVE_CLASSES:
            return True
        return 'ongoing-request="false"' in head.get("Restore", "")

    def bucket_status(self) -> dict[str, Any]:
        with self._mapped("read the settings of bucket", self.bucket):
            versioning = self._client.get_bucket_versioning(Bucket=self.bucket)
            try:
                lock = self._client.get_object_lock_configuration(Bucket=self.bucket)
            except ClientError as exc:
                if _code(exc) != "ObjectLockConfigurationNotFoundError":
                    raise
                lock = {}
        lock_enabled = lock.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled")
        return {
            "bucket": self.bucket,
            "versioning": versioning.get("Status") == "Enabled",
            "object_lock": lock_enabled == "Enabled",
        }

    def matches_sha256(self, key: str, sha256: str, reopen: Any) -> bool:
        """Whether the stored object has this content, by the server's checksum alone.

        For archive classes, whose objects cannot be read. A composite checksum is compared
        with the composite of the source, which ``reopen()`` opens again for reading. False
        when the server has no usable checksum or the object is missing."""
        try:
            head = self._head(self._full(key), ChecksumMode="ENABLED")
        except ObjectNotFound:
            return False
        if head is None or not head.get("ChecksumSHA256"):
            return False
        value = head["ChecksumSHA256"].partition("-")[0]
        if not _is_composite(head):
            return base64.b64decode(value).hex() == sha256
        with reopen() as stream:
            reader = SourceReader(stream, self.part_size)
            while reader.read(self.part_size):
                pass
        return reader.sha256() == sha256 and value == base64.b64encode(reader.checksum()).decode()

    def incomplete_uploads(self, prefix: str = "") -> list[PendingUpload]:
        """Multipart uploads begun under ``prefix`` and never finished (a killed writer)."""
        paginator = self._client.get_paginator("list_multipart_uploads")
        found = []
        with self._mapped("list the uploads under", prefix or "(all keys)"):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
                for upload in page.get("Uploads", ()):
                    key = upload["Key"][len(self.prefix) :]
                    found.append(PendingUpload(key, upload["UploadId"], upload["Initiated"]))
        return found

    def abort_upload(self, key: str, upload_id: str) -> None:
        with self._mapped("abort the upload of", key):
            self._client.abort_multipart_upload(
                Bucket=self.bucket, Key=self._full(key), UploadId=upload_id
            )

    def checksum_sha256(self, key: str) -> str | None:
        """The server's SHA-256 of the whole object in hex, or None.

        None when the object has no SHA-256 checksum or was uploaded in parts: a multipart
        object's checksum is COMPOSITE (a hash of part hashes). moto omits ``ChecksumType``,
        so a multipart ETag (``"...-N"``) also counts as composite.
        """
        head = self._head(self._full(key), ChecksumMode="ENABLED")
        if head is None:
            raise ObjectNotFound(f"{self.name}: no object {key}")
        value = head.get("ChecksumSHA256")
        if not value or "-" in value or _is_composite(head):
            return None
        return base64.b64decode(value).hex()

    # -- internals ----------------------------------------------------------------------

    def _full(self, key: str) -> str:
        parts = key.split("/")
        if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
            raise StorageError(f"{self.name}: refusing unsafe key {key!r}")
        return self.prefix + key

    def _head(self, full: str, **extra: str) -> dict[str, Any] | None:
        key = full[len(self.prefix) :]
        try:
            with self._mapped("stat", key):
                return self._client.head_object(Bucket=self.bucket, Key=full, **extra)
        except ObjectNotFound:
            return None

    def _put_single(
        self, full: str, data: bytes, *, overwrite: bool, until: datetime | None = None
    ) -> dict[str, Any]:
        args = self._write_args(until)
        if not overwrite:
            args["IfNoneMatch"] = "*"
        return self._client.put_object(Bucket=self.bucket, Key=full, Body=data, **args)

    def _write_args(self, until: datetime | None = None) -> dict[str, Any]:
        args: dict[str, Any] = {"ChecksumAlgorithm": "SHA256"}
        if self.storage_class:
            args["StorageClass"] = self.storage_class
        if self.object_lock:
            args["ObjectLockMode"] = self.object_lock.mode
            until = until or datetime.now(UTC) + timedelta(days=self.object_lock.days)
            args["ObjectLockRetainUntilDate"] = until
        return args

    @contextmanager
    def _mapped(self, action: str, key: str) -> Iterator[None]:
        try:
            yield
        except BOTO_ERRORS as exc:
            raise self._error(exc, action, key) from exc

    def _error(self, exc: BaseException, action: str, key: str) -> StorageError:
        if isinstance(exc, FlexibleChecksumError):
            return ObjectCorrupt(f"{self.name}: {key} does not match the server's own checksum")
        code = _code(exc)
        if code in _NOT_FOUND:
            return ObjectNotFound(f"{self.name}: no object {key}")
        if code in _EXISTS:
            return ObjectExists(f"{self.name}: {key} already exists")
        if code in _UNAVAILABLE:
            return ObjectUnavailable(f"{self.name}: {key} is archived and not restored")
        reason = f"{code} (HTTP {_status(exc)})" if code else type(exc).__name__
        return StorageError(f"{self.name}: cannot {action} {key}: {reason}")


def _is_composite(head: dict[str, Any]) -> bool:
    """moto omits ``ChecksumType``; a multipart ETag (``"...-N"``) tells the same."""
    return head.get("ChecksumType") == "COMPOSITE" or "-" in head.get("ETag", "")


def _code(exc: BaseException | None) -> str | None:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "")) or str(_status(exc))
    return None


def _status(exc: ClientError) -> int | None:
    return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
