"""Serializing bag folders for upload tests: zip, tar and tar.gz, built in memory, byte-exact."""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile
from pathlib import Path

MEDIA = {"zip": "application/zip", "tar": "application/x-tar", "tar.gz": "application/gzip"}


def bag_files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by its relative path (names as stored, not normalised)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def serialize(files: dict[str, bytes], kind: str, top: str | None = "bag") -> bytes:
    """A zip, tar or tar.gz with ``files`` under one top-level folder (RFC 8493 §4)."""
    prefix = f"{top}/" if top else ""
    out = io.BytesIO()
    if kind == "zip":
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in files.items():
                archive.writestr(prefix + name, data)
        return out.getvalue()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(prefix + name)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    data = out.getvalue()
    return gzip.compress(data, mtime=0) if kind == "tar.gz" else data


def multipart(fields: list[tuple[str, str | None, bytes]]) -> dict:
    """Keyword arguments for ``post``: a hand-built multipart body (name, filename, content)."""
    boundary = "bag-test-boundary-1f2e3d"
    body = b""
    for name, filename, content in fields:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        body += (
            f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
            + content
            + b"\r\n"
        )
    body += f"--{boundary}--\r\n".encode()
    return {
        "content": body,
        "headers": {"Content-Type": f"multipart/form-data; boundary={boundary}"},
    }
