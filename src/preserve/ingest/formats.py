"""In-process file format identification: fido 1.6.1 over the PRONOM v116 registry shipped here.

Registry data
    ``pronom/`` holds fido's signature files for PRONOM v116 (container signatures of
    2023-11-27), copied unchanged from fido's source repository; its ``versions.xml`` names them.
    The opf-fido wheel ships v109 in its own conf dir, which we never read. Every
    :class:`Identification` names the registry ("PRONOM v116") and the tool (``TOOL``), as
    PREMIS ``formatRegistry`` and the identifying agent ask.

Local format identifiers (formats PRONOM has no entry for)
    ``preserve-fmt/ofd``  OFD, GB/T 33190 (版式文档), MIME ``application/ofd``, method
    ``local``: a ZIP file with ``OFD.xml`` at its root. PRONOM can only call such a file
    x-fmt/263 (ZIP); the local match is put first and the PRONOM matches follow it.

The three stages (:class:`_PreparedFido`, a subclass of ``fido.fido.Fido``)
    1. Binary signatures: fido's ``match_formats`` (same formats, order, priorities and results),
       over patterns compiled once at start-up instead of through ``re``'s cache.
    2. Container signatures, when a binary match is one of the container file's trigger PUIDs
       (fmt/111 OLE2; x-fmt/263, fmt/189 ZIP): our own matcher with DROID's semantics, the
       ``TOOL`` string says so. fido's is not usable with v116: it pairs the path of a
       signature's first file with the byte sequence of another file (Word 97 is checked for
       the ``CompObj`` pattern inside ``WordDocument``, so it is not recognised), ignores files that
       only have to exist, later sub-sequences, offsets and fragments, mistranslates ranges
       (``[01:04]`` becomes the two bytes 01 04) and bitmasks, and turns ``(00|01)`` into a
       pattern that does not compile, so every OLE2 file with a ``Header`` stream raises
       ``re.error`` out of ``identify_file`` (the fido CLI stops there). On the skeleton suite:
       container share 205/291 (70.4 %) with fido 1.6.1 and these files, 291/291 with ours.
       Priorities (``has_priority_over``) are applied among container matches as among binary
       ones. At most ``CONTAINER_ENTRY_LIMIT`` bytes of an entry are read (zip bombs), and OLE2
       streams over ``OLE_STREAM_LIMIT`` are not read (olefile loads whole streams).
    3. Extensions: fido's ``match_extensions`` on the name of ``display_path`` (the name inside
       the SIP, not the staged file's), when there is no signature match or the file is empty.

fido 1.6.1's pitfalls and what is done about them
    - ``Fido()`` with default arguments looks for a ``formats-v104.xml`` it does not ship: we pass
      ``conf_dir`` and ``format_files`` read from our ``versions.xml``.
    - ``containersignature_file=`` is ignored (``__init__`` takes the module default, v109's
      ``container-signature-20200121.xml``, and ``identify_file`` re-parses that file for every
      ZIP/OLE2 file, ~3.5 ms): we load the one ``versions.xml`` names, once (stage 2).
    - Results arrive only through the ``handle_matches`` callback: ours collects them.
    - Errors go to stderr, ``load_fido_xml`` calls ``sys.exit`` and ``identify_file`` leaks its
      file handle: the methods on our path that print are overridden, so nothing reaches stderr;
      a failure is logged here and returned as an :class:`Identification` with no matches and
      an ``error``.
    - ``identify_stream`` never returns on a binary stream (``blocking_read`` compares bytes with
      ``''``): never called, and our ``blocking_read`` stops at end of file.
    - Per-file state lives on the ``Fido`` instance: :class:`FormatIdentifier` serialises callers
      with a lock; parallelism is one instance per process (:func:`identify_many`).
    - ``Fido.__init__`` sets ``re._MAXCACHE`` (2084) for the whole process, and with ~2,200
      distinct patterns in v116 fido's own matching still thrashes that cache. Our subclass
      compiles every pattern once and never relies on ``re``'s cache, so it puts the previous
      value back right after ``Fido.__init__``; a stock ``Fido()`` built elsewhere in the same
      process changes it again (harmless, it only sizes a cache).
    - Five v116 patterns do not compile in Python (``.{3000,700}``: fmt/1558, fmt/1646,
      fmt/1669, fmt/1670, fmt/1738): as in fido, they end the trial of their format.
    - A PUID reported twice is kept once.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import fido
import olefile
from fido.fido import Fido

from preserve.ingest.pool import fan_out

log = logging.getLogger(__name__)

PRONOM_DIR = Path(__file__).with_name("pronom")
OFD_ROOT_ENTRY = "OFD.xml"
CONTAINER_ENTRY_LIMIT = 4 * 1024 * 1024  # bytes of one ZIP entry / OLE2 stream matched against
OLE_STREAM_LIMIT = 64 * 1024 * 1024  # olefile reads a whole stream into memory: skip larger ones
_OLE_PREFIXES = "".join(map(chr, range(32)))
TOOL = f"fido {fido.__version__} + preserve container matcher"

_Found = list[tuple[ET.Element, str]]  # fido's match list: (format element, signature name)


@dataclass(frozen=True)
class FormatMatch:
    puid: str
    name: str
    version: str | None
    mime: str | None
    method: str  # "signature", "container", "extension" (fido's match types) or "local"

    def to_dict(self) -> dict[str, Any]:
        # by hand: dataclasses.asdict deep-copies, 0.2 ms a file on a SIP of 10,000 files
        return {
            "puid": self.puid,
            "name": self.name,
            "version": self.version,
            "mime": self.mime,
            "method": self.method,
        }


OFD_MATCH = FormatMatch("preserve-fmt/ofd", "OFD (GB/T 33190)", None, "application/ofd", "local")


@dataclass(frozen=True)
class Identification:
    path: str
    matches: tuple[FormatMatch, ...]  # every match, in fido's order; empty: unidentified
    registry: str
    tool: str
    error: str | None = None  # why identification failed, when it did

    @property
    def puid(self) -> str | None:
        return self.matches[0].puid if self.matches else None

    @property
    def format_name(self) -> str | None:
        return self.matches[0].name if self.matches else None

    @property
    def method(self) -> str | None:
        return self.matches[0].method if self.matches else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "puid": self.puid,
            "format_name": self.format_name,
            "method": self.method,
            "matches": [m.to_dict() for m in self.matches],
            "registry": self.registry,
            "tool": self.tool,
            "error": self.error,
        }


@dataclass(frozen=True)
class Registry:
    """The signature files of one PRONOM release, as named by fido's ``versions.xml``."""

    conf_dir: Path
    pronom_version: str
    format_files: tuple[str, ...]  # PRONOM signatures, then fido's extension signatures
    container_file: str

    @classmethod
    def load(cls, conf_dir: Path = PRONOM_DIR) -> Registry:
        root = ET.parse(conf_dir / "versions.xml").getroot()

        def text(tag: str) -> str:
            value = (root.findtext(tag) or "").strip()
            if not value:
                raise ValueError(f"{conf_dir / 'versions.xml'}: no <{tag}>")
            return value

        return cls(
            conf_dir=conf_dir,
            pronom_version=text("pronomVersion"),
            format_files=(text("pronomSignature"), text("fidoExtensionSignature")),
            container_file=text("pronomContainerSignature"),
        )

    @property
    def name(self) -> str:
        return f"PRONOM v{self.pronom_version}"


# --- DROID container signatures ---------------------------------------------------------------

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


class _ContainerEntries:
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

    def __enter__(self) -> _ContainerEntries:
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


def _container_matches(signature: ContainerSignature, entries: _ContainerEntries) -> bool:
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


# --- fido, prepared once ------------------------------------------------------------------------

# (format, [(signature name, [(position, regex)], first bytes the signature can start with)])
_CompiledFormat = tuple[ET.Element, list[tuple[str, list, "frozenset[int] | None"]]]


class _PreparedFido(Fido):
    """A ``Fido`` that loads a registry once, compiles every pattern once and never prints."""

    def __init__(self, registry: Registry) -> None:
        self.found: list[tuple[_Found, str]] = []
        cache_size = re._MAXCACHE  # type: ignore[attr-defined]
        super().__init__(
            quiet=True,
            handle_matches=self._collect,
            conf_dir=str(registry.conf_dir),
            format_files=list(registry.format_files),
        )
        re._MAXCACHE = cache_size  # type: ignore[attr-defined]
        self.containersignature_file = registry.container_file
        self.last_container_type: str | None = None
        self._compiled = [self._compile_format(fmt) for fmt in self.formats]
        self._by_extension = self._extension_index()
        signatures, self._triggers = load_container_signatures(
            registry.conf_dir / registry.container_file
        )
        self._containers: dict[str, list[ContainerSignature]] = {}
        for signature in signatures:
            if signature.puid in self.puid_format_map:
                self._containers.setdefault(signature.container_type, []).append(signature)

    def _collect(self, fullname: str, matches: _Found, delta_t: float, matchtype: str = "") -> None:
        self.found.append((matches, matchtype))

    def load_fido_xml(self, file: str) -> list[ET.Element]:
        """fido's, raising ``ParseError`` where fido prints and calls ``sys.exit(1)``."""
        for element in ET.parse(file).getroot().findall("./format"):
            self.process_format_element(element)
        return self.formats

    def _compile_format(self, fmt: ET.Element) -> _CompiledFormat:
        signatures = []
        for sig in self.get_signatures(fmt):
            patterns = []
            for pat in self.get_patterns(sig):
                try:
                    regex = re.compile(self.get_regex(pat))
                except re.error as exc:
                    log.debug("%s: pattern not usable: %s", self.get_puid(fmt), exc)
                    regex = None
                position = self.get_pos(pat)
                if position == "EOF" and regex is not None:
                    position = ("EOF", _tail_width(regex))
                patterns.append((position, regex))
            signatures.append((sig.findtext("name"), patterns, _first_bytes(patterns)))
        return fmt, signatures

    def _extension_index(self) -> dict[str, list[ET.Element]]:
        """extension -> formats, in fido's format order (its ``match_extensions`` re-reads the
        XML of every format for every file: ~40 % of the time per file)."""
        index: dict[str, list[ET.Element]] = {}
        for element in self.formats:
            for text in dict.fromkeys(e.text for e in element.findall("extension")):
                if text is not None:
                    index.setdefault(text, []).append(element)
        return index

    def match_extensions(self, filename: str) -> _Found:
        """fido's ``match_extensions`` over the index built once."""
        ext = os.path.splitext(filename)[1].lower().lstrip(".")
        if not ext:
            return []
        name = self.externalsig.findtext("name")
        result = [(element, name) for element in self._by_extension.get(ext, ())]
        return [match for match in result if self.as_good_as_any(match[0], result)]

    def blocking_read(self, file: Any, bytes_to_read: int) -> bytes:
        """fido's, stopping at end of file (fido compares bytes with ``''`` and spins)."""
        buffer = b""
        while len(buffer) < bytes_to_read:
            chunk = file.read(bytes_to_read - len(buffer))
            if not chunk:
                break
            buffer += chunk
        return buffer

    def match_formats(self, bofbuffer: bytes, eofbuffer: bytes) -> _Found:
        """fido's ``match_formats`` over precompiled patterns, without printing."""
        self.current_count += 1
        result: _Found = []
        first = bofbuffer[0] if bofbuffer else -1
        for fmt, signatures in self._compiled:
            if not self.as_good_as_any(fmt, result):
                continue
            for name, patterns, firsts in signatures:
                if firsts is not None and first not in firsts:
                    continue  # its first pattern, anchored at BOF, cannot match: fido's False
                hit = _signature_matches(patterns, bofbuffer, eofbuffer)
                if hit is None:  # fido's per-format ``except`` abandons the rest of the format
                    break
                if hit:
                    result.append((fmt, name))
        return [match for match in result if self.as_good_as_any(match[0], result)]

    def identify_file(self, filename: str, extension: bool = True, name: str | None = None) -> None:
        """fido's flow (signature, then container, then extension) without its per-file
        container XML parse, leaked file handle and prints; ``name`` is used for extensions."""
        self.current_file = filename
        with open(filename, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            self.current_filesize = size
            bofbuffer, eofbuffer, _ = self.get_buffers(f, size, seekable=True)
        matches = self.match_formats(bofbuffer, eofbuffer)
        self.last_container_type = self._container_trigger(matches)
        if not self.nocontainer and self.last_container_type:
            container_matches = self.match_container_file(self.last_container_type, filename)
            if container_matches:
                self.handle_matches(filename, container_matches, 0.0, "container")
                return
        if matches and size > 0:
            self.handle_matches(filename, matches, 0.0, "signature")
        elif extension:
            self.handle_matches(filename, self.match_extensions(name or filename), 0.0, "extension")

    def _container_trigger(self, matches: _Found) -> str | None:
        for fmt, _ in matches:
            if (container_type := self._triggers.get(self.get_puid(fmt))) in self._containers:
                return container_type
        return None

    def match_container_file(self, container_type: str, filename: str) -> _Found:
        try:
            with _ContainerEntries(container_type, filename) as entries:
                signatures = self._containers[container_type]
                puids = [s.puid for s in signatures if _container_matches(s, entries)]
        except Exception as exc:  # olefile/zipfile on a damaged file: keep the binary matches
            log.info("container signatures not applied to %s: %r", filename, exc)
            return []
        found = [(self.puid_format_map[puid], "container") for puid in dict.fromkeys(puids)]
        return [match for match in found if self.as_good_as_any(match[0], found)]


def _first_bytes(patterns: list) -> frozenset[int] | None:
    """The bytes a file must begin with for the signature's first pattern (a ``BOF`` pattern
    beginning ``\\A`` and a literal byte or a byte set) to match; None when not known."""
    if not patterns or patterns[0][0] != "BOF" or patterns[0][1] is None:
        return None
    try:
        from re import _constants as c  # type: ignore[attr-defined]
        from re import _parser as sre_parse  # type: ignore[attr-defined]
    except ImportError:  # Python < 3.11
        import sre_constants as c  # type: ignore[no-redef]
        import sre_parse  # type: ignore[no-redef]
    items = list(sre_parse.parse(patterns[0][1].pattern.decode("latin-1")))
    if len(items) < 2 or items[0] != (c.AT, c.AT_BEGINNING_STRING):
        return None
    op, value = items[1]
    if op is c.LITERAL:
        return frozenset((value,))
    if op is c.IN and all(o in (c.LITERAL, c.RANGE) for o, _ in value):
        found: set[int] = set()
        for o, v in value:
            found.update((v,) if o is c.LITERAL else range(v[0], v[1] + 1))
        return frozenset(found)
    return None


def _tail_width(regex: re.Pattern[bytes]) -> int | None:
    """The longest match of an end-anchored pattern (``...\\Z``), or None if unbounded.

    A match that must end at the end of the buffer starts within its last ``width`` bytes, so
    searching only that tail finds the same match: fido searches the whole 128 KiB EOF buffer,
    trying every start position, which made end-anchored patterns most of the matching time.
    Patterns that look behind, anchor at the start or test a word boundary are left alone.
    """
    source = regex.pattern
    if not source.endswith(b"\\Z") or any(
        marker in source for marker in (b"(?<", b"\\A", b"^", b"\\b", b"\\B")
    ):
        return None
    try:
        from re import _parser as sre_parse  # type: ignore[attr-defined]
    except ImportError:  # Python < 3.11
        import sre_parse  # type: ignore[no-redef]
    _low, high = sre_parse.parse(source.decode("latin-1")).getwidth()
    return high if high < 1 << 20 else None


def _signature_matches(patterns: list, bofbuffer: bytes, eofbuffer: bytes) -> bool | None:
    """True/False as fido's pattern loop; None where fido would raise on an unusable pattern."""
    for position, regex in patterns:
        if regex is None:
            return None
        if isinstance(position, tuple):  # EOF, with the widest match when it is bounded
            width = position[1]
            found = regex.search(eofbuffer[-width:] if width else eofbuffer)
        elif position == "BOF":
            found = regex.match(bofbuffer)
        elif position in ("VAR", "IFB"):
            found = regex.search(bofbuffer)
        else:
            continue
        if not found:
            return False
    return True


def _to_match(fmt: ET.Element, method: str) -> FormatMatch:
    return FormatMatch(
        puid=fmt.findtext("puid") or "",
        name=fmt.findtext("name") or "",
        version=fmt.findtext("version") or None,
        mime=fmt.findtext("mime") or None,
        method=method,
    )


def _has_ofd_root(path: str | os.PathLike) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            archive.getinfo(OFD_ROOT_ENTRY)
    except (KeyError, OSError, zipfile.BadZipFile):
        return False
    return True


class FormatIdentifier:
    """One Fido instance, loaded once with the v116 signatures via conf_dir, reused for every file.

    Thread-safe by serialising callers (fido keeps per-file state on the instance); for
    parallelism use one instance per process, as :func:`identify_many` does.
    """

    def __init__(self) -> None:
        registry = Registry.load()
        self.registry = registry.name
        self.tool = TOOL
        self._fido = _PreparedFido(registry)
        self._lock = threading.Lock()

    def identify(self, path: str | os.PathLike, display_path: str | None = None) -> Identification:
        shown = os.fspath(path) if display_path is None else display_path
        try:
            with self._lock:
                found, container_type = self._run_fido(os.fspath(path), shown)
            matches = self._matches(found)
            if container_type == "ZIP" and _has_ofd_root(path):
                matches = (OFD_MATCH, *matches)
        except Exception as exc:  # fido, olefile or the file system: unidentified, not a crash
            log.warning("format identification failed for %s: %r", shown, exc)
            error = f"{type(exc).__name__}: {exc}"
            return Identification(shown, (), self.registry, self.tool, error)
        return Identification(shown, matches, self.registry, self.tool)

    def _run_fido(self, path: str, shown: str) -> tuple[list[tuple[_Found, str]], str | None]:
        self._fido.found = []
        self._fido.last_container_type = None
        self._fido.identify_file(path, name=os.path.basename(shown))
        return self._fido.found, self._fido.last_container_type

    @staticmethod
    def _matches(found: list[tuple[_Found, str]]) -> tuple[FormatMatch, ...]:
        seen: dict[str, FormatMatch] = {}
        for matches, method in found:
            for fmt, _signature in matches:
                match = _to_match(fmt, method)
                seen.setdefault(match.puid, match)
        return tuple(seen.values())


# --- many files -----------------------------------------------------------------------------------

_process_identifier: FormatIdentifier | None = None
_process_identifier_lock = threading.Lock()


def _identifier() -> FormatIdentifier:
    """This process's shared identifier, built on first use (~0.1-0.2 s, ~70 MiB)."""
    global _process_identifier
    with _process_identifier_lock:
        if _process_identifier is None:
            _process_identifier = FormatIdentifier()
        return _process_identifier


def _init_worker() -> None:
    """Pool initializer: one identifier per process. A worker has no logging configuration, so
    its records are dropped here; failures travel back in ``Identification.error``."""
    log.addHandler(logging.NullHandler())
    log.propagate = False
    _identifier()


def _identify_item(item: tuple[Path, str]) -> Identification:
    path, shown = item
    return _identifier().identify(path, shown)


def identify_many(items: Sequence[tuple[Path, str]], workers: int = 2) -> list[Identification]:
    """Identify every (absolute path, display path), in order; ``workers > 1`` uses processes
    (:func:`preserve.ingest.pool.fan_out`: worth it from a few hundred files up). Failures are
    logged here, in the calling process."""
    results = fan_out(_identify_item, items, workers, initializer=_init_worker)
    for result in results:
        if result.error:
            log.warning("format identification failed for %s: %s", result.path, result.error)
    return results
