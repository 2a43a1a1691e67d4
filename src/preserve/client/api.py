"""The client: one object per archive and token, over httpx (synchronous)."""

from __future__ import annotations

import base64
import hashlib
import tarfile
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import httpx

from preserve.client import receipts, sending
from preserve.client.errors import (
    DigestMismatch,
    TransportFailed,
    WaitTimedOut,
    raise_for_problem,
)
from preserve.client.models import (
    Aip,
    Item,
    Page,
    Pushed,
    Receipt,
    Sip,
    Statistics,
    StatRow,
)
from preserve.client.sending import Prepared, Progress

DONE_CHECKING = ("VALIDATED", "STORED", "PRESERVED", "AT_RISK")


def _quiet(_n: int) -> None:
    pass


class Client:
    """``Client(url, token)``: push, find, count and fetch records in one archive.

    Requests that fail to connect are retried (``retries`` times, with backoff); every answer
    other than the expected one raises an :mod:`preserve.client.errors` exception.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = 300,
        retries: int = 5,
        on_retry: Callable[[str], None] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.http = httpx.Client(
            base_url=url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(timeout, connect=10),
            transport=transport,
        )
        self.retries = retries
        self.on_retry = on_retry or (lambda _message: None)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request, retried on connection errors with backoff."""
        for attempt in range(self.retries):
            try:
                return self.http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                if attempt == self.retries - 1:
                    raise TransportFailed(f"{method} {path}: {exc}") from exc
                self.on_retry(f"{method} {path}: {exc}; retrying")
                time.sleep(min(2**attempt, 30))
        raise AssertionError("unreachable")

    def check(self) -> list[dict[str, Any]]:
        """One cheap authenticated request (``GET /v1/keys``), tried once: a wrong URL or
        token is found in a second, before any file is hashed. Returns the archive's keys."""
        try:
            response = self.http.get("/v1/keys", timeout=30)
        except httpx.TransportError as exc:
            raise TransportFailed(f"cannot reach {self.http.base_url}: {exc}") from exc
        raise_for_problem(response)
        try:
            keys = response.json()
        except ValueError:
            keys = None
        if not isinstance(keys, list):
            raise TransportFailed(f"{self.http.base_url} does not answer as a preserve archive")
        return keys

    def _json(self, path: str, **params: Any) -> Any:
        response = self.call("GET", path, params={k: v for k, v in params.items() if v is not None})
        raise_for_problem(response)
        return response.json()

    # -- pushing ---------------------------------------------------------------------------

    def prepare(
        self, directory: Path, metadata: dict[str, Any], progress: Progress = _quiet
    ) -> Prepared:
        """Hash every file under ``directory`` and declare it in the metadata."""
        files = sending.scan(Path(directory))
        if not files:
            raise ValueError(f"{directory} holds no files")
        doc = dict(metadata)
        doc["files"] = {**(doc.get("files") or {}), **sending.declare(files, progress)}
        return Prepared(files, doc, sending.key_for(doc))

    def send(
        self,
        prepared: Prepared,
        *,
        idempotency_key: str | None = None,
        large_bytes: int = 16 * 1024 * 1024,
        uploads: MutableMapping[str, str] | None = None,
        progress: Progress = _quiet,
        on_upload: Callable[[], None] = lambda: None,
    ) -> Pushed:
        """Send a prepared SIP: large files as resumable uploads (their URLs kept in
        ``uploads``, so a later call resumes them), the rest in one multipart POST."""
        uploads = {} if uploads is None else uploads
        key = idempotency_key or prepared.idempotency_key
        uploaded, small = {}, []
        for name, path in prepared.files:
            if path.stat().st_size < large_bytes:
                small.append((name, path))
                continue
            try:
                uploaded[name] = sending.upload(
                    self.call,
                    path,
                    uploads.get(name),
                    progress,
                    lambda loc, n=name: uploads.update({n: loc}),
                )
            finally:
                on_upload()
        boundary = f"preserve-push-{uuid.uuid4().hex}"
        response = self.call(
            "POST",
            "/v1/sips",
            content=sending.multipart(prepared.metadata, small, uploaded, boundary, progress),
            headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Idempotency-Key": key,
            },
        )
        raise_for_problem(response, 200, 202)
        body = response.json()
        return Pushed(body["id"], body["state"], key, response.status_code == 200)

    def push(self, directory: Path, metadata: dict[str, Any], **options: Any) -> Pushed:
        """Push every file under ``directory`` as one SIP (see :meth:`send` for options)."""
        return self.send(self.prepare(directory, metadata), **options)

    def wait(
        self,
        sip_id: str,
        until: tuple[str, ...] = ("PRESERVED",),
        *,
        timeout: float = 600,
        poll: float = 0.5,
    ) -> Sip:
        """The SIP once its state is in ``until`` or REJECTED; :class:`WaitTimedOut` if not
        within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            sip = self.get_sip(sip_id)
            if sip.state in until or sip.state == "REJECTED":
                return sip
            if time.monotonic() > deadline:
                raise WaitTimedOut(f"SIP {sip_id} is {sip.state} after {timeout} s", sip)
            time.sleep(poll)

    def receipt(self, sip_id: str, *, verify: bool = True) -> Receipt:
        """The signed receipt of an accepted SIP, verified with ``GET /v1/keys``."""
        response = self.call("GET", f"/v1/sips/{sip_id}/receipt")
        raise_for_problem(response)
        document = response.json()
        if verify:
            receipts.verify(document, receipts.trusted_keys(self._json("/v1/keys")))
        return Receipt(document["receipt"], document["signature"], response.content, verify)

    # -- finding ---------------------------------------------------------------------------

    def get_sip(self, sip_id: str) -> Sip:
        return Sip.from_json(self._json(f"/v1/sips/{sip_id}"))

    def get_aip(self, aip_id: str) -> Aip:
        return Aip.from_json(self._json(f"/v1/aips/{aip_id}"))

    def list_aips(self, **filters: Any) -> Page[Item]:
        """One page of ``GET /v1/aips``; filters as the API names them (``cursor=`` too)."""
        return self._page("/v1/aips", filters)

    def list_sips(self, **filters: Any) -> Page[Item]:
        return self._page("/v1/sips", filters)

    def iter_aips(self, **filters: Any) -> Iterator[Item]:
        """Every matching AIP, page after page."""
        return self._iterate(self.list_aips, filters)

    def iter_sips(self, **filters: Any) -> Iterator[Item]:
        return self._iterate(self.list_sips, filters)

    def search(self, q: str, **filters: Any) -> Iterator[Item]:
        """AIPs whose metadata contains ``q``, best matches first."""
        return self.iter_aips(q=q, **filters)

    def statistics(self, by: str = "agency", **filters: Any) -> Statistics:
        doc = self._json("/v1/statistics", by=by, **filters)
        return Statistics(doc["by"], [StatRow(**row) for row in doc["rows"]])

    def _page(self, path: str, filters: dict[str, Any]) -> Page[Item]:
        doc = self._json(path, **filters)
        return Page([Item.from_json(i) for i in doc["items"]], doc["next_cursor"])

    @staticmethod
    def _iterate(list_page: Callable[..., Page[Item]], filters: dict[str, Any]) -> Iterator[Item]:
        cursor = filters.pop("cursor", None)
        while True:
            page = list_page(**filters, cursor=cursor)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    # -- fetching --------------------------------------------------------------------------

    def download_file(self, aip_id: str, path: str, dest: Path) -> Path:
        """One payload file to ``dest``, checked against the archive's SHA-256 and SHA-512;
        a file that does not match is removed and :class:`DigestMismatch` raised."""
        dest = Path(dest)
        hashes = {"sha-256": hashlib.sha256(), "sha-512": hashlib.sha512()}
        with self.http.stream("GET", f"/v1/aips/{aip_id}/files/{path}") as response:
            raise_for_problem(response)
            expected = _repr_digest(response.headers.get("repr-digest", ""))
            with open(dest, "wb") as out:
                for block in response.iter_bytes(1024 * 1024):
                    out.write(block)
                    for h in hashes.values():
                        h.update(block)
        got = {name: base64.b64encode(h.digest()).decode() for name, h in hashes.items()}
        if not expected or any(got[k] != v for k, v in expected.items() if k in got):
            dest.unlink(missing_ok=True)
            raise DigestMismatch(f"data/{path} of AIP {aip_id} does not match its digests")
        return dest

    def download_aip(self, aip_id: str, dest: Path, fmt: str = "zip") -> Path:
        """The whole AIP bag as zip or tar, every payload file checked against the catalogue
        (``GET /v1/aips/{id}``) once written; a mismatch removes it and raises."""
        dest, aip = Path(dest), self.get_aip(aip_id)
        with self.http.stream("GET", f"/v1/aips/{aip_id}/download", params={"format": fmt}) as r:
            raise_for_problem(r)
            with open(dest, "wb") as out:
                for block in r.iter_bytes(1024 * 1024):
                    out.write(block)
        try:
            _check_bag(dest, aip)
        except DigestMismatch:
            dest.unlink(missing_ok=True)
            raise
        return dest


def _repr_digest(header: str) -> dict[str, str]:
    """``sha-256=:b64:, sha-512=:b64:`` (RFC 9530) as {algorithm: base64}."""
    out = {}
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if value.startswith(":") and value.endswith(":"):
            out[name.lower()] = value[1:-1]
    return out


def _members(archive: Path) -> Iterator[tuple[str, Callable[[], Any]]]:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                yield info.filename, lambda info=info: z.open(info)
        return
    with tarfile.open(archive) as t:
        for member in t:
            if member.isfile():
                yield member.name, lambda member=member: t.extractfile(member)


def _check_bag(archive: Path, aip: Aip) -> None:
    wanted = {f"{aip.id}/data/{f.path}": f.sha256 for f in aip.files}
    seen = set()
    for name, open_member in _members(archive):
        if name not in wanted:
            continue
        digest = hashlib.sha256()
        with open_member() as f:
            while block := f.read(1024 * 1024):
                digest.update(block)
        if digest.hexdigest() != wanted[name]:
            raise DigestMismatch(f"{name} in the downloaded AIP does not match the catalogue")
        seen.add(name)
    if missing := sorted(set(wanted) - seen):
        raise DigestMismatch(f"the downloaded AIP lacks {', '.join(missing[:3])}")
