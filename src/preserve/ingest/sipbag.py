"""Validating a received bag against RFC 8493 and the archive's BagIt profile.

Receive generously, keep strictly. Any manifest algorithm of RFC 8493's registry that hashlib
has is accepted (md5, sha1, sha224, sha256, sha384, sha512; an unknown one is reported and
ignored); the digests were computed while unpacking, so this module only compares. BagIt 0.93
to 1.0 are accepted, tag files in the encoding ``bagit.txt`` names.

What fails (1-13 unless said): ``bagit.txt`` missing, with a byte-order mark, or not exactly
``BagIt-Version: M.N`` and ``Tag-File-Character-Encoding: ENC``; no usable payload manifest; a
manifest line without a path, or a path outside ``data/`` (``..``, absolute, ``~``); a payload
file not listed in every manifest; a listed file that is not there; the same path listed twice
with different digests (and, from BagIt 1.0, listed twice at all); a ``fetch.txt`` entry outside
``data/`` or not already in the bag (nothing is ever fetched); a Payload-Oxum that disagrees
(2-1, 2-2); a payload digest that disagrees (2-7, naming each file); a tag manifest entry
missing or disagreeing (1-12).

What warns (the conformance suite's ``warning`` cases): md5sum's ``*`` binary marker, a
leading ``./``, the same path listed twice with one digest before BagIt 1.0 (or in two Unicode
normalisations), a listed file present only in another letter case, operating system files
(``.DS_Store``, ``Thumbs.db``, ``desktop.ini``, ``._*``), a ``fetch.txt`` whose files are all
present, and a manifest algorithm we do not know.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass, field

from preserve.aip.bag import decode_path
from preserve.ingest.checks import Report

ALGORITHMS = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")
ACCEPTED_VERSIONS = ("0.93", "0.94", "0.95", "0.96", "0.97", "1.0")
SYSTEM_FILES = (".DS_Store", "Thumbs.db", "desktop.ini")
_BAGIT_LINES = (
    re.compile(r"^BagIt-Version: (\d+\.\d+)$"),
    re.compile(r"^Tag-File-Character-Encoding: (\S+)$"),
)
_MANIFEST = re.compile(r"^(tag)?manifest-([a-z0-9]+)\.txt$")


@dataclass
class Payload:
    size: int
    digests: dict[str, str]  # algorithm -> hex


@dataclass
class BagFacts:
    version: str | None = None
    encoding: str = "utf-8"
    algorithms: list[str] = field(default_factory=list)
    info: dict[str, list[str]] = field(default_factory=dict)


def is_manifest(name: str) -> re.Match[str] | None:
    return _MANIFEST.match(name)


def read_bagit_txt(tag_files: dict[str, bytes], report: Report) -> BagFacts:
    facts = BagFacts()
    data = tag_files.get("bagit.txt")
    if data is None:
        report.fail("1-13", "bagit.txt is missing")
        return facts
    if data.startswith(codecs.BOM_UTF8):
        report.fail("1-13", "bagit.txt begins with a byte-order mark")
        return facts
    lines = data.decode("utf-8", "replace").splitlines()
    values = []
    for line, pattern in zip(lines, _BAGIT_LINES, strict=False):
        match = pattern.match(line)
        values.append(match.group(1) if match else None)
    if len(lines) != 2 or None in values:
        report.fail(
            "1-13",
            "bagit.txt must be exactly 'BagIt-Version: M.N' and "
            "'Tag-File-Character-Encoding: ENCODING'",
        )
        return facts
    facts.version, encoding = values
    try:
        facts.encoding = codecs.lookup(encoding).name
    except LookupError:
        report.fail("1-13", f"bagit.txt names an unknown encoding {encoding!r}")
    if facts.version not in ACCEPTED_VERSIONS:
        report.fail(
            "1-13", f"BagIt version {facts.version} is not one of " + ", ".join(ACCEPTED_VERSIONS)
        )
    return facts


def manifest_algorithms(tag_files: dict[str, bytes], report: Report) -> list[str]:
    found = []
    for name in sorted(tag_files):
        match = _MANIFEST.match(name)
        if not match or match.group(1):
            continue
        if match.group(2) in ALGORITHMS:
            found.append(match.group(2))
        else:
            report.warn("1-13", f"{name}: algorithm {match.group(2)!r} is not known; ignored")
    if not found:
        report.fail("1-13", "no payload manifest (manifest-<algorithm>.txt) with a known algorithm")
    return found


def parse_bag_info(text: str, report: Report, name: str = "bag-info.txt") -> dict[str, list[str]]:
    """Labels and values; continuation lines begin with white space; a label may repeat."""
    info: dict[str, list[str]] = {}
    last: tuple[str, int] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if line[0] in " \t" and last is not None:
            label, index = last
            info[label][index] += " " + line.strip()
            continue
        label, sep, value = line.partition(":")
        if not sep or not label.strip():
            report.fail("1-13", f"{name} line {number} is not 'Label: value'")
            continue
        values = info.setdefault(label.strip(), [])
        values.append(value.strip())
        last = (label.strip(), len(values) - 1)
    return info


def decode_tag(data: bytes, facts: BagFacts, name: str, report: Report) -> str | None:
    try:
        return data.decode(facts.encoding)
    except UnicodeDecodeError:
        report.fail("1-13", f"{name} is not valid {facts.encoding}")
        return None


def parse_manifest(
    text: str, name: str, facts: BagFacts, report: Report, payload: bool
) -> dict[str, str]:
    """NFC path -> digest, with the warnings and failures the lines deserve."""
    entries: dict[str, str] = {}
    raw_of: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        digest, _, rest = line.strip("\r").partition(" ")
        path = rest.lstrip(" ")
        if path.startswith("*"):
            report.warn("1-13", f"{name} line {number}: '*' (md5sum binary mode) before the path")
            path = path[1:]
        if path.startswith("./"):
            report.warn("1-13", f"{name} line {number}: path begins with './'")
            path = path[2:]
        if not digest or not path:
            report.fail("1-13", f"{name} line {number} is not 'digest path'")
            continue
        path = decode_path(path)
        if not _in_scope(path, payload):
            report.fail(
                "1-13",
                f"{name} line {number}: {path!r} is outside the bag's "
                + ("payload (data/)" if payload else "tag files"),
            )
            continue
        key = unicodedata.normalize("NFC", path)
        if key in entries:
            _duplicate(report, name, key, raw_of[key], path, entries[key], digest.lower(), facts)
            continue
        entries[key], raw_of[key] = digest.lower(), path
    return entries


def _in_scope(path: str, payload: bool) -> bool:
    segments = path.split("/")
    if path.startswith(("/", "~", "\\")) or re.match(r"^[A-Za-z]:", path) or "\\" in path:
        return False
    if any(s in ("", ".", "..") for s in segments) or re.search(r"[\x00-\x1f]", path):
        return False
    return segments[0] == "data" and len(segments) > 1 if payload else segments[0] != "data"


def _duplicate(
    report: Report,
    name: str,
    key: str,
    first: str,
    again: str,
    old: str,
    new: str,
    facts: BagFacts,
) -> None:
    if old != new:
        report.fail("1-13", f"{name}: {key!r} is listed twice with different digests")
    elif first != again:
        report.warn("1-13", f"{name}: {key!r} is listed twice, in two Unicode normalisations")
    elif facts.version == "1.0":
        report.fail("1-13", f"{name}: {key!r} is listed twice (BagIt 1.0 forbids it)")
    else:
        report.warn("1-13", f"{name}: {key!r} is listed twice with the same digest")


def is_system_file(path: str) -> bool:
    base = path.rsplit("/", 1)[-1]
    return base in SYSTEM_FILES or base.startswith("._")


def check_payload(
    manifests: dict[str, dict[str, str]], payload: dict[str, Payload], report: Report
) -> None:
    """Completeness (every file in every manifest, every entry present) and 2-7 digests."""
    present = {f"data/{p}": p for p in payload}
    folded = {k.casefold(): k for k in present}
    mismatches: list[str] = []
    for alg, entries in manifests.items():
        for path in sorted(set(present) - set(entries)):
            report.fail("1-13", f"{path} is not listed in manifest-{alg}.txt")
        for path, digest in sorted(entries.items()):
            actual = present.get(path)
            if actual is None:
                _absent(report, alg, path, folded)
                continue
            if payload[actual].digests.get(alg) != digest:
                mismatches.append(
                    f"{path}: {alg} {digest} declared, {payload[actual].digests.get(alg)} received"
                )
    for line in mismatches:
        report.fail("2-7", line)
    for path in sorted(present):
        if is_system_file(path):
            report.warn("1-13", f"{path} is an operating system file")
    if not mismatches and manifests:
        report.passed(
            "2-7",
            f"{len(payload)} files match the sender's " + ", ".join(sorted(manifests)) + " digests",
        )


def _absent(report: Report, alg: str, path: str, folded: dict[str, str]) -> None:
    other = folded.get(path.casefold())
    if other is not None:
        report.warn(
            "1-13",
            f"manifest-{alg}.txt lists {path}; only {other} (another letter case) is in the bag",
        )
    elif is_system_file(path):
        report.warn("1-13", f"manifest-{alg}.txt lists the system file {path}, which is absent")
    else:
        report.fail("1-13", f"manifest-{alg}.txt lists {path}, which is not in the bag")


def check_tag_manifests(tag_files: dict[str, bytes], facts: BagFacts, report: Report) -> None:
    """1-12: every tag manifest entry present and matching."""
    import hashlib

    checked = 0
    for name in sorted(tag_files):
        match = _MANIFEST.match(name)
        if not match or not match.group(1) or match.group(2) not in ALGORITHMS:
            continue
        text = decode_tag(tag_files[name], facts, name, report)
        if text is None:
            continue
        for path, digest in parse_manifest(text, name, facts, report, payload=False).items():
            data = tag_files.get(path)
            if data is None:
                report.fail("1-12", f"{name} lists {path}, which is not in the bag")
            elif hashlib.new(match.group(2), data).hexdigest() != digest:
                report.fail("1-12", f"{path}: {match.group(2)} does not match {name}")
            checked += 1
    if report.outcome_of("1-12") is None:
        if checked:
            report.passed("1-12", f"{checked} tag manifest entries verified")
        else:
            report.warn("1-12", "the bag has no tag manifest: its tag files cannot be verified")


def check_fetch(
    tag_files: dict[str, bytes], facts: BagFacts, payload: dict[str, Payload], report: Report
) -> None:
    data = tag_files.get("fetch.txt")
    if data is None:
        return
    text = decode_tag(data, facts, "fetch.txt", report) or ""
    bad = 0
    for number, line in enumerate(text.splitlines(), 1):
        parts = line.strip("\r").split(None, 2)
        bad += 1
        if len(parts) != 3:
            report.fail("1-13", f"fetch.txt line {number} is not 'url length path'")
            continue
        path = decode_path(parts[2])
        if not _in_scope(path, payload=True):
            report.fail("1-13", f"fetch.txt line {number}: {path!r} is outside data/")
        elif unicodedata.normalize("NFC", path.removeprefix("data/")) not in payload:
            report.fail(
                "1-13",
                f"fetch.txt names {path}, which is not in the bag; this archive never fetches",
            )
        else:
            bad -= 1
    if not bad:
        report.warn("1-13", "fetch.txt is present; every file it names is already in the bag")


def absent_system_files(manifests: dict[str, dict[str, str]], payload: dict[str, Payload]) -> int:
    listed = {p for entries in manifests.values() for p in entries}
    return sum(1 for p in listed if is_system_file(p) and p.removeprefix("data/") not in payload)


def check_oxum(
    info: dict[str, list[str]], payload: dict[str, Payload], report: Report, system: int = 0
) -> None:
    """2-1 and 2-2 against Payload-Oxum; operating system files listed but left out of the bag
    (``system``, already warned about) explain a shortfall with a warning."""
    count, total = len(payload), sum(p.size for p in payload.values())
    oxum = (info.get("Payload-Oxum") or [None])[0]
    if oxum is None:
        report.warn("2-1", f"no Payload-Oxum declared; {count} files received")
        report.warn("2-2", f"no Payload-Oxum declared; {total} bytes received")
        return
    octets, _, files = oxum.partition(".")
    if not (octets.isdigit() and files.isdigit()):
        report.fail("1-13", f"Payload-Oxum {oxum!r} is not 'octets.count'")
        return
    if system and int(files) == count + system:
        report.warn(
            "2-1",
            f"{files} files declared, {count} received: the {system} missing are "
            "operating system files",
        )
    else:
        _compare(report, "2-1", "files", int(files), count)
    _compare(report, "2-2", "bytes", int(octets), total)


def _compare(report: Report, code: str, what: str, declared: int, received: int) -> None:
    if declared == received:
        report.passed(code, f"{received} {what} declared and received")
    else:
        report.fail(code, f"{declared} {what} declared, {received} received")
