"""Two engines, one answer: which engines identify a file, and how their answers combine.

``siegfried+fido`` (the default ingest-profile setting)
    Siegfried identifies every file. Where it has no positive signature match (unknown,
    extension only, text with another extension, several matches, a warning, a damaged or bare
    container), fido gives a second opinion. Where it has one, the answer is ambiguous when
    fido's registry ranks a more specific format above it (``has_priority_over``) and that format's
    signature matches the file (a check of those few formats only): fido gives its opinion there
    too. The answer with the stronger basis (container or byte signature > text > extension) comes
    first, fido's between two signatures; the other engine's matches follow it, so the pair's
    answer always holds every PUID fido alone would have returned. Where both named a format and
    their first PUIDs differ, the
    :attr:`Identification.disagreement` says so: it is kept in ``formats.json``, in the PREMIS
    identification event and as a ``warn`` on check 3-3.
``fido`` / ``siegfried``
    One engine alone.

Our OFD rule (:mod:`preserve.ingest.identify.ofd`) applies whatever engine answered.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path

from preserve.ingest.identify.fido_engine import FidoEngine
from preserve.ingest.identify.model import (
    DEFAULT_ENGINES,
    ENGINE_CHOICES,
    FormatMatch,
    Identification,
)
from preserve.ingest.identify.ofd import with_ofd
from preserve.ingest.identify.siegfried_engine import SiegfriedAnswer, SiegfriedEngine
from preserve.ingest.pool import fan_out

log = logging.getLogger(__name__)

_RANK = {"local": 4, "container": 3, "signature": 3, "text": 2, "extension": 1}


def _strength(matches: tuple[FormatMatch, ...]) -> int:
    return _RANK.get(matches[0].method, 0) if matches else 0


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class FormatIdentifier:
    """The engines an ingest profile names, each loaded once (fido only when first needed by
    the pair: most files never ask for it). Thread-safe; for parallelism, one per process."""

    def __init__(self, engines: str = DEFAULT_ENGINES) -> None:
        if engines not in ENGINE_CHOICES:
            raise ValueError(f"unknown identification engines {engines!r}: one of {ENGINE_CHOICES}")
        self.engines = engines
        self._siegfried = SiegfriedEngine() if engines != "fido" else None
        self._fido_engine = FidoEngine() if engines == "fido" else None
        self._fido_lock = threading.Lock()
        first = self._siegfried or self._fido_engine
        assert first is not None
        self.registry, self.tool = first.registry, first.tool

    @property
    def _fido(self) -> FidoEngine:
        with self._fido_lock:
            if self._fido_engine is None:
                self._fido_engine = FidoEngine()
            return self._fido_engine

    def describe(self) -> str:
        """The engines and their signature versions, for the identification event."""
        parts = []
        if self._siegfried is not None:
            parts.append(f"{self._siegfried.tool}, {self._siegfried.registry}")
        if self.engines != "siegfried":
            parts.append(f"{FidoEngine.describe()}")
        return f"engines {self.engines}: " + "; ".join(parts)

    def identify(self, path: str | os.PathLike, display_path: str | None = None) -> Identification:
        shown = os.fspath(path) if display_path is None else display_path
        where = os.fspath(path)
        if self._siegfried is None:
            return self._fido_alone(where, shown)
        sf = self._siegfried
        try:
            first = sf.identify(where)
        except Exception as exc:  # unreadable file: fido gets its turn (and reports the error)
            log.info("siegfried could not identify %s: %r", shown, exc)
            first = None
            if self.engines == "siegfried":
                return Identification(shown, (), sf.registry, sf.tool, _error(exc), ("siegfried",))
        if self.engines == "siegfried" or (
            first is not None and first.positive and not self._ambiguous(where, first)
        ):
            assert first is not None
            matches = with_ofd(where, first.matches)
            return Identification(shown, matches, sf.registry, sf.tool, None, ("siegfried",))
        return self._second_opinion(where, shown, first)

    def _ambiguous(self, where: str, answer: SiegfriedAnswer) -> bool:
        try:
            return self._fido.more_specific(where, answer.matches[0].puid) is not None
        except Exception:  # unreadable now: let the full second opinion say so
            return True

    def _fido_alone(self, where: str, shown: str) -> Identification:
        fido = self._fido
        try:
            matches, zip_seen = fido.identify(where, shown)
            matches = with_ofd(where, matches, zip_seen)
        except Exception as exc:  # fido, olefile or the file system: unidentified, not a crash
            log.warning("format identification failed for %s: %r", shown, exc)
            return Identification(shown, (), fido.registry, fido.tool, _error(exc), ("fido",))
        return Identification(shown, matches, fido.registry, fido.tool, None, ("fido",))

    def _second_opinion(self, where: str, shown: str, sf: SiegfriedAnswer | None) -> Identification:
        siegfried, fido = self._siegfried, self._fido
        assert siegfried is not None
        sf_matches = sf.matches if sf is not None else ()
        try:
            fido_matches, zip_seen = fido.identify(where, shown)
        except Exception as exc:
            log.warning("fido could not identify %s: %r", shown, exc)
            if sf is None:
                error = _error(exc)
                tool = f"{siegfried.tool} + {fido.tool}"
                return Identification(
                    shown, (), siegfried.registry, tool, error, ("siegfried", "fido")
                )
            fido_matches, zip_seen, fido_error = (), None, _error(exc)
        else:
            fido_error = None
        fido_strength, sf_strength = _strength(fido_matches), _strength(sf_matches)
        # a signature beats an extension; between two signatures fido's is the more specific
        # one (siegfried's was a bare container, damaged, or ranked below fido's)
        if fido_strength > sf_strength or fido_strength == sf_strength >= _RANK["signature"]:
            ordered, registry = (*fido_matches, *sf_matches), fido.registry
        else:
            ordered, registry = (*sf_matches, *fido_matches), siegfried.registry
        merged = tuple(
            {m.puid: m for m in reversed(ordered)}[p]
            for p in dict.fromkeys(m.puid for m in ordered)
        )
        disagreement = None
        if sf_matches and fido_matches and sf_matches[0].puid != fido_matches[0].puid:
            disagreement = (
                f"siegfried {sf_matches[0].puid} ({sf_matches[0].method}), "
                f"fido {fido_matches[0].puid} ({fido_matches[0].method})"
            )
        return Identification(
            shown,
            with_ofd(where, merged, zip_seen if zip_seen else None),
            registry,
            f"{siegfried.tool} + {fido.tool}",
            None if merged else fido_error,
            ("siegfried", "fido"),
            disagreement,
        )


# --- one identifier per process and engine choice ------------------------------------------------

_process_identifiers: dict[str, FormatIdentifier] = {}
_process_lock = threading.Lock()


def process_identifier(engines: str = DEFAULT_ENGINES) -> FormatIdentifier:
    """This process's shared identifier for ``engines``, built on first use."""
    with _process_lock:
        if engines not in _process_identifiers:
            _process_identifiers[engines] = FormatIdentifier(engines)
        return _process_identifiers[engines]


def init_worker(engines: str = DEFAULT_ENGINES) -> None:
    """Pool initializer: one identifier per process. A worker has no logging configuration, so
    records of this package are dropped there; failures travel back in ``Identification.error``."""
    root = logging.getLogger("preserve.ingest.identify")
    root.addHandler(logging.NullHandler())
    root.propagate = False
    process_identifier(engines)


def _identify_item(item: tuple[Path, str], engines: str) -> Identification:
    path, shown = item
    return process_identifier(engines).identify(path, shown)


def identify_many(
    items: Sequence[tuple[Path, str]], workers: int = 2, engines: str = DEFAULT_ENGINES
) -> list[Identification]:
    """Identify every (absolute path, display path), in order; ``workers > 1`` uses processes
    (:func:`preserve.ingest.pool.fan_out`). Failures are logged here, in the calling process."""
    results = fan_out(
        functools.partial(_identify_item, engines=engines),
        items,
        workers,
        initializer=functools.partial(init_worker, engines),
        keep=("identify", engines),
    )
    for result in results:
        if result.error:
            log.warning("format identification failed for %s: %s", result.path, result.error)
    return results
