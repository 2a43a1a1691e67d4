"""The domain error tree.

Every error a user can cause or meet carries its meaning in its type: a stable problem
``type`` slug (rendered as ``https://preserve.dev/problems/<slug>``), a title and an HTTP
status. The API renders them as RFC 9457 problem+json; the CLI prints ``str(error)`` on one
line and exits non-zero.

    PreserveError
    ├── NotFound                     404  (unknown id, or another agency's id)
    ├── Unauthorized                 401
    ├── Forbidden                    403
    ├── InvalidInput                 422  (bad metadata, unsafe path, no files, ...)
    ├── Conflict                     409
    ├── ConfigurationError           500  (a profile or setting that cannot work)
    ├── StorageError                 503  (see preserve.storage.base for its subtree)
    └── IntegrityError               500  (a digest or signature that does not verify)
"""

from __future__ import annotations

from typing import Any, ClassVar


class PreserveError(Exception):
    slug: ClassVar[str] = "error"
    title: ClassVar[str] = "Error"
    status: ClassVar[int] = 500

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(PreserveError):
    slug = "not-found"
    title = "Not found"
    status = 404


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


class Conflict(PreserveError):
    slug = "conflict"
    title = "Conflict with the current state"
    status = 409


class ConfigurationError(PreserveError):
    slug = "configuration"
    title = "Configuration error"
    status = 500


class IntegrityError(PreserveError):
    slug = "integrity"
    title = "A digest or signature did not verify"
    status = 500
