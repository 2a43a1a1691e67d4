"""Preparing and sending a SIP: declared digests, resumable uploads (tus 1.0), a streamed
multipart body. Memory stays flat whatever the files weigh."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from preserve.client.errors import raise_for_problem

CHUNK = 8 * 1024 * 1024
TUS = {"Tus-Resumable": "1.0.0"}
Progress = Callable[[int], None]


def _quiet(_n: int) -> None:
    pass


@dataclass(frozen=True)
class Prepared:
    """A SIP ready to send: its files, the metadata declaring them, its Idempotency-Key."""

    files: list[tuple[str, Path]]
    metadata: dict[str, Any]
    idempotency_key: str

    @property
    def total_bytes(self) -> int:
        return sum(p.stat().st_size for _, p in self.files)


def scan(root: Path) -> list[tuple[str, Path]]:
    """Every file under ``root`` as (relative POSIX path, file), sorted."""
    return [(p.relative_to(root).as_posix(), p) for p in sorted(root.rglob("*")) if p.is_file()]


def declare(files: list[tuple[str, Path]], progress: Progress = _quiet) -> dict[str, Any]:
    """``{path: {sha256, size}}`` for the metadata, so the archive checks each file."""
    declared = {}
    for name, path in files:
        digest, size = hashlib.sha256(), 0
        with open(path, "rb") as f:
            while block := f.read(1024 * 1024):
                digest.update(block)
                size += len(block)
                progress(len(block))
        declared[name] = {"sha256": digest.hexdigest(), "size": size}
    return declared


def key_for(metadata: dict[str, Any]) -> str:
    """An Idempotency-Key derived from the content: the same record always gets the same."""
    canonical = json.dumps(metadata, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return "push-" + hashlib.sha256(canonical.encode()).hexdigest()[:40]


def upload(
    call: Callable[..., Any],
    path: Path,
    location: str | None,
    progress: Progress = _quiet,
    on_location: Callable[[str], None] = lambda _loc: None,
) -> str:
    """A finished upload's id, resuming the upload at ``location`` if the server has it."""
    size = path.stat().st_size
    offset = None
    if location:
        head = call("HEAD", location, headers=TUS)
        offset = int(head.headers["Upload-Offset"]) if head.status_code == 200 else None
    if offset is None:
        created = call("POST", "/v1/uploads", headers={**TUS, "Upload-Length": str(size)})
        raise_for_problem(created, 201)
        location, offset = created.headers["Location"], 0
        on_location(location)
    progress(offset)
    with open(path, "rb") as f:
        while offset < size:
            f.seek(offset)
            block = f.read(CHUNK)
            headers = {
                **TUS,
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
            }
            response = call("PATCH", location, content=block, headers=headers)
            if response.status_code == 409:  # the server has another offset: ask it
                new = int(call("HEAD", location, headers=TUS).headers["Upload-Offset"])
                progress(new - offset)
                offset = new
                continue
            raise_for_problem(response, 204)
            progress(len(block))
            offset = int(response.headers["Upload-Offset"])
    return location.rsplit("/", 1)[-1]


def multipart(
    metadata: dict[str, Any],
    small: list[tuple[str, Path]],
    uploaded: dict[str, str],
    boundary: str,
    progress: Progress = _quiet,
) -> Iterator[bytes]:
    """The ``POST /v1/sips`` body: metadata, finished uploads, then each small file."""

    def part(headers: str) -> bytes:
        return f"--{boundary}\r\n{headers}\r\n\r\n".encode()

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
                progress(len(block))
                yield block
        yield b"\r\n"
    yield f"--{boundary}--\r\n".encode()
