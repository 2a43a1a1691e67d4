"""Streaming a whole AIP as one zip or tar, bag intact, without staging it anywhere.

The archive is written into a small in-memory sink as the store is read and handed on in
chunks of about a megabyte, so a 2 GiB AIP costs the same memory as a 2 KiB one. Zip entries
are stored (not deflated: records are mostly compressed formats already), with data
descriptors, since the CRC-32 is known only once the bytes have passed, and ZIP64 where sizes or
offsets need it (Python's ``zipfile`` does all three on a stream that cannot seek). Tar is
POSIX pax, written header by header (``TarInfo.tobuf``) for the same reason.

Every member is checked as it passes: tag files against the signed tag manifest (and the
sha512 one), payload files against the signed manifest. When one does not match, the stream
stops before the zip's central directory or the tar's end blocks, so a damaged archive never
arrives looking complete.
"""

from __future__ import annotations

import enum
import hashlib
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from preserve.access.checked import iter_checked
from preserve.access.sources import AipRecord, Source
from preserve.aip import bag as bagit
from preserve.aip.layout import aip_key
from preserve.errors import IntegrityError, NotAcceptable
from preserve.storage.base import read_bytes

FLUSH_AT = 256 * 1024
TAR_BLOCK = 512
TAR_RECORD = 20 * TAR_BLOCK


class ArchiveFormat(enum.StrEnum):
    ZIP = "zip"
    TAR = "tar"

    @property
    def media_type(self) -> str:
        return {"zip": "application/zip", "tar": "application/x-tar"}[self.value]


_MEDIA = {
    "application/zip": ArchiveFormat.ZIP,
    "application/x-zip-compressed": ArchiveFormat.ZIP,
    "application/x-tar": ArchiveFormat.TAR,
    "application/tar": ArchiveFormat.TAR,
}


def negotiate(explicit: ArchiveFormat | None, accept: str | None) -> ArchiveFormat:
    """``?format=`` wins; else the ``Accept`` media range with the highest q; zip on ties."""
    if explicit is not None:
        return explicit
    if not accept or not accept.strip():
        return ArchiveFormat.ZIP
    scores = {fmt: 0.0 for fmt in ArchiveFormat}
    for item in accept.split(","):
        media, q = _media_range(item)
        for name, fmt in _MEDIA.items():
            if media in (name, "*/*", name.split("/")[0] + "/*"):
                scores[fmt] = max(scores[fmt], q)
    best = max(ArchiveFormat, key=lambda fmt: scores[fmt])  # ZIP first on a tie
    if scores[best] <= 0:
        raise NotAcceptable(
            f"Accept: {accept} admits neither application/zip nor application/x-tar"
        )
    return best


def _media_range(item: str) -> tuple[str, float]:
    media, *params = (p.strip() for p in item.split(";"))
    q = 1.0
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                q = float(value)
            except ValueError:
                q = 0.0
    return media.lower(), q


@dataclass(frozen=True)
class Member:
    relpath: str
    size: int
    sha256: str


@dataclass(frozen=True)
class ArchivePlan:
    """What goes in the archive: the verified tag files in memory, the payload to stream."""

    aip_id: str
    source: Source
    tag_files: list[tuple[str, bytes]]
    payload: list[Member]
    when: datetime

    @property
    def payload_bytes(self) -> int:
        return sum(m.size for m in self.payload)


def plan_archive(source: Source, record: AipRecord) -> ArchivePlan:
    """Read and check every tag file now, so a bad copy fails before the response starts."""
    names = [*sorted(source.tag_sha256), bagit.TAGMANIFEST, *bagit.UNRECORDED]
    files = {**source.tag_files, bagit.TAGMANIFEST: source.tagmanifest}
    for name in names:
        if name not in files:
            files[name] = read_bytes(source.store, aip_key(record.aip_id, name))
    for name, want in source.tag_sha256.items():
        if hashlib.sha256(files[name]).hexdigest() != want:
            raise IntegrityError(f"{source.target}: {name} does not match the signed tag manifest")
    _check_sha512_tagmanifest(source.target, files)  # again, on the bytes that will be sent
    payload = [
        Member(f"data/{path}", record.files[path].size, digest)
        for path, digest in sorted(source.payload_sha256.items())
    ]
    tags = [(n, files[n]) for n in sorted(names, key=_tag_rank)]
    return ArchivePlan(record.aip_id, source, tags, payload, record.created_at)


def _tag_rank(name: str) -> tuple[int, str]:
    """bagit.txt first, so a reader that streams the archive meets the declaration first."""
    firsts = ["bagit.txt", "bag-info.txt"]
    return (firsts.index(name), name) if name in firsts else (2, name)


def _check_sha512_tagmanifest(target: str, files: dict[str, bytes]) -> None:
    """The sha512 tag manifest is not signed, but a client's bag validator will check it."""
    raw = files.get("tagmanifest-sha512.txt")
    if raw is None:
        return
    try:
        entries = bagit.parse_manifest(raw)
    except ValueError as exc:
        raise IntegrityError(f"{target}: tagmanifest-sha512.txt is malformed: {exc}") from None
    for name, want in entries.items():
        data = files.get(name)
        if data is None or hashlib.sha512(data).hexdigest() != want:
            raise IntegrityError(f"{target}: tagmanifest-sha512.txt disagrees about {name}")


class _Sink:
    """A write-only, non-seekable file: what ``zipfile`` sees instead of a file on disk."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.pending = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._parts.append(data if isinstance(data, bytes) else bytes(data))
        self.pending += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        self.pending = 0
        return data


def iter_archive(
    plan: ArchivePlan,
    fmt: ArchiveFormat,
    on_complete: Callable[[int], None] | None = None,
) -> Iterator[bytes]:
    """The archive's bytes; ``on_complete(bytes_sent)`` runs once the last byte is out."""
    writer = _iter_zip if fmt == ArchiveFormat.ZIP else _iter_tar
    sent = 0
    for chunk in writer(plan):
        sent += len(chunk)
        yield chunk
    if on_complete is not None:
        on_complete(sent)


def _iter_zip(plan: ArchivePlan) -> Iterator[bytes]:
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, data in plan.tag_files:
            with zf.open(_zipinfo(plan, name, len(data)), "w") as out:
                out.write(data)
            if sink.pending >= FLUSH_AT:
                yield sink.take()
        for member in plan.payload:
            with zf.open(_zipinfo(plan, member.relpath, member.size), "w") as out:
                for chunk in _verified_chunks(plan, member):
                    out.write(chunk)
                    if sink.pending >= FLUSH_AT:
                        yield sink.take()
    yield sink.take()


def _zipinfo(plan: ArchivePlan, relpath: str, size: int) -> zipfile.ZipInfo:
    when = plan.when
    info = zipfile.ZipInfo(f"{plan.aip_id}/{relpath}", date_time=when.timetuple()[:6])
    info.compress_type = zipfile.ZIP_STORED
    info.file_size = size  # lets zipfile choose ZIP64 headers up front for large members
    info.external_attr = 0o644 << 16
    return info


def _iter_tar(plan: ArchivePlan) -> Iterator[bytes]:
    written = 0
    for name, data in plan.tag_files:
        block = _tar_header(plan, name, len(data)) + data + _padding(len(data))
        written += len(block)
        yield block
    for member in plan.payload:
        header = _tar_header(plan, member.relpath, member.size)
        written += len(header)
        yield header
        for chunk in _verified_chunks(plan, member):
            written += len(chunk)
            yield chunk
        pad = _padding(member.size)
        written += len(pad)
        yield pad
    end = b"\0" * (2 * TAR_BLOCK)
    written += len(end)
    yield end + b"\0" * (-written % TAR_RECORD)


def _tar_header(plan: ArchivePlan, relpath: str, size: int) -> bytes:
    info = tarfile.TarInfo(f"{plan.aip_id}/{relpath}")
    info.size = size
    info.mtime = int(plan.when.timestamp())
    info.mode = 0o644
    info.uname = info.gname = "preserve"
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def _padding(size: int) -> bytes:
    return b"\0" * (-size % TAR_BLOCK)


def _verified_chunks(plan: ArchivePlan, member: Member) -> Iterator[bytes]:
    """The member's bytes; the last chunk is held back until its sha256 has matched, so a bad
    member is always cut short (a tar reader then fails on it instead of taking it whole)."""

    def mismatch(read: int, sha256: str) -> str:
        return (
            f"{plan.source.target}: {member.relpath} does not match the signed manifest "
            f"({read} bytes read, {member.size} expected)"
        )

    stream = plan.source.store.open(aip_key(plan.aip_id, member.relpath))
    return iter_checked(stream, member.size, member.sha256, mismatch)
