"""A serialized bag, received whole into staging, unpacked safely and validated.

Layout in staging::

    <sip>/incoming/bag.zip|bag.tar    the body as received (removed once unpacked)
    <sip>/sender/...                  the sender's tag files, kept for the AIP's metadata/sip/
    <sip>/bag/data/...                the payload, hashed while written

The bag may sit at the archive's root or in one top-level folder (RFC 8493 §4 asks for the
latter). Tag files are read first (they are small: the profile bounds them), so the payload
is hashed in one pass with sha256, sha512 and every algorithm the sender's manifests use.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from preserve.errors import UnreadableArchive, UnsafePath
from preserve.ingest import archive as arc
from preserve.ingest import sipbag
from preserve.ingest.checks import Report
from preserve.ingest.profile import UnpackLimits
from preserve.ingest.staging import StagedFile, StagingWriter, fsync_files

INFO_FILES = ("bag-info.txt", "package-info.txt")


@dataclass
class ReceivedBag:
    report: Report
    files: list[StagedFile] = field(default_factory=list)
    tag_files: dict[str, bytes] = field(default_factory=dict)
    info: dict[str, list[str]] = field(default_factory=dict)
    version: str | None = None


def unpack_bag(
    path: Path,
    payload_root: Path,
    limits: UnpackLimits,
    compressed_total: int | None = None,
) -> ReceivedBag:
    """Unpack and validate; every finding is in ``result.report``."""
    result = ReceivedBag(Report())
    report = result.report
    kind = arc.sniff(path)
    if kind is None:
        report.fail("1-13", "the body is neither a ZIP nor a tar archive")
        return result
    try:
        with arc.open_archive(path, kind) as archive:
            members = arc.check_members(
                arc.raw_members(archive, kind), limits, report, compressed_total
            )
            if report.failures:
                return result
            _unpack(archive, kind, members, payload_root, limits, result)
    except UnreadableArchive as exc:
        report.fail("1-13", str(exc))
    except UnsafePath as exc:  # a member whose data does not match its header
        report.fail("P-1", exc.detail)
    return result


def _bag_root(members: list[arc.Member]) -> str | None:
    names = {m.path for m in members if not m.is_dir}
    if "bagit.txt" in names:
        return ""
    tops = {p.split("/", 1)[0] for p in names}
    if len(tops) == 1 and f"{next(iter(tops))}/bagit.txt" in names:
        return next(iter(tops)) + "/"
    return None


def _unpack(
    archive,
    kind: str,
    members: list[arc.Member],
    payload_root: Path,
    limits: UnpackLimits,
    result: ReceivedBag,
) -> None:
    report = result.report
    root = _bag_root(members)
    if root is None:
        report.fail(
            "1-13",
            "bagit.txt is missing: no bagit.txt at the top of the archive or "
            "of its one top-level folder",
        )
        return
    inside = [m for m in members if not m.is_dir and m.path.startswith(root)]
    tags = [m for m in inside if not m.path[len(root) :].startswith("data/")]
    payload = [m for m in inside if m.path[len(root) :].startswith("data/")]
    result.tag_files = _read_tags(archive, kind, tags, root, limits, report)
    if report.failures:
        return
    facts = sipbag.read_bagit_txt(result.tag_files, report)
    algorithms = sipbag.manifest_algorithms(result.tag_files, report)
    if report.failures:
        return
    result.version = facts.version
    manifests = {}
    for alg in algorithms:
        name = f"manifest-{alg}.txt"
        text = sipbag.decode_tag(result.tag_files[name], facts, name, report)
        manifests[alg] = sipbag.parse_manifest(text or "", name, facts, report, payload=True)
    received = _write_payload(archive, kind, payload, root, payload_root, algorithms, result)
    sipbag.check_payload(manifests, received, report)
    sipbag.check_tag_manifests(result.tag_files, facts, report)
    sipbag.check_fetch(result.tag_files, facts, received, report)
    result.info = _bag_info(result.tag_files, facts, report)
    system = sipbag.absent_system_files(manifests, received)
    sipbag.check_oxum(result.info, received, report, system)


def _read_tags(
    archive, kind: str, tags: list[arc.Member], root: str, limits: UnpackLimits, report: Report
) -> dict[str, bytes]:
    total = sum(m.size for m in tags)
    if total > limits.max_tag_file_bytes:
        report.fail(
            "P-1", f"tag files hold {total} bytes; the limit is {limits.max_tag_file_bytes}"
        )
        return {}
    for member in tags:
        name = member.path[len(root) :]
        manifest = name.startswith(("manifest-", "tagmanifest-"))
        cap = limits.max_manifest_bytes if manifest else limits.max_one_tag_bytes
        if member.size > cap:
            report.fail(
                "P-1", f"tag file {name[:200]!r} holds {member.size} bytes; the limit is {cap}"
            )
    if report.failures:
        return {}
    out = {}
    for member in tags:
        with arc.open_member(archive, kind, member) as stream:
            out[member.path[len(root) :]] = arc.BoundedReader(
                stream, member.size, member.raw
            ).read_all()
    return out


def _write_payload(
    archive,
    kind: str,
    payload: list[arc.Member],
    root: str,
    payload_root: Path,
    algorithms: list[str],
    result: ReceivedBag,
) -> dict[str, sipbag.Payload]:
    received: dict[str, sipbag.Payload] = {}
    written: list[Path] = []
    extra = tuple(a for a in algorithms if a not in ("sha256", "sha512"))
    for member in payload:
        relpath = member.path[len(root) + len("data/") :]
        writer = StagingWriter(payload_root, relpath, member.size, extra=extra, fsync=False)
        try:
            with arc.open_member(archive, kind, member) as stream:
                reader = arc.BoundedReader(stream, member.size, member.raw)
                while chunk := reader.read(1024 * 1024):
                    writer.write(chunk)
            staged = writer.finish()
        except BaseException:
            writer.abort()
            raise
        written.append(writer.path)
        result.files.append(staged)
        received[relpath] = sipbag.Payload(staged.size, writer.digests)
    fsync_files(written)
    return received


def _bag_info(
    tag_files: dict[str, bytes], facts: sipbag.BagFacts, report: Report
) -> dict[str, list[str]]:
    for name in INFO_FILES:
        if name in tag_files:
            text = sipbag.decode_tag(tag_files[name], facts, name, report)
            return sipbag.parse_bag_info(text or "", report, name)
    return {}


def discard_incoming(path: Path) -> None:
    shutil.rmtree(path.parent, ignore_errors=True)
