"""A Python client for the archive, for agency developers: push, find, count and fetch.

    from preserve.client import Client

    with Client("https://archive.example", token) as archive:
        pushed = archive.push(Path("record"), {"title": "…", "archival_code": "…"})
        sip = archive.wait(pushed.sip_id)
        receipt = archive.receipt(pushed.sip_id)  # signature verified

It depends on httpx and cryptography only, never on the server's packages.
"""

from preserve.client.api import Client
from preserve.client.errors import (
    ApiError,
    BadRequest,
    ClientError,
    Conflict,
    DigestMismatch,
    Forbidden,
    NotFound,
    ReceiptInvalid,
    ServerError,
    TransportFailed,
    Unauthorized,
    WaitTimedOut,
)
from preserve.client.models import Aip, AipFile, Item, Page, Pushed, Receipt, Sip, Statistics

__all__ = [
    "Aip",
    "AipFile",
    "ApiError",
    "BadRequest",
    "Client",
    "ClientError",
    "Conflict",
    "DigestMismatch",
    "Forbidden",
    "Item",
    "NotFound",
    "Page",
    "Pushed",
    "Receipt",
    "ReceiptInvalid",
    "ServerError",
    "Sip",
    "Statistics",
    "TransportFailed",
    "Unauthorized",
    "WaitTimedOut",
]
