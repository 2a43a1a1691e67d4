"""The fido engine: fido 1.6.1 in process, over the PRONOM v116 registry shipped here.

Registry data
    ``ingest/pronom/`` holds fido's signature files for PRONOM v116 (container signatures of
    2023-11-27), copied unchanged from fido's source repository; its ``versions.xml`` names them.
    The opf-fido wheel ships v109 in its own conf dir, which we never read.

The three stages (:class:`_PreparedFido`, a subclass of ``fido.fido.Fido``)
    1. Binary signatures: fido's ``match_formats`` (same formats, order, priorities and results),
       over patterns compiled once at start-up instead of through ``re``'s cache.
    2. Container signatures, when a binary match is one of the container file's trigger PUIDs:
       :mod:`preserve.ingest.identify.containers`, DROID's semantics (fido's own is not usable
       with v116, see there). Priorities (``has_priority_over``) are applied among container
       matches as among binary ones.
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
    - Per-file state lives on the ``Fido`` instance: :class:`FidoEngine` serialises callers
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import fido
from fido.fido import Fido

from preserve.ingest.identify.containers import (
    ContainerEntries,
    ContainerSignature,
    container_matches,
    load_container_signatures,
)
from preserve.ingest.identify.model import FormatMatch

log = logging.getLogger(__name__)

PRONOM_DIR = Path(__file__).resolve().parents[1] / "pronom"
TOOL = f"fido {fido.__version__} + preserve container matcher"

_Found = list[tuple[ET.Element, str]]  # fido's match list: (format element, signature name)


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
        self._superiors: dict[str, list[_CompiledFormat]] | None = None
        self._containers: dict[str, list[ContainerSignature]] = {}
        for signature in signatures:
            if signature.puid in self.puid_format_map:
                self._containers.setdefault(signature.container_type, []).append(signature)

    def superior_match(self, filename: str, puid: str) -> str | None:
        """The PUID of a format that has priority over ``puid`` in this registry and whose binary
        signature matches the file (fido's matching, only those formats), or None."""
        if self._superiors is None:
            index: dict[str, list[_CompiledFormat]] = {}
            for compiled in self._compiled:
                for inferior in self.puid_has_priority_over_map.get(self.get_puid(compiled[0]), ()):
                    index.setdefault(inferior, []).append(compiled)
            self._superiors = index
        candidates = self._superiors.get(puid)
        if not candidates:
            return None
        with open(filename, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            bofbuffer, eofbuffer, _ = self.get_buffers(f, size, seekable=True)
        first = bofbuffer[0] if bofbuffer else -1
        for fmt, signatures in candidates:
            for _name, patterns, firsts in signatures:
                if firsts is not None and first not in firsts:
                    continue
                hit = _signature_matches(patterns, bofbuffer, eofbuffer)
                if hit is None:
                    break
                if hit:
                    return self.get_puid(fmt)
        return None

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
            with ContainerEntries(container_type, filename) as entries:
                signatures = self._containers[container_type]
                puids = [s.puid for s in signatures if container_matches(s, entries)]
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


class FidoEngine:
    """One prepared Fido, loaded once with the v116 signatures, reused for every file.

    Thread-safe by serialising callers (fido keeps per-file state on the instance). Returns the
    matches in fido's order and whether a ZIP container trigger matched.
    """

    name = "fido"

    def __init__(self) -> None:
        registry = Registry.load()
        self.registry = registry.name
        self.tool = TOOL
        self._fido = _PreparedFido(registry)
        self._lock = threading.Lock()

    @staticmethod
    def describe() -> str:
        """The tool and its signature files, without loading them."""
        registry = Registry.load()
        return f"{TOOL}, {registry.name} ({registry.container_file})"

    def more_specific(self, path: str, puid: str) -> str | None:
        """A format this registry ranks above ``puid`` whose signature matches the file: the
        cheap check (a few formats, not ~1,700) of whether fido would answer differently."""
        with self._lock:
            return self._fido.superior_match(path, puid)

    def identify(self, path: str, shown: str) -> tuple[tuple[FormatMatch, ...], bool]:
        """(matches, a ZIP container trigger matched); raises on a failure."""
        with self._lock:
            self._fido.found = []
            self._fido.last_container_type = None
            self._fido.identify_file(path, name=os.path.basename(shown))
            found, container_type = self._fido.found, self._fido.last_container_type
        seen: dict[str, FormatMatch] = {}
        for matches, method in found:
            for fmt, _signature in matches:
                match = _to_match(fmt, method)
                seen.setdefault(match.puid, match)
        return tuple(seen.values()), container_type == "ZIP"
