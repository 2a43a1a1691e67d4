"""Check 4-2 through clamd (ClamAV's daemon), spoken to directly over its socket.

The address is the ingest profile's ``virus_check.clamd``: ``unix:///run/clamav/clamd.ctl``
or ``tcp://127.0.0.1:3310``. Each file is streamed with ``zINSTREAM`` (so clamd needs no
access to staging, and may run on another machine), in chunks, a few files at once. clamd
refuses a stream longer than its ``StreamMaxLength`` (25 MB by default): such a file is
reported as not scanned, a warning, unless the profile requires the check, when it fails;
raise ``StreamMaxLength`` in clamd.conf to scan large files. A clamd that cannot be reached
raises :class:`ScannerUnavailable`, so the job is retried later rather than the SIP rejected.
"""

from __future__ import annotations

import socket
import struct
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from preserve.errors import ScannerUnavailable

CHUNK = 256 * 1024


@dataclass
class ScanResult:
    engine: str
    infected: dict[str, str] = field(default_factory=dict)  # path -> signature
    not_scanned: dict[str, str] = field(default_factory=dict)  # path -> why


def _connect(address: str, timeout: float) -> socket.socket:
    try:
        if address.startswith("unix://"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(address.removeprefix("unix://"))
            return sock
        if address.startswith("tcp://"):
            host, _, port = address.removeprefix("tcp://").rpartition(":")
            return socket.create_connection((host, int(port)), timeout=timeout)
    except OSError as exc:
        raise ScannerUnavailable(f"clamd at {address} cannot be reached: {exc}") from exc
    raise ScannerUnavailable(f"clamd address {address!r} is neither unix:// nor tcp://")


def _reply(sock: socket.socket) -> str:
    data = b""
    while not data.endswith(b"\0"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.rstrip(b"\0").decode("utf-8", "replace").strip()


def version(address: str, timeout: float = 10) -> str:
    with _connect(address, timeout) as sock:
        sock.sendall(b"zVERSION\0")
        return _reply(sock)


def scan_file(address: str, path: Path, timeout: float = 120) -> str:
    """clamd's answer for one file: ``stream: OK``, ``stream: <name> FOUND`` or an error."""
    with _connect(address, timeout) as sock, open(path, "rb") as f:
        try:
            sock.sendall(b"zINSTREAM\0")
            while chunk := f.read(CHUNK):
                sock.sendall(struct.pack(">I", len(chunk)) + chunk)
            sock.sendall(struct.pack(">I", 0))
        except (BrokenPipeError, ConnectionResetError):
            pass  # clamd stops reading past StreamMaxLength and says why
        except OSError as exc:
            raise ScannerUnavailable(f"clamd at {address} failed: {exc}") from exc
        try:
            return _reply(sock)
        except OSError as exc:
            raise ScannerUnavailable(f"clamd at {address} failed: {exc}") from exc


def scan(address: str, files: list[tuple[Path, str]], threads: int = 4) -> ScanResult:
    """Scan every (path, display path); raises :class:`ScannerUnavailable` if clamd is down."""
    result = ScanResult(engine=version(address))
    with ThreadPoolExecutor(threads, thread_name_prefix="clamd") as pool:
        answers = list(pool.map(lambda item: scan_file(address, item[0]), files))
    for (_, shown), answer in zip(files, answers, strict=True):
        body = answer.partition(": ")[2] if answer.startswith("stream:") else answer
        if body == "OK":
            continue
        if body.endswith(" FOUND"):
            result.infected[shown] = body.removesuffix(" FOUND")
        else:
            result.not_scanned[shown] = body or "no answer"
    return result
