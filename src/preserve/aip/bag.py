"""Writing and reading the AIP as a BagIt 1.0 bag (RFC 8493).

We write the bag files ourselves from digests computed while receiving, rather than calling
bagit-python's ``make_bag``, which ``os.chdir``s (unsafe in a threaded server), rewrites the
folder in place, and would hash every byte a second time. bagit-python validates our bags in
the tests.

Layout (every store holds the same keys under ``aips/ab/cd/<aip-id>/``)::

    bagit.txt, bag-info.txt
    manifest-sha256.txt, manifest-sha512.txt          payload digests
    metadata/record.json                              the record metadata as received
    metadata/formats.json                             fido/PRONOM identifications
    metadata/events.json                              PREMIS-style events up to packaging
    metadata/checks.json                              the four-property report (DA/T 70)
    metadata/receipt.json                             the signed receipt given to the agency
    metadata/premis.xml                               PREMIS 3: objects, events, agents at packaging
    metadata/sip/...                                  the sender's tag files and metadata, as sent
    tagmanifest-sha256.txt, tagmanifest-sha512.txt    digests of all the above
    signature/tagmanifest-sha256.txt.sig              Ed25519 signature over the tag manifest
    manifest-sm3.txt, tagmanifest-sm3.txt,            国密 profiles only (preserve.trust.guomi),
    signature/tagmanifest-sm3.txt.sig                 listed in tagmanifest-sha256.txt
    data/...                                          the payload, under the agency's paths
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from preserve.durable import write_files

BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
PAYLOAD_ALGORITHMS = ("sha256", "sha512")
TAGMANIFEST = "tagmanifest-sha256.txt"
SIGNATURE = "signature/tagmanifest-sha256.txt.sig"
UNRECORDED = ("tagmanifest-sha512.txt", SIGNATURE)
"""Bag files whose digest is not in a signed manifest (the signature covers the sha256 one)."""
PROFILE_ID = "https://preserve.dev/bagit-profile/aip/v1"


@dataclass(frozen=True)
class PayloadEntry:
    path: str
    size: int
    digests: dict[str, str]


Signer = Callable[[bytes], bytes]
"""Signs a tag manifest: its bytes in, the signature file's bytes out (see preserve.trust)."""
ExtraTags = Callable[[dict[str, bytes]], dict[str, bytes]]
"""More tag files from the tag files so far, listed in the tag manifests (国密's SM3 files)."""


@dataclass(frozen=True)
class BuiltBag:
    tagmanifest_sha256: str
    files: list[str]


def encode_path(path: str) -> str:
    """RFC 8493 §2.1.3: percent-encode CR, LF and '%' in manifest paths."""
    return path.replace("%", "%25").replace("\n", "%0A").replace("\r", "%0D")


def decode_path(path: str) -> str:
    return (
        path.replace("%0A", "\n")
        .replace("%0D", "\r")
        .replace("%0a", "\n")
        .replace("%0d", "\r")
        .replace("%25", "%")
    )


def manifest_text(entries: Iterable[tuple[str, str]]) -> bytes:
    lines = [f"{digest}  {encode_path(path)}\n" for path, digest in sorted(entries)]
    return "".join(lines).encode("utf-8")


_LINE_BREAK = re.compile(r"\r\n|\r|\n")
"""RFC 8493 lines end in LF, CR or CRLF only; str.splitlines would also split U+2028."""


def parse_manifest(text: bytes) -> dict[str, str]:
    """path -> digest; raises ValueError on a malformed line."""
    result: dict[str, str] = {}
    for number, line in enumerate(_LINE_BREAK.split(text.decode("utf-8")), 1):
        if not line.strip():
            continue
        digest, sep, path = line.partition(" ")
        if not sep:
            raise ValueError(f"manifest line {number} has no path")
        result[decode_path(path.lstrip(" *"))] = digest.lower()
    return result


def bag_info(fields: dict[str, str]) -> bytes:
    lines = []
    for label, value in fields.items():
        clean = " ".join(str(value).split())
        lines.append(f"{label}: {clean}\n")
    return "".join(lines).encode("utf-8")


def json_bytes(doc: Any) -> bytes:
    return (json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def write_bag(
    root: Path,
    payload: list[PayloadEntry],
    info: dict[str, str],
    tag_documents: dict[str, Any],
    sign: Signer,
    extra_tags: ExtraTags | None = None,
) -> BuiltBag:
    """Write every tag file of a bag whose payload already sits under ``root/data``; the
    signature over ``tagmanifest-sha256.txt`` comes from ``sign``."""
    total = sum(e.size for e in payload)
    info = {
        **info,
        "Payload-Oxum": f"{total}.{len(payload)}",
        "BagIt-Profile-Identifier": PROFILE_ID,
    }
    tag_files: dict[str, bytes] = {"bagit.txt": BAGIT_TXT, "bag-info.txt": bag_info(info)}
    for alg in PAYLOAD_ALGORITHMS:
        tag_files[f"manifest-{alg}.txt"] = manifest_text(
            (f"data/{e.path}", e.digests[alg]) for e in payload
        )
    for name, doc in tag_documents.items():
        tag_files[f"metadata/{name}"] = doc if isinstance(doc, bytes) else json_bytes(doc)
    if extra_tags is not None:
        tag_files.update(extra_tags(tag_files))
    tagmanifests = {
        f"tagmanifest-{alg}.txt": manifest_text(
            (name, hashlib.new(alg, data).hexdigest()) for name, data in tag_files.items()
        )
        for alg in PAYLOAD_ALGORITHMS
    }
    everything = {**tag_files, **tagmanifests, SIGNATURE: sign(tagmanifests[TAGMANIFEST])}
    write_files({root / name: data for name, data in everything.items()})
    return BuiltBag(
        tagmanifest_sha256=hashlib.sha256(tagmanifests[TAGMANIFEST]).hexdigest(),
        files=sorted(everything),
    )


def store_order(relpaths: Iterable[str]) -> list[str]:
    """Order to write a bag's files to a store: payload, tag files, tag manifests, signature.

    The signature goes last, so a bag whose signature is present was written whole.
    """

    def rank(p: str) -> tuple[int, str]:
        if p.startswith("data/"):
            return (0, p)
        if p == SIGNATURE:
            return (3, p)
        if p.startswith("tagmanifest-"):
            return (2, p)
        return (1, p)

    return sorted(relpaths, key=rank)
