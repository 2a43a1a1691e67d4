"""The one check of a stored bag's tag side, shared by the audit, repair, downloads and restores.

So "audit ok" and "download works" never disagree (issue 11, item 5): every user of a copy asks
the same questions of it here.

1. ``signature/tagmanifest-sha256.txt.sig`` verifies over ``tagmanifest-sha256.txt`` with a
   trusted key, and that tag manifest is the one recorded at ingest (when the catalogue says);
2. **every** tag manifest (sha256, sha512, and sm3 on 国密 bags, whose SM2 signature must verify
   too) matches **every** tag file it lists, hashed here with its own algorithm; the sha512 one
   lists every tag file the signed one does (we write them from the same files);
3. every payload manifest (sha256, sha512, sm3) parses, names only safe paths under ``data/``,
   and all of them name the same files.

The payload's bytes are checked by the caller against :attr:`TagCheck.payload` as they are read
(the audit hashes every algorithm in one pass; a restore or a download checks while it writes),
so no byte is read twice. Problems are collected rather than raised, so the audit reports every
one; :meth:`TagCheck.raise_first` is for callers that only need to know the copy is unusable.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from preserve.aip import bag as bagit
from preserve.aip.layout import aip_key
from preserve.aip.paths import safe_relative_path
from preserve.errors import IntegrityError, InvalidInput
from preserve.storage.base import ObjectNotFound, StorageError, Store, read_bytes
from preserve.trust.guomi import SM2_SIGNATURE, SM3_MANIFEST, SM3_TAGMANIFEST
from preserve.trust.signing import SM2_ALGORITHM, Signature, verify

MISMATCH = "mismatch"
MISSING = "missing"
UNREADABLE = "unreadable"
SIGNATURE_INVALID = "signature-invalid"

TAGMANIFEST_SHA512 = "tagmanifest-sha512.txt"
PAYLOAD_MANIFESTS = {
    "sha256": "manifest-sha256.txt",
    "sha512": "manifest-sha512.txt",
    "sm3": SM3_MANIFEST,
}


@dataclass(frozen=True)
class BagProblem:
    path: str
    outcome: str  # mismatch, missing, unreadable, signature-invalid (the audit's outcomes)
    detail: str
    message: str = ""  # the sentence for an error, when "path: detail" is not it

    def __str__(self) -> str:
        return self.message or f"{self.path}: {self.detail}"


@dataclass
class TagCheck:
    """What the tag side of one copy says, and what is wrong with it."""

    target: str
    tagmanifest: bytes = b""
    signature: Signature | None = None
    tag_sha256: dict[str, str] = field(default_factory=dict)
    tag_files: dict[str, bytes] = field(default_factory=dict)
    payload: dict[str, dict[str, str]] = field(default_factory=dict)
    """algorithm -> {path under data/ (without the prefix) -> digest}, for every payload
    manifest the bag holds (sha256 and sha512 always, sm3 on 国密 bags)."""
    problems: list[BagProblem] = field(default_factory=list)
    bytes_read: int = 0
    damaged: set[str] = field(default_factory=set)  # tag files the signed manifest refutes

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, path: str, outcome: str, detail: str, message: str = "") -> None:
        self.problems.append(BagProblem(path, outcome, detail, message))

    def raise_first(self) -> None:
        """IntegrityError naming the first problems (or ObjectNotFound when only objects are
        missing), for callers that pass over an unusable copy."""
        if not self.problems:
            return
        shown = "; ".join(str(p) for p in self.problems[:3])
        more = f" and {len(self.problems) - 3} more" if len(self.problems) > 3 else ""
        text = f"{shown}{more}"
        if all(p.outcome == MISSING for p in self.problems):
            raise ObjectNotFound(text)
        raise IntegrityError(text)


def check_tags(
    store: Store, aip_id: str, trusted: dict | None, tagmanifest_sha256: str | None = None
) -> TagCheck:
    """Check every tag file of the copy of ``aip_id`` in ``store`` (see the module docstring).

    ``trusted=None`` verifies against the public key embedded in the signature document (only
    for rebuilding a catalogue when the archive's key directory was lost too)."""
    check = TagCheck(store.name)
    if not _signed_head(store, aip_id, trusted, tagmanifest_sha256, check):
        return check
    names = set(check.tag_sha256)
    files = check.tag_files
    for name in sorted(names | {TAGMANIFEST_SHA512}):
        data = _read(store, aip_id, name, check)
        if data is not None:
            files[name] = data
    _check_manifest(check, bagit.TAGMANIFEST, "sha256", check.tag_sha256)
    sha512 = _parsed(check, TAGMANIFEST_SHA512)
    if sha512 is not None:
        for name in sorted(names - set(sha512)):
            check.problem(TAGMANIFEST_SHA512, MISMATCH, f"has no entry for {name}")
        _check_manifest(check, TAGMANIFEST_SHA512, "sha512", sha512)
    if SM3_TAGMANIFEST in names:
        _check_guomi(check, trusted)
    _payload_manifests(check)
    return check


def _signed_head(
    store: Store, aip_id: str, trusted: dict | None, recorded: str | None, check: TagCheck
) -> bool:
    try:
        check.tagmanifest = read_bytes(store, aip_key(aip_id, bagit.TAGMANIFEST))
        check.signature = Signature.from_json(read_bytes(store, aip_key(aip_id, bagit.SIGNATURE)))
        verify(check.signature, check.tagmanifest, trusted)
    except ObjectNotFound as exc:
        check.problem(bagit.SIGNATURE, MISSING, str(exc), str(exc))
        return False
    except StorageError as exc:
        check.problem(bagit.TAGMANIFEST, UNREADABLE, str(exc), str(exc))
        return False
    except IntegrityError as exc:
        check.problem(bagit.TAGMANIFEST, SIGNATURE_INVALID, str(exc), str(exc))
        return False
    check.bytes_read += len(check.tagmanifest)
    if recorded and hashlib.sha256(check.tagmanifest).hexdigest() != recorded:
        check.problem(
            bagit.TAGMANIFEST,
            SIGNATURE_INVALID,
            "tag manifest validly signed but not the one recorded at ingest",
            "the tag manifest is not the one recorded at ingest",
        )
        return False
    try:
        check.tag_sha256 = _parse(check.tagmanifest, bagit.TAGMANIFEST)
    except IntegrityError as exc:
        check.problem(bagit.TAGMANIFEST, MISMATCH, str(exc), str(exc))
        return False
    return True


def _read(store: Store, aip_id: str, name: str, check: TagCheck) -> bytes | None:
    try:
        data = read_bytes(store, aip_key(aip_id, name))
    except ObjectNotFound:
        check.problem(name, MISSING, "object is missing")
        return None
    except StorageError as exc:
        check.problem(name, UNREADABLE, str(exc))
        return None
    check.bytes_read += len(data)
    return data


def _parsed(check: TagCheck, name: str) -> dict[str, str] | None:
    data = check.tag_files.get(name)
    if data is None:
        return None  # its absence is a problem already
    try:
        return _parse(data, name)
    except IntegrityError as exc:
        check.problem(name, MISMATCH, str(exc))
        return None


def _check_manifest(check: TagCheck, manifest: str, algorithm: str, entries: dict) -> None:
    """Every entry of one tag manifest against the tag file's bytes. A file that matches the
    signed sha256 manifest but not this one is this manifest's fault, and is named so; a file
    the signed manifest already found damaged is reported once more only by the SM3 tag
    manifest (国密 asks for its own, independent finding)."""
    signed = manifest == bagit.TAGMANIFEST
    for name, want in sorted(entries.items()):
        if name.startswith("data/") or name == manifest:
            check.problem(manifest, MISMATCH, f"lists {name!r}, which is no tag file")
            continue
        data = check.tag_files.get(name)
        if data is None:
            if name not in check.tag_sha256:  # listed only here: not read yet
                check.problem(manifest, MISMATCH, f"lists {name!r}, which the bag does not hold")
            continue
        if not signed and name in check.damaged and algorithm != "sm3":
            continue  # said once; the SM3 tag manifest, 国密's own witness, still says it
        got = hashlib.new(algorithm, data).hexdigest()
        if got == want:
            continue
        if signed:
            check.damaged.add(name)
            check.problem(
                name,
                MISMATCH,
                f"sha256 {got}, expected {want}",
                f"{name} does not match the signed tag manifest",
            )
        else:
            check.problem(manifest, MISMATCH, f"{name} has {algorithm} {got}, it says {want}")


def _check_guomi(check: TagCheck, trusted: dict | None) -> None:
    """The SM2 signature over the SM3 tag manifest, and that manifest against the tag files."""
    raw = check.tag_files.get(SM2_SIGNATURE)
    tagmanifest = check.tag_files.get(SM3_TAGMANIFEST)
    if raw is None or tagmanifest is None:
        return
    try:
        signature = Signature.from_json(raw)
        if signature.algorithm != SM2_ALGORITHM:
            raise IntegrityError(f"{SM2_SIGNATURE} is not an SM2 signature")
        verify(signature, tagmanifest, trusted)
    except IntegrityError as exc:
        check.problem(SM3_TAGMANIFEST, SIGNATURE_INVALID, str(exc))
        return
    entries = _parsed(check, SM3_TAGMANIFEST)
    if entries is not None:
        _check_manifest(check, SM3_TAGMANIFEST, "sm3", entries)


def _payload_manifests(check: TagCheck) -> None:
    for algorithm, name in PAYLOAD_MANIFESTS.items():
        if name not in check.tag_files:
            if algorithm != "sm3" and name not in check.tag_sha256:
                check.problem(name, MISSING, "the signed tag manifest does not list it")
            continue
        entries = _parsed(check, name)
        if entries is None:
            continue
        payload = {}
        for path, digest in entries.items():
            try:
                if not path.startswith("data/"):
                    raise InvalidInput(f"entry {path!r} is outside data/")
                payload[safe_relative_path(path.removeprefix("data/"))] = digest
            except InvalidInput as exc:
                check.problem(name, MISMATCH, str(exc))
        check.payload[algorithm] = payload
    reference = check.payload.get("sha256")
    for algorithm, payload in check.payload.items():
        if reference is not None and set(payload) != set(reference):
            differ = sorted(set(payload) ^ set(reference))[:3]
            check.problem(
                PAYLOAD_MANIFESTS[algorithm],
                MISMATCH,
                f"names other files than manifest-sha256.txt: {', '.join(differ)}",
            )


def _parse(data: bytes, name: str) -> dict[str, str]:
    try:
        return bagit.parse_manifest(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise IntegrityError(f"{name} is malformed: {exc}") from None
