"""Safe unpacking of a serialized bag (ZIP or tar; gzip is undone while receiving).

Every member is looked at before any byte is written (check P-1). Refused: absolute paths
(POSIX, drive letters, UNC), ``..`` segments, backslashes, control characters, names that are
not UTF-8, symbolic and hard links, device files and FIFOs, an entry given twice, two names
that are the same after Unicode NFC normalisation, a file that is also a folder, paths over the
profile's byte limit, more files than its limit, a total size over its limit, and a ZIP whose
members would expand more than the profile's ratio over their compressed size (a zip bomb); an
encrypted ZIP cannot be unpacked and is refused too. Two names equal after case folding are
kept, with a warning (they collide on Windows and macOS).

Members are then written one at a time, with the paths checked here, under the SIP's staging
folder only, through a writer that hashes and refuses to write more bytes than the member
declared. Nothing outside staging is ever opened for writing; links are never created.
"""

from __future__ import annotations

import tarfile
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from preserve.aip.paths import UnsafePath, safe_relative_path
from preserve.errors import UnreadableArchive
from preserve.ingest.checks import Report
from preserve.ingest.profile import UnpackLimits

ZIP, TAR = "zip", "tar"
# What reading a damaged archive raises: a bad CRC, a corrupt deflate stream, a name flagged
# UTF-8 that is not, a truncated member.
UNREADABLE = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    tarfile.TarError,
    zlib.error,
    OSError,
    EOFError,
    UnicodeDecodeError,
    NotImplementedError,
    ValueError,
)


def _short(exc: BaseException) -> str:
    return str(exc)[:200]


@dataclass(frozen=True)
class Member:
    raw: str  # the name as stored
    path: str  # checked, NFC, relative to the archive root, no trailing '/'
    is_dir: bool
    size: int
    compressed: int
    handle: Any  # ZipInfo or TarInfo


def sniff(path: Path) -> str | None:
    """ZIP or tar by content, whatever the sender called it."""
    if zipfile.is_zipfile(path):
        return ZIP
    try:
        if tarfile.is_tarfile(path):
            return TAR
    except OSError:
        return None
    return None


@contextmanager
def open_archive(path: Path, kind: str) -> Iterator[Any]:
    try:
        archive: Any = (
            zipfile.ZipFile(path)
            if kind == ZIP
            else tarfile.open(path, mode="r:", encoding="utf-8", errors="surrogateescape")  # noqa: SIM115
        )
    except UNREADABLE as exc:
        raise UnreadableArchive(f"the bag cannot be read as {kind}: {_short(exc)}") from exc
    try:
        yield archive
    finally:
        archive.close()


def raw_members(archive: Any, kind: str) -> list[tuple[str, str, int, int, Any]]:
    """(name, type, size, compressed size, handle) for every entry; type is one of file, dir,
    symlink, hardlink, device, encrypted."""
    out = []
    try:
        if kind == ZIP:
            for info in archive.infolist():
                mode = (info.external_attr >> 16) & 0o170000
                kind_of = "dir" if info.is_dir() else "file"
                if mode == 0o120000:
                    kind_of = "symlink"
                elif mode not in (0, 0o100000, 0o040000):
                    kind_of = "device"
                if info.flag_bits & 0x1:
                    kind_of = "encrypted"
                # orig_filename: zipfile cuts a name at NUL; the cut name must not pass
                name = info.orig_filename
                out.append((name, kind_of, info.file_size, info.compress_size, info))
        else:
            infos = list(archive)
            for info in infos:
                kind_of = (
                    "file"
                    if info.isreg()
                    else "dir"
                    if info.isdir()
                    else "symlink"
                    if info.issym()
                    else "hardlink"
                    if info.islnk()
                    else "device"
                )
                # tarfile cuts a name at NUL; a cut name keeps its NUL so it is refused
                cut = _tar_name_cut(archive.fileobj, info)
                out.append((info.name + cut, kind_of, info.size, info.size, info))
    except UNREADABLE as exc:
        raise UnreadableArchive(f"the bag's entries cannot be read: {_short(exc)}") from exc
    return out


def _tar_name_cut(fileobj: Any, info: tarfile.TarInfo) -> str:
    """What tarfile dropped from ``info``'s name at a NUL (``"\\x00…"``), or ``""``.

    tarfile reads the ustar name and prefix fields and a GNU long name up to their first NUL
    and ignores the rest, so ``data/a\\x00b.txt`` arrives as ``data/a``. The raw header (and a
    long name's data block) is read again here: anything but NUL after the first NUL is a cut
    name. PAX names keep their NUL, and the path check refuses them."""
    fileobj.seek(info.offset)
    header = fileobj.read(tarfile.BLOCKSIZE)
    fields = [header[0:100]]
    if header[257:265] == tarfile.POSIX_MAGIC:  # GNU headers keep times there, not a prefix
        fields.append(header[345:500])
    if header[156:157] == tarfile.GNUTYPE_LONGNAME:
        fields = [fileobj.read(min(tarfile.nti(header[124:136]), 64 * 1024))]
    for field in fields:
        _, nul, rest = field.partition(b"\0")
        if nul and rest.strip(b"\0"):
            return "\x00" + rest.rstrip(b"\0").decode("utf-8", "replace")
    return ""


def check_members(
    entries: list[tuple[str, str, int, int, Any]],
    limits: UnpackLimits,
    report: Report,
    compressed_total: int | None = None,
) -> list[Member]:
    """Every entry checked (P-1 failures and warnings go to ``report``); the safe members."""
    members: list[Member] = []
    seen: dict[str, str] = {}  # NFC path -> raw name
    folded: dict[str, str] = {}
    for raw, kind, size, compressed, handle in entries:
        problem = _member_problem(raw, kind, limits)
        if problem:
            report.fail("P-1", problem)
            continue
        path = _clean(raw)
        if path is None:  # the archive root itself ('./')
            continue
        if path in seen:
            what = "is given twice" if seen[path] == raw else f"and {seen[path]!r} are one name"
            report.fail("P-1", f"entry {raw!r} {what} after Unicode NFC normalisation")
            continue
        seen[path] = raw
        fold = path.casefold()
        if fold in folded and kind != "dir":
            report.warn("P-1", f"{raw!r} and {folded[fold]!r} differ only in letter case")
        folded.setdefault(fold, raw)
        members.append(Member(raw, path, kind == "dir", size, compressed, handle))
    _check_clashes(members, report)
    _check_limits(members, limits, report, compressed_total)
    return members


def _member_problem(raw: str, kind: str, limits: UnpackLimits) -> str | None:
    if kind in ("symlink", "hardlink"):
        return f"entry {raw!r} is a {'symbolic' if kind == 'symlink' else 'hard'} link"
    if kind == "device":
        return f"entry {raw!r} is a device file, FIFO or other special file"
    if kind == "encrypted":
        return f"entry {raw!r} is encrypted; send the bag unencrypted"
    if any(0xDC80 <= ord(c) <= 0xDCFF for c in raw):
        return f"entry name {raw!r} is not UTF-8"
    if len(raw.encode("utf-8", "surrogateescape")) > limits.max_path_bytes:
        return f"entry {raw[:60]!r}... is longer than {limits.max_path_bytes} bytes"
    try:
        _clean(raw)
    except UnsafePath as exc:
        return exc.detail
    return None


def safe_name(raw: str) -> str:
    """:func:`safe_relative_path`, and no double quote either: a quote in a name is what is
    left of a header or a form cut short (``"docs/a`` of a filename holding CRLF), and is
    not portable to Windows."""
    if '"' in raw:
        raise UnsafePath(f"path {raw[:200]!r} contains a double quote")
    return safe_relative_path(raw)


def _clean(raw: str) -> str | None:
    name = raw[2:] if raw.startswith("./") else raw
    name = name.rstrip("/") if name.endswith("/") and not name.startswith("/") else name
    if name in ("", "."):
        return None
    return unicodedata.normalize("NFC", safe_name(name))


def _check_clashes(members: list[Member], report: Report) -> None:
    files = {m.path for m in members if not m.is_dir}
    for m in members:
        parts = m.path.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in files:
                report.fail("P-1", f"{m.raw!r} lies inside {'/'.join(parts[:i])!r}, a file")
                break


def _check_limits(
    members: list[Member], limits: UnpackLimits, report: Report, compressed_total: int | None
) -> None:
    files = [m for m in members if not m.is_dir]
    if len(files) > limits.max_files:
        report.fail("P-1", f"{len(files)} files; this archive accepts at most {limits.max_files}")
    total = sum(m.size for m in files)
    if total > limits.max_total_bytes:
        report.fail("P-1", f"{total} bytes unpacked; the limit is {limits.max_total_bytes}")
    packed = compressed_total if compressed_total is not None else sum(m.compressed for m in files)
    if total > 1024 * 1024 and total > limits.max_expansion_ratio * max(packed, 1):
        report.fail(
            "P-1",
            f"{packed} bytes would expand to {total} (more than {limits.max_expansion_ratio:g}"
            " times): refused as a possible zip bomb",
        )


class BoundedReader:
    """Reads at most ``limit`` bytes from ``stream`` and fails if there is more, or less, or
    if a ZIP member's compressed data goes on past what its header declares; a damaged
    member (bad CRC, corrupt deflate stream) is :class:`UnreadableArchive`."""

    def __init__(self, stream: IO[bytes], limit: int, name: str) -> None:
        self._stream, self._left, self._name = stream, limit, name

    def read(self, n: int) -> bytes:
        try:
            data = self._stream.read(min(n, self._left + 1))
        except UNREADABLE as exc:
            raise UnreadableArchive(f"entry {self._name!r} cannot be read: {_short(exc)}") from exc
        if len(data) > self._left:
            raise UnsafePath(f"entry {self._name!r} holds more bytes than it declares")
        self._left -= len(data)
        if not data and self._left:
            raise UnsafePath(f"entry {self._name!r} holds fewer bytes than it declares")
        if not data or not self._left:
            self._check_end()
        return data

    def _check_end(self) -> None:
        """A ZIP member whose declared size lies: compressed bytes that still decode to data
        after the declared size was read (zipfile stops there silently). Uses zipfile's
        ZipExtFile internals; a tar member's size is its real size and has none."""
        stream = self._stream
        left = getattr(stream, "_compress_left", None)
        if left is None:
            return
        decompressor = getattr(stream, "_decompressor", None)
        rest = stream._read2(min(left, 65536)) if left > 0 else b""  # type: ignore[attr-defined]
        if decompressor is None:  # stored: every byte after the declared size is a lie
            if rest:
                raise UnsafePath(f"entry {self._name!r}: its data does not match its header")
            return
        if getattr(decompressor, "eof", True) and not rest:
            return
        try:
            more = decompressor.decompress(getattr(decompressor, "unconsumed_tail", b"") + rest, 1)
        except zlib.error as exc:
            raise UnreadableArchive(f"entry {self._name!r} cannot be read: {exc}") from exc
        if more or not getattr(decompressor, "eof", True):
            raise UnsafePath(f"entry {self._name!r}: its data does not match its header")

    def read_all(self) -> bytes:
        chunks = []
        while chunk := self.read(1024 * 1024):
            chunks.append(chunk)
        return b"".join(chunks)


def open_member(archive: Any, kind: str, member: Member) -> IO[bytes]:
    try:
        stream = archive.open(member.handle) if kind == ZIP else archive.extractfile(member.handle)
    except UNREADABLE as exc:
        raise UnreadableArchive(f"entry {member.raw!r} cannot be read: {_short(exc)}") from exc
    if stream is None:
        raise UnreadableArchive(f"entry {member.raw!r} cannot be read")
    return stream
