"""Format identification, as the rest of ingest imports it: see :mod:`preserve.ingest.identify`.

The engines, the container matcher and the OFD rule have their own modules there; this module
names what callers use.
"""

from __future__ import annotations

from preserve.ingest.identify.containers import container_sequence_regex, load_container_signatures
from preserve.ingest.identify.fido_engine import PRONOM_DIR, TOOL, FidoEngine, Registry
from preserve.ingest.identify.identifier import (
    DEFAULT_ENGINES,
    ENGINE_CHOICES,
    FormatIdentifier,
    identify_many,
    init_worker,
    process_identifier,
)
from preserve.ingest.identify.model import OFD_MATCH, FormatMatch, Identification
from preserve.ingest.identify.ofd import OFD_ROOT_ENTRY

__all__ = [
    "DEFAULT_ENGINES",
    "ENGINE_CHOICES",
    "OFD_MATCH",
    "OFD_ROOT_ENTRY",
    "PRONOM_DIR",
    "TOOL",
    "FidoEngine",
    "FormatIdentifier",
    "FormatMatch",
    "Identification",
    "Registry",
    "container_sequence_regex",
    "identify_many",
    "init_worker",
    "load_container_signatures",
    "process_identifier",
]
