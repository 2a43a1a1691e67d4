"""国密 bags: SM3 manifests and an SM2 signature, beside the sha256/sha512 ones.

A profile with ``[policy] guomi = true`` gets, in every AIP (a local extension of our BagIt
profile; bagit-python does not know ``sm3``, so these files are checked here, never by patching
its algorithm table)::

    manifest-sm3.txt                     SM3 (GB/T 32905) of every payload file
    tagmanifest-sm3.txt                  SM3 of every tag file, manifest-sm3.txt included
    signature/tagmanifest-sm3.txt.sig    SM2 signature (GB/T 32918, SM3, default id) over it

``tagmanifest-sm3.txt`` and the SM2 signature are themselves listed in ``tagmanifest-sha256.txt``,
so the Ed25519 signature covers them and every copy and audit carries them along; and the SM3
side covers the whole bag on its own: SM2 signature → SM3 tag manifest → SM3 manifest → payload.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from preserve.aip.bag import ExtraTags, manifest_text, parse_manifest
from preserve.aip.layout import aip_key
from preserve.errors import IntegrityError, PreserveError
from preserve.storage.base import ObjectNotFound, StorageError, Store, read_bytes
from preserve.storage.profiles import StorageProfile
from preserve.trust.keyring import Keyring
from preserve.trust.signing import SM2_ALGORITHM, Signature, sign, verify

SM3_MANIFEST = "manifest-sm3.txt"
SM3_TAGMANIFEST = "tagmanifest-sm3.txt"
SM2_SIGNATURE = "signature/tagmanifest-sm3.txt.sig"
CHUNK = 1024 * 1024


def sm3_hex(data: bytes) -> str:
    return hashlib.new("sm3", data).hexdigest()


def sm3_of_stream(stream: Any) -> str:
    h = hashlib.new("sm3")
    while chunk := stream.read(CHUNK):
        h.update(chunk)
    return h.hexdigest()


def guomi_signer(profile: StorageProfile, keyring: Keyring) -> Any:
    """The SM2 key to sign with when the profile asks for 国密, else None."""
    return keyring.sm2_key() if getattr(profile.policy, "guomi", False) else None


def guomi_tag_files(root: Path, payload: Iterable[Any], sm2_key: Any) -> ExtraTags:
    """The three 国密 files for a bag whose payload is under ``root/data``, made from the bag's
    other tag files when :func:`preserve.aip.bag.write_bag` has them."""
    return partial(_guomi_tag_files, root, list(payload), sm2_key=sm2_key)


def _guomi_tag_files(
    root: Path, payload: Iterable[Any], tag_files: dict[str, bytes], sm2_key: Any
) -> dict[str, bytes]:
    entries = []
    for e in payload:
        digest = e.digests.get("sm3")
        if digest is None:
            with open(root / "data" / e.path, "rb") as stream:
                digest = sm3_of_stream(stream)
        entries.append((f"data/{e.path}", digest))
    files = {**tag_files, SM3_MANIFEST: manifest_text(entries)}
    tagmanifest = manifest_text((name, sm3_hex(data)) for name, data in files.items())
    signature = sign(sm2_key, tagmanifest, SM3_TAGMANIFEST)
    return {
        SM3_MANIFEST: files[SM3_MANIFEST],
        SM3_TAGMANIFEST: tagmanifest,
        SM2_SIGNATURE: signature.to_json(),
    }


@dataclass(frozen=True)
class GuomiProblem:
    path: str
    outcome: str  # an audit outcome: mismatch, missing, unreadable, signature-invalid
    detail: str


def read_sm3_manifest(store: Store, aip_id: str, trusted: Any) -> dict[str, str] | None:
    """The payload's SM3 digests (path under data/ -> sm3), proven by the SM2 signature and the
    SM3 tag manifest; None for a bag without 国密 files; IntegrityError if they do not verify."""
    try:
        tagmanifest = read_bytes(store, aip_key(aip_id, SM3_TAGMANIFEST))
    except ObjectNotFound:
        return None
    signature = Signature.from_json(read_bytes(store, aip_key(aip_id, SM2_SIGNATURE)))
    if signature.algorithm != SM2_ALGORITHM:
        raise IntegrityError(f"{SM2_SIGNATURE} is not an SM2 signature")
    verify(signature, tagmanifest, trusted)
    manifest = read_bytes(store, aip_key(aip_id, SM3_MANIFEST))
    if _parse(tagmanifest, SM3_TAGMANIFEST).get(SM3_MANIFEST) != sm3_hex(manifest):
        raise IntegrityError(f"{SM3_MANIFEST} does not match the SM2-signed tag manifest")
    return _parse(manifest, SM3_MANIFEST)


def guomi_problems(store: Store, aip_id: str, trusted: Any) -> list[GuomiProblem]:
    """Audit a replica's 国密 side: SM2 signature, then every tag and payload file by SM3."""
    try:
        payload = read_sm3_manifest(store, aip_id, trusted)
    except ObjectNotFound as exc:
        return [GuomiProblem(SM2_SIGNATURE, "missing", str(exc))]
    except StorageError as exc:
        return [GuomiProblem(SM3_TAGMANIFEST, "unreadable", str(exc))]
    except PreserveError as exc:
        return [GuomiProblem(SM3_TAGMANIFEST, "signature-invalid", str(exc))]
    if payload is None:
        return []
    tags = _parse(read_bytes(store, aip_key(aip_id, SM3_TAGMANIFEST)), SM3_TAGMANIFEST)
    problems = []
    for relpath, want in [*tags.items(), *payload.items()]:
        try:
            with store.open(aip_key(aip_id, relpath)) as stream:
                got = sm3_of_stream(stream)
        except ObjectNotFound:
            problems.append(GuomiProblem(relpath, "missing", "object is missing"))
            continue
        except StorageError as exc:
            problems.append(GuomiProblem(relpath, "unreadable", str(exc)))
            continue
        if got != want:
            problems.append(GuomiProblem(relpath, "mismatch", f"sm3 {got}, expected {want}"))
    return problems


def check_restored(root: Path, chosen: Iterable[str], sm3: dict[str, str]) -> None:
    """SM3 of each restored file (under ``root``) against the SM2-proven manifest."""
    for path in chosen:
        want = sm3.get(f"data/{path}")
        with open(root.joinpath(*path.split("/")), "rb") as stream:
            got = sm3_of_stream(stream)
        if got != want:
            raise IntegrityError(f"data/{path} has sm3 {got}, expected {want}")


def _parse(data: bytes, name: str) -> dict[str, str]:

    try:
        return parse_manifest(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise IntegrityError(f"{name} is malformed: {exc}") from None
