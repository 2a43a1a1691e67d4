"""The one error tree of preserve.

Every error a user can cause or meet carries its meaning in its type: a stable problem
``type`` slug (rendered as ``https://preserve.dev/problems/<slug>``), a title and an HTTP
status. The API renders them as RFC 9457 problem+json; the CLI prints ``str(error)`` on one
line and exits non-zero. Library errors (botocore, bagit, OSError) are mapped to these at the
boundary where they are met, with ``raise ... from exc``.

    PreserveError                              500
    ├── NotFound                               404  (unknown id, or another agency's id)
    │   └── UnknownName                        404  (a --target/--aip/--agency that names nothing)
    ├── Unauthorized                           401
    ├── Forbidden                              403
    ├── InvalidInput                           422  (the request is at fault; never retried)
    │   ├── InvalidMetadata                    422
    │   ├── ChecksFailed                       422  (the four-property checks; slug per item)
    │   ├── UnreadableArchive                  422  (a bag that is neither ZIP nor tar)
    │   ├── UnsafePath                         422
    │   ├── NoFiles                            422
    │   ├── UploadIncomplete                   422
    │   ├── UnknownProfile                     422
    │   ├── FileTooLarge                       413
    │   ├── UnsupportedMediaType               415
    │   └── MalformedUpload                    400
    ├── BadRequest                             400
    │   ├── PermanentRecord                    400  (a destruction decision on a permanent record)
    │   └── NotDue                             400  (destruction before the retention ended)
    ├── Gone                                   410  (a destroyed record; its tombstone answers)
    ├── DestructionRefused                     409  (a target refuses to delete; reported)
    ├── Conflict                               409
    │   ├── IdempotencyConflict                409
    │   └── ReceiptNotReady                    409
    ├── BodyTimeout                            408  (a request body idle or too slow)
    ├── TooManyUploads                         429  (a token sends too many bodies at once)
    ├── RangeNotSatisfiable                    416
    ├── NotAcceptable                          406
    ├── ConfigurationError                     500  (a profile or setting that cannot work)
    ├── IntegrityError                         500  (a digest or signature that does not verify)
    ├── ScannerUnavailable                     503
    └── Retryable                              503  (the same work may succeed later, unchanged)
        ├── InsufficientStorage                507  the archive's own disk is full (not the client)
        └── StorageError                       503  a storage target failed or is unreachable
            ├── ObjectNotFound                 404  no object under that key
            ├── ObjectExists                   409  put() without overwrite on an existing key
            ├── ObjectUnavailable              503  exists but cannot be read now (cold tier)
            ├── ObjectCorrupt                  502  the store's own checksum disagrees (not retried)
            ├── SourceUnavailable              503  a copy's source failed, not its destination
            └── NoHealthySource                503  no copy of the AIP can be read now

The job worker decides from this tree alone what to do with a failed job: a
:class:`Retryable` whose ``retryable`` is true waits and runs again (an outage of its
resource when ``resource_down``), anything else counts as a failed attempt.
"""

from __future__ import annotations

from typing import Any, ClassVar


class PreserveError(Exception):
    slug: ClassVar[str] = "error"
    title: ClassVar[str] = "Error"
    status: ClassVar[int] = 500
    cli_exit: ClassVar[int] = 1  # the CLI's exit status; 2 where the command line is at fault

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(PreserveError):
    slug = "not-found"
    title = "Not found"
    status = 404


class UnknownName(NotFound):
    """A name given on the command line (a target, an AIP, an agency) that the archive does
    not know: a typo must fail, not report a clean, empty result."""

    slug = "unknown-name"
    title = "Unknown name"
    cli_exit = 2


class Unauthorized(PreserveError):
    slug = "unauthorized"
    title = "Authentication required"
    status = 401


class Forbidden(PreserveError):
    slug = "forbidden"
    title = "Not allowed for this role"
    status = 403


class InvalidInput(PreserveError):
    slug = "invalid-input"
    title = "The request is not valid"
    status = 422


class InvalidMetadata(InvalidInput):
    slug = "invalid-metadata"
    title = "The record metadata is not valid"


class ChecksFailed(InvalidInput):
    """A transfer that failed one or more checks: every failed check is listed in ``checks``.

    The problem type is the failed item's own (``invalid-metadata``, ``digest-mismatch``, ...)
    when all failures share one, else ``checks-failed``. Built from a report by
    :func:`preserve.ingest.checks.checks_failed`; here it holds only plain values (each check a
    ``{"code", "name", "outcome", "detail"}`` dict).
    """

    slug = "checks-failed"
    title = "The transfer failed the archive's checks"

    def __init__(
        self,
        failed: list[dict[str, Any]],
        report: list[dict[str, Any]],
        slug: str = "checks-failed",
        sip_id: str | None = None,
    ) -> None:
        detail = "; ".join(f"{c['code']} {c['name']}: {c['detail']}" for c in failed)
        super().__init__(detail, checks=failed, report=report)
        self.slug = slug  # type: ignore[misc]
        self.report = report
        if sip_id:
            self.extra["sip_id"] = sip_id


class UnreadableArchive(InvalidInput):
    """A serialized bag that is not a ZIP or tar this code can read (reported as check 1-13)."""

    slug = "invalid-bag"
    title = "The bag cannot be read"


class UnsafePath(InvalidInput):
    slug = "unsafe-path"
    title = "A file path would escape the package or is not portable"


class NoFiles(InvalidInput):
    slug = "no-files"
    title = "The SIP carries no files"


class UploadIncomplete(InvalidInput):
    slug = "upload-incomplete"
    title = "The upload is not finished"


class UnknownProfile(InvalidInput):
    slug = "unknown-storage-profile"
    title = "No usable storage profile by that name"


class FileTooLarge(InvalidInput):
    slug = "file-too-large"
    title = "A file is larger than this archive accepts"
    status = 413


class UnsupportedMediaType(InvalidInput):
    slug = "unsupported-media-type"
    title = "The request body is not of a type this endpoint accepts"
    status = 415


class MalformedUpload(InvalidInput):
    slug = "malformed-upload"
    title = "The multipart body could not be read"
    status = 400


class BadRequest(PreserveError):
    slug = "bad-request"
    title = "Bad request"
    status = 400


class PermanentRecord(BadRequest):
    """A destruction decision on a record kept permanently (保管期限 永久)."""

    slug = "permanent-record"
    title = "A permanent record cannot be destroyed"


class NotDue(BadRequest):
    slug = "retention-not-ended"
    title = "The record's retention period has not ended"


class Gone(PreserveError):
    slug = "destroyed"
    title = "The record was destroyed"
    status = 410


class DestructionRefused(PreserveError):
    """A target that refuses to delete an AIP's object (Object Lock in compliance mode, a
    permission): reported, never skipped; the destruction stays unfinished."""

    slug = "destruction-refused"
    title = "A target refused to delete"
    status = 409


class Conflict(PreserveError):
    slug = "conflict"
    title = "Conflict with the current state"
    status = 409


class IdempotencyConflict(Conflict):
    slug = "idempotency-key-reused"
    title = "The Idempotency-Key was used for other content"


class ReceiptNotReady(Conflict):
    slug = "receipt-not-ready"
    title = "The SIP has no receipt (yet)"


class BodyTimeout(PreserveError):
    """The request body stopped arriving (idle past the timeout, or slower than the minimum
    rate): the connection is cut off and nothing of the body is kept."""

    slug = "body-timeout"
    title = "The request body arrived too slowly"
    status = 408


class TooManyUploads(PreserveError):
    slug = "too-many-uploads"
    title = "Too many request bodies under way for this token"
    status = 429


class RangeNotSatisfiable(PreserveError):
    slug = "range-not-satisfiable"
    title = "The requested range is outside the file"
    status = 416


class NotAcceptable(PreserveError):
    slug = "not-acceptable"
    title = "No archive format the client accepts"
    status = 406


class ConfigurationError(PreserveError):
    slug = "configuration"
    title = "Configuration error"
    status = 500


class IntegrityError(PreserveError):
    slug = "integrity"
    title = "A digest or signature did not verify"
    status = 500


class ScannerUnavailable(PreserveError):
    slug = "virus-scanner-unavailable"
    title = "The virus scanner cannot be reached"
    status = 503


class Retryable(PreserveError):
    """The same work may succeed later without anyone changing it (a store is down)."""

    slug = "unavailable"
    title = "A service the work needs is unavailable now"
    status = 503
    retryable: ClassVar[bool] = True
    resource_down: ClassVar[bool] = True
    """The resource the job names (its target) is down: hold its other jobs too."""


class InsufficientStorage(Retryable):
    """The archive's own disk (staging, the catalogue) is full: a server fault, never the
    client's; the same request succeeds once space is freed (RFC 4918 §11.5)."""

    slug = "insufficient-storage"
    title = "The archive has no space to take this now"
    status = 507
    resource_down = False


class StorageError(Retryable):
    slug = "storage-unavailable"
    title = "A storage target failed"
    status = 503


class ObjectNotFound(StorageError):
    slug = "object-not-found"
    title = "No such object in the store"
    status = 404


class ObjectExists(StorageError):
    slug = "object-exists"
    title = "The object already exists and is written once"
    status = 409


class ObjectUnavailable(StorageError):
    slug = "object-unavailable"
    title = "The object cannot be read now"
    status = 503


class ObjectCorrupt(StorageError):
    """The store itself says the bytes it returned are not the bytes it stored: bad bytes
    are a failure to repair, not an outage to wait out."""

    slug = "object-corrupt"
    title = "The object does not match the store's own checksum"
    status = 502
    retryable = False


class SourceUnavailable(StorageError):
    """Reading the source of a copy failed: the destination is not to blame for it."""

    slug = "source-unavailable"
    title = "The source of a copy cannot be read"
    status = 503
    resource_down = False


class NoHealthySource(StorageError):
    slug = "no-healthy-copy"
    title = "No copy of the AIP can be read now"
