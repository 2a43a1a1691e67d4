"""DROID container signatures, matched with DROID's semantics (our own matcher).

Used by the fido engine (:mod:`preserve.ingest.identify.fido_engine`) when a binary match is one
of a container file's trigger PUIDs (fmt/111 OLE2; x-fmt/263, fmt/189 ZIP). fido 1.6.1's own
container stage is not usable with v116: it pairs the path of a signature's first file with the
byte sequence of another file (Word 97 is checked for the ``CompObj`` pattern inside
``WordDocument``, so it is not recognised), ignores files that only have to exist, later
sub-sequences, offsets and fragments, mistranslates ranges (``[01:04]`` becomes the two bytes
01 04) and bitmasks, and turns ``(00|01)`` into a pattern that does not compile, so every OLE2
file with a ``Header`` stream raises ``re.error`` out of ``identify_file`` (the fido CLI stops
there). On the skeleton suite: container share 205/291 (70.4 %) with fido 1.6.1 and these
files, 291/291 with ours. At most ``CONTAINER_ENTRY_LIMIT`` bytes of an entry are read (zip
bombs), and OLE2 streams over ``OLE_STREAM_LIMIT`` are not read (olefile loads whole streams).
"""

from __future__ import annotations

import logging
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import olefile

log = logging.getLogger(__name__)

CONTAINER_ENTRY_LIMIT = 4 * 1024 * 1024  # bytes of one ZIP entry / OLE2 stream matched against
OLE_STREAM_LIMIT = 64 * 1024 * 1024  # olefile reads a whole stream into memory: skip larger ones
_OLE_PREFIXES = "".join(map(chr, range(32)))

_HEX = re.compile(r"[0-9A-Fa-f]{2}")
_GAP = re.compile(r"\{(\d+)(?:-(\d+|\*))?\}")
_CLASS_TOKEN = re.compile(r"\s*('[^']'|[0-9A-Fa-f]{2}|[-:])")


def container_sequence_regex(sequence: str) -> bytes:
    """Convert a DROID byte sequence (``'text' 0D0A [00:FF] (22|27) ?? {2-4} *``) to a regex body.

    Sets ``[2227]``, ranges ``[a:b]``/``['a'-'b']``, negation ``[!..]``, bitmasks ``[&01]`` (all
    bits set) and ``[~01]`` (any bit set), alternatives ``(a|b)``, ``??``, gaps ``{n}``,
    ``{n-m}``, ``{n-*}`` and ``*``. Raises ValueError on anything else.
    """
    body, _ = _sequence_part(sequence, 0, stop="")
    return body


def _sequence_part(seq: str, i: int, stop: str) -> tuple[bytes, int]:
    out = []
    while i < len(seq) and seq[i] not in stop:
        c = seq[i]
        if c.isspace():
            i += 1
        elif c == "'":
            j = seq.index("'", i + 1)
            out.append(re.escape(seq[i + 1 : j].encode("utf-8")))
            i = j + 1
        elif c == "[":
            j = seq.index("]", i)
            out.append(_byte_class(seq[i + 1 : j]))
            i = j + 1
        elif c == "(":
            alternatives = []
            while seq[i] != ")":
                part, i = _sequence_part(seq, i + 1, stop="|)")
                alternatives.append(part)
            out.append(b"(?:" + b"|".join(alternatives) + b")")
            i += 1
        elif seq.startswith("??", i):
            out.append(b".")
            i += 2
        elif c == "*":
            out.append(b".*")
            i += 1
        elif gap := _GAP.match(seq, i):
            out.append(_gap(int(gap.group(1)), gap.group(2)))
            i = gap.end()
        elif hexpair := _HEX.match(seq, i):
            out.append(re.escape(bytes.fromhex(hexpair.group())))
            i += 2
        else:
            raise ValueError(f"unexpected {c!r} at {i} in byte sequence {seq!r}")
    return b"".join(out), i


def _gap(low: int, high: str | None) -> bytes:
    """``.{low,high}``. A missing or ``*`` maximum is unbounded; one below the minimum means a
    fixed offset (DROID raises such a maximum to the minimum)."""
    if high is None or high == "*":
        return b".*" if low == 0 else b".{%d,}" % low
    top = max(low, int(high))
    return b"" if top == 0 else b".{%d,%d}" % (low, top)


def _byte_class(spec: str) -> bytes:
    negate = spec.startswith("!")
    spec = spec[1:] if negate else spec
    if spec[:1] in ("&", "~"):
        mask = int(spec[1:], 16)
        values = [v for v in range(256) if (v & mask == mask if spec[0] == "&" else v & mask)]
    else:
        values = _class_values(spec)
    members = b"".join(re.escape(bytes([v])) for v in values)
    return b"[" + (b"^" if negate else b"") + members + b"]"


def _class_values(spec: str) -> list[int]:
    tokens, i = [], 0
    while i < len(spec.rstrip()):
        token = _CLASS_TOKEN.match(spec, i)
        if token is None:
            raise ValueError(f"unsupported byte set [{spec}]")
        text = token.group(1)
        tokens.append(text if text in "-:" else ord(text[1]) if text[0] == "'" else int(text, 16))
        i = token.end()
    values: set[int] = set()
    k = 0
    while k < len(tokens):
        if tokens[k] in ("-", ":"):
            raise ValueError(f"unsupported byte set [{spec}]")
        if k + 2 < len(tokens) and tokens[k + 1] in ("-", ":"):
            values.update(range(tokens[k], tokens[k + 2] + 1))
            k += 3
        else:
            values.add(tokens[k])
            k += 1
    return sorted(values)


def _byte_sequence_regex(element: ET.Element) -> tuple[re.Pattern[bytes], bool]:
    """One ``<ByteSequence>``: its sub-sequences in order, with their offsets and fragments.

    Returns the compiled pattern (use ``search``) and whether it is anchored at the end.
    """
    reference = element.get("Reference")
    parts = []
    for sub in sorted(element.findall("SubSequence"), key=lambda e: int(e.get("Position", 1))):
        gap = _gap(int(sub.get("SubSeqMinOffset") or 0), sub.get("SubSeqMaxOffset"))
        body = container_sequence_regex(sub.findtext("Sequence") or "")
        body = _fragments(sub, "LeftFragment") + body + _fragments(sub, "RightFragment")
        parts.append((gap, body))
    if reference == "EOFoffset":  # Position 1 is the nearest to the end
        regex = b"".join(body + gap for gap, body in reversed(parts)) + b"\\Z"
    elif reference == "BOFoffset":
        regex = b"\\A" + b"".join(gap + body for gap, body in parts)
    else:  # variable: the first sub-sequence anywhere
        regex = parts[0][1] + b"".join(gap + body for gap, body in parts[1:])
    return re.compile(b"(?s)" + regex), reference == "EOFoffset"


def _fragments(sub: ET.Element, tag: str) -> bytes:
    """Fragments of one position are alternatives; positions count outward from the sequence."""
    by_position: dict[int, list[bytes]] = {}
    gaps: dict[int, bytes] = {}
    for fragment in sub.findall(tag):
        position = int(fragment.get("Position", 1))
        by_position.setdefault(position, []).append(container_sequence_regex(fragment.text or ""))
        low = fragment.get("MinOffset") or "0"
        gaps[position] = _gap(int(low), fragment.get("MaxOffset") or low)
    out = b""
    for position in sorted(by_position):
        alternatives = b"(?:" + b"|".join(by_position[position]) + b")"
        if tag == "RightFragment":
            out = out + gaps[position] + alternatives
        else:
            out = alternatives + gaps[position] + out
    return out


@dataclass(frozen=True)
class ContainerFile:
    path: str
    # InternalSignatures (any may match), each a tuple of ByteSequences (all must match) given as
    # (pattern, anchored at the end); empty: the file only has to exist.
    signatures: tuple[tuple[tuple[re.Pattern[bytes], bool], ...], ...]


@dataclass(frozen=True)
class ContainerSignature:
    id: str
    puid: str
    container_type: str  # "ZIP" or "OLE2"
    files: tuple[ContainerFile, ...]


def load_container_signatures(path: Path) -> tuple[list[ContainerSignature], dict[str, str]]:
    """Every usable signature of a DROID container signature file, and its trigger PUIDs."""
    root = ET.parse(path).getroot()
    puids = {m.get("signatureId"): m.get("Puid") for m in root.iter("FileFormatMapping")}
    triggers = {t.get("Puid", ""): t.get("ContainerType", "") for t in root.iter("TriggerPuid")}
    signatures = []
    for element in root.iter("ContainerSignature"):
        sig_id = element.get("Id", "")
        try:
            files = tuple(_container_file(f) for f in element.iter("File"))
        except (ValueError, re.error) as exc:
            log.warning("container signature %s not usable: %s", sig_id, exc)
            continue
        if sig_id in puids:
            signatures.append(
                ContainerSignature(sig_id, puids[sig_id], element.get("ContainerType", ""), files)
            )
    return signatures, triggers


def _container_file(element: ET.Element) -> ContainerFile:
    internal = element.findall("BinarySignatures/InternalSignatureCollection/InternalSignature")
    return ContainerFile(
        path=element.findtext("Path") or "",
        signatures=tuple(
            tuple(map(_byte_sequence_regex, sig.findall("ByteSequence"))) for sig in internal
        ),
    )


class ContainerEntries:
    """Names and (bounded) contents of the entries of one ZIP or OLE2 file, each read once."""

    def __init__(self, container_type: str, path: str) -> None:
        self._type = container_type
        self._cache: dict[str, tuple[bytes, bool] | None] = {}
        if container_type == "ZIP":
            self._archive: Any = zipfile.ZipFile(path)
            names = self._archive.namelist()
            self._names = {name: name for name in names}
            for name in names:  # directories implied by deeper entries
                for k in range(len(name)):
                    if name[k] == "/":
                        self._names.setdefault(name[: k + 1], name[: k + 1])
        else:
            self._archive = olefile.OleFileIO(path)
            self._names = {}
            for parts in self._archive.listdir(streams=True, storages=True):
                real = "/".join(parts)
                self._names[real] = real  # DROID paths omit the leading control character
                self._names.setdefault("/".join(p.lstrip(_OLE_PREFIXES) for p in parts), real)

    def __enter__(self) -> ContainerEntries:
        return self

    def __exit__(self, *exc: object) -> None:
        self._archive.close()

    def has(self, path: str) -> bool:
        return path in self._names

    def read(self, path: str) -> tuple[bytes, bool] | None:
        """The first ``CONTAINER_ENTRY_LIMIT`` bytes and whether that is all; None: unreadable."""
        if path not in self._cache:
            try:
                self._cache[path] = self._read(self._names[path])
            except Exception as exc:  # encrypted, unsupported compression, damaged: no match
                log.debug("container entry %s not readable: %r", path, exc)
                self._cache[path] = None
        return self._cache[path]

    def _read(self, name: str) -> tuple[bytes, bool] | None:
        if self._type == "ZIP":
            with self._archive.open(name) as entry:
                data = entry.read(CONTAINER_ENTRY_LIMIT + 1)
        else:
            if self._archive.get_type(name) != olefile.STGTY_STREAM:
                return None
            if self._archive.get_size(name) > OLE_STREAM_LIMIT:  # olefile reads whole streams
                return None
            with self._archive.openstream(name) as stream:
                data = stream.read(CONTAINER_ENTRY_LIMIT + 1)
        return data[:CONTAINER_ENTRY_LIMIT], len(data) <= CONTAINER_ENTRY_LIMIT


def container_matches(signature: ContainerSignature, entries: ContainerEntries) -> bool:
    for file in signature.files:
        if not entries.has(file.path):
            return False
        if file.signatures and not _file_matches(file, entries.read(file.path)):
            return False
    return True


def _file_matches(file: ContainerFile, content: tuple[bytes, bool] | None) -> bool:
    if content is None:
        return False
    data, complete = content
    return any(
        all((complete or not at_end) and regex.search(data) for regex, at_end in internal)
        for internal in file.signatures
    )
