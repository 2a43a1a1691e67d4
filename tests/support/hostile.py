"""Hostile serialized bags, built byte by byte: damaged ZIP and tar members, lying headers,
bombs."""

from __future__ import annotations

import hashlib
import io
import struct
import tarfile
import zipfile
import zlib

from support.records import MINIMAL_PDF

BAGIT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
TEXT = b"plain text payload, repeated to compress well. " * 200


def bag_members(payload: dict[str, bytes] | None = None, info: bytes | None = None) -> dict:
    """A valid bag's files (sha256 manifests), under ``bag/``."""
    payload = payload or {"data/a.txt": TEXT, "data/b.pdf": MINIMAL_PDF}
    size = sum(len(d) for d in payload.values())
    info = info or (
        b"Title: t\nCreator: c\nDate: 2024-03-01\nRetention: permanent\n"
        b"Archival-Code: A001-WS-2024-Y-0001\n"
    )
    manifest = "".join(f"{hashlib.sha256(d).hexdigest()}  {p}\n" for p, d in payload.items())
    return {
        "bagit.txt": BAGIT,
        "bag-info.txt": info + f"Payload-Oxum: {size}.{len(payload)}\n".encode(),
        "manifest-sha256.txt": manifest.encode(),
        **payload,
    }


def zip_of(files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED, flag: int = 0) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(f"bag/{name}", date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = method
            info.flag_bits |= flag
            archive.writestr(info, data)
    return out.getvalue()


def bad_crc_zip() -> bytes:
    """A stored member one byte of whose data differs from what its CRC says."""
    raw = zip_of(bag_members(), method=zipfile.ZIP_STORED)
    at = raw.index(TEXT)
    return raw[:at] + b"P" + raw[at + 1 :]


def corrupt_deflate_zip() -> bytes:
    """A deflated member whose compressed stream is garbage half way."""
    raw = bytearray(zip_of(bag_members()))
    info = zipfile.ZipFile(io.BytesIO(bytes(raw))).getinfo("bag/data/a.txt")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    raw[start : start + info.compress_size] = b"\xff" * info.compress_size
    return bytes(raw)


def not_utf8_name_zip() -> bytes:
    """A member name flagged UTF-8 (bit 11) whose bytes are not UTF-8."""
    members = bag_members({"data/XX.txt": TEXT})
    raw = zip_of(members, flag=0x800)
    return raw.replace(b"data/XX.txt", b"data/\xff\xfe.txt")


def nul_name_zip() -> bytes:
    """A member name holding NUL (zipfile would cut it at the NUL)."""
    raw = zip_of(bag_members({"data/aZb.txt": TEXT}))
    return raw.replace(b"data/aZb.txt", b"data/a\x00b.txt")


def size_lies_zip() -> bytes:
    """A deflated member whose headers declare more bytes than its data holds."""
    raw = bytearray(zip_of(bag_members()))
    real = struct.pack("<I", len(TEXT))
    fake = struct.pack("<I", len(TEXT) + 1000)
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = 0
        while (at := raw.find(signature, at)) >= 0:
            if raw[at + offset : at + offset + 4] == real:
                raw[at + offset : at + offset + 4] = fake
            at += 4
    return bytes(raw)


def gzip_bomb(expanded: int) -> bytes:
    """A gzip body of ``expanded`` zero bytes, compressed in a stream (about 1/1000 the size)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b"\0" * (1024 * 1024)
    parts = [packer.compress(chunk) for _ in range(expanded // len(chunk))]
    return b"".join(parts) + packer.flush()


def tar_of(files: dict[str, bytes], fmt: int = tarfile.USTAR_FORMAT) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(f"bag/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _renamed_in_headers(raw: bytes, old: bytes, new: bytes) -> bytes:
    """``old`` replaced by ``new`` in the tar's header blocks only, checksums made good again
    (a header with a bad checksum reads as the end of the archive)."""
    out = bytearray(raw)
    for block in range(0, len(out), 512):
        header = out[block : block + 512]
        if old not in header:
            continue
        header = header.replace(old, new)
        header[148:156] = b" " * 8
        header[148:156] = b"%06o\0 " % sum(header)
        out[block : block + 512] = header
    return bytes(out)


def nul_name_tar() -> bytes:
    """A ustar member name holding NUL (tarfile would cut it at the NUL)."""
    raw = tar_of(bag_members({"data/aZb.txt": TEXT}))
    return _renamed_in_headers(raw, b"data/aZb.txt", b"data/a\x00b.txt")


def nul_long_name_tar() -> bytes:
    """A GNU long name (over 100 bytes) holding NUL, in the long name's data block."""
    long = "data/" + "d" * 120 + "/aZb.txt"
    raw = tar_of(bag_members({long: TEXT}), fmt=tarfile.GNU_FORMAT)
    return raw.replace(b"/aZb.txt\0", b"/a\x00b.txt\0", 1)
