"""``preserve push DIR --metadata meta.json --url URL --token T``: the agency's client.

1. Hash every file under DIR (sha256) and declare each path, size and digest in the metadata,
   so the archive checks them (DA/T 70 2-1, 2-2, 2-7).
2. Files of ``--large-mib`` or more go as resumable uploads (tus 1.0): each is created once,
   its URL kept in a state file, and sent in chunks; after a failure the next run asks the
   server's offset (HEAD) and goes on from there.
3. One ``POST /v1/sips`` carries the metadata, the small files and the finished uploads, with
   an ``Idempotency-Key`` derived from the content (or ``--idempotency-key``): a retry after a
   dropped connection, or a second run, returns the same SIP and never makes a second one.
4. Wait until the archive has run its checks, fetch the signed receipt, verify it against
   ``GET /v1/keys``, print it (and save it with ``--receipt``).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import typer

from preserve.cli.common import console, err_console
from preserve.cli.progress import byte_progress
from preserve.cli.receipt import describe, trusted_from_keys_json
from preserve.errors import InvalidInput, PreserveError
from preserve.ingest import receipt as receipts

CHUNK = 8 * 1024 * 1024
RETRIES = 5


class PushFailed(PreserveError):
    slug = "push-failed"
    title = "The push did not complete"


def _scan(root: Path) -> list[tuple[str, Path]]:
    files = [(p.relative_to(root).as_posix(), p) for p in sorted(root.rglob("*")) if p.is_file()]
    if not files:
        raise InvalidInput(f"{root} holds no files")
    return files


def _hash(files: list[tuple[str, Path]]) -> dict[str, dict[str, Any]]:
    declared = {}
    total = sum(p.stat().st_size for _, p in files)
    with byte_progress("hashing", total) as advance:
        for name, path in files:
            digest, size = hashlib.sha256(), 0
            with open(path, "rb") as f:
                while block := f.read(1024 * 1024):
                    digest.update(block)
                    size += len(block)
                    advance(len(block))
            declared[name] = {"sha256": digest.hexdigest(), "size": size}
    return declared


def _key_for(metadata: dict[str, Any]) -> str:
    canonical = json.dumps(metadata, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return "push-" + hashlib.sha256(canonical.encode()).hexdigest()[:40]


class Client:
    def __init__(self, url: str, token: str, timeout: float) -> None:
        self.http = httpx.Client(
            base_url=url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(timeout, connect=10),
        )

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request, retried on connection errors with backoff."""
        for attempt in range(RETRIES):
            try:
                return self.http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                if attempt == RETRIES - 1:
                    raise PushFailed(f"{method} {path}: {exc}") from exc
                err_console.print(f"{method} {path}: {exc}; retrying")
                time.sleep(min(2**attempt, 30))
        raise AssertionError("unreachable")


def _upload(client: Client, name: str, path: Path, state: dict[str, str], advance) -> str:
    """A finished upload's id, resuming the one in ``state`` if the server still has it."""
    size = path.stat().st_size
    location = state.get(name)
    offset = None
    if location:
        head = client.call("HEAD", location, headers={"Tus-Resumable": "1.0.0"})
        offset = int(head.headers["Upload-Offset"]) if head.status_code == 200 else None
    if offset is None:
        created = client.call(
            "POST", "/v1/uploads", headers={"Tus-Resumable": "1.0.0", "Upload-Length": str(size)}
        )
        _expect(created, 201)
        location, offset = created.headers["Location"], 0
        state[name] = location
    advance(offset)
    with open(path, "rb") as f:
        while offset < size:
            f.seek(offset)
            block = f.read(CHUNK)
            response = client.call(
                "PATCH",
                location,
                content=block,
                headers={
                    "Tus-Resumable": "1.0.0",
                    "Upload-Offset": str(offset),
                    "Content-Type": "application/offset+octet-stream",
                },
            )
            if response.status_code == 409:  # the server has another offset: ask it
                head = client.call("HEAD", location, headers={"Tus-Resumable": "1.0.0"})
                new = int(head.headers["Upload-Offset"])
                advance(new - offset)
                offset = new
                continue
            _expect(response, 204)
            advance(len(block))
            offset = int(response.headers["Upload-Offset"])
    return location.rsplit("/", 1)[-1]


def _form(metadata: dict, small: list[tuple[str, Path]], uploaded: dict[str, str], boundary: str):
    """A streamed multipart body: memory stays flat whatever the files weigh."""

    def part(headers: str) -> bytes:
        return f"--{boundary}\r\n{headers}\r\n\r\n".encode()

    def body() -> Iterator[bytes]:
        yield part('Content-Disposition: form-data; name="metadata"')
        yield json.dumps(metadata, ensure_ascii=False).encode() + b"\r\n"
        if uploaded:
            yield part('Content-Disposition: form-data; name="uploads"')
            yield json.dumps(uploaded, ensure_ascii=False).encode() + b"\r\n"
        for name, path in small:
            quoted = name.replace('"', "%22")
            yield part(f'Content-Disposition: form-data; name="files"; filename="{quoted}"')
            with open(path, "rb") as f:
                while block := f.read(1024 * 1024):
                    yield block
            yield b"\r\n"
        yield f"--{boundary}--\r\n".encode()

    return body


def _expect(response: httpx.Response, *codes: int) -> None:
    if response.status_code in codes:
        return
    try:
        problem = response.json()
    except ValueError:
        raise PushFailed(
            f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code}: {response.text[:300]}"
        ) from None
    for check in problem.get("checks") or []:
        err_console.print(f"  {check['code']} {check['name']}: {check['detail']}", markup=False)
    raise PushFailed(problem.get("detail") or problem.get("title") or str(response.status_code))


def _wait(client: Client, sip_id: str, seconds: float) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        sip = client.call("GET", f"/v1/sips/{sip_id}")
        _expect(sip, 200)
        doc = sip.json()
        if doc["state"] != "RECEIVED" or time.monotonic() > deadline:
            return doc
        time.sleep(0.5)


def push(
    directory: Path = typer.Argument(..., exists=True, file_okay=False, help="The record's files."),
    metadata: Path = typer.Option(..., exists=True, dir_okay=False, help="Record metadata JSON."),
    url: str = typer.Option(..., envvar="PRESERVE_URL", help="The archive, e.g. https://host"),
    token: str = typer.Option(..., envvar="PRESERVE_TOKEN", help="A submitter token."),
    idempotency_key: str | None = typer.Option(None, help="Default: derived from the content."),
    large_mib: int = typer.Option(16, help="Files this large or larger go as resumable uploads."),
    state_dir: Path = typer.Option(
        Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "preserve" / "push",
        help="Where upload URLs are kept between runs.",
    ),
    wait: float = typer.Option(600, help="Seconds to wait for the archive's checks (0: don't)."),
    receipt: Path | None = typer.Option(None, help="Save the signed receipt here."),
    timeout: float = typer.Option(300, help="Seconds one request may take."),
) -> None:
    """Push DIR as one SIP, resuming after failures; print the verified receipt."""
    doc = json.loads(metadata.read_bytes())
    if not isinstance(doc, dict):
        raise InvalidInput(f"{metadata} must hold a JSON object")
    files = _scan(directory)
    doc["files"] = {**(doc.get("files") or {}), **_hash(files)}
    key = idempotency_key or _key_for(doc)
    state_file = state_dir / f"{key}.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    client = Client(url, token, timeout)
    large = [(n, p) for n, p in files if p.stat().st_size >= large_mib * 1024 * 1024]
    small = [(n, p) for n, p in files if p.stat().st_size < large_mib * 1024 * 1024]
    uploaded: dict[str, str] = {}
    total = sum(p.stat().st_size for _, p in files)
    with byte_progress("sending", total) as advance:
        for name, path in large:
            try:
                uploaded[name] = _upload(client, name, path, state, advance)
            finally:
                state_dir.mkdir(parents=True, exist_ok=True)
                state_file.write_text(json.dumps(state))
        boundary = f"preserve-push-{uuid.uuid4().hex}"
        body = _form(doc, small, uploaded, boundary)

        def counted() -> Iterator[bytes]:
            for block in body():
                advance(len(block) if len(block) > 1024 else 0)
                yield block

        response = client.call(
            "POST",
            "/v1/sips",
            content=counted(),
            headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Idempotency-Key": key,
            },
        )
    _expect(response, 200, 202)
    state_file.unlink(missing_ok=True)
    sip_id = response.json()["id"]
    replay = " (already received: same Idempotency-Key)" if response.status_code == 200 else ""
    console.print(f"SIP {sip_id} received{replay}; Idempotency-Key {key}", highlight=False)
    if wait <= 0:
        return
    _finish(client, sip_id, wait, receipt)


def _finish(client: Client, sip_id: str, wait: float, save: Path | None) -> None:
    sip = _wait(client, sip_id, wait)
    if sip["state"] == "REJECTED":
        for reason in sip["reasons"]:
            err_console.print(f"  {reason}", markup=False)
        raise PushFailed(f"SIP {sip_id} was rejected")
    if sip["state"] == "RECEIVED":
        raise PushFailed(f"SIP {sip_id} is still being checked; fetch its receipt later")
    document = client.call("GET", f"/v1/sips/{sip_id}/receipt")
    _expect(document, 200)
    keys = client.call("GET", "/v1/keys")
    _expect(keys, 200)
    checked = receipts.check(document.json(), trusted_from_keys_json(keys.json()))
    if save is not None:
        save.write_bytes(document.content)
    console.print_json(json.dumps(document.json(), ensure_ascii=False))
    console.print(f"receipt verified: {describe(checked)}", highlight=False)
