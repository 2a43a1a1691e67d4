"""The four-property report (DA/T 70-2018 四性检测) of one transfer.

Each machine-checkable item of docs/standards.md §1 that applies to a transfer over HTTP is one
:class:`Check`: its DA/T 70 code, its name, an outcome (pass / warn / fail) and a detail a
person can act on. The report is stored with the SIP, returned by ``GET /v1/sips/{id}``,
written into the AIP as ``metadata/checks.json`` and summarised in the signed receipt.

Codes (真实性 1-x, 完整性 2-x, 可用性 3-x, 安全性 4-x; the 移交接收 stage, YJ-):

    1-2  元数据项数据长度            1-3  元数据项数据类型、格式
    1-4  值域符合度 (enumerations)   1-5  数据值合理性
    1-6  特殊字符                    1-7  档号规范性
    1-8  重复性 (档号 already held in the catalogue)
    1-12 信息包真实性 (a bag's tag manifests, or the body's Content-Digest)
    1-13 信息包说明/目录文件 (the bag: RFC 8493 and our BagIt profile)
    2-1  总件数相符性    2-2 总字节数相符性    2-3 元数据项完整性    2-4 必填著录项目
    2-7  内容数据完整性 (per-file digests)
    3-3  内容数据格式 (identified, allowed by the format policy)
    3-4  内容数据可读性 (each file opens: validated by format, see ``ingest.validation``)
    3-8  格式合规性 (no encryption)    4-2 病毒感染检测 (clamd)
    P-1  安全解包: preserve's own item (paths, links, devices, limits); not a DA/T 70 code

Checks are run in two stages: everything that needs only the upload, before the 202 answer
(a failure rejects the request with problem+json), and format, encryption and virus checks in
the worker (a failure moves the SIP to REJECTED).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from preserve.errors import ChecksFailed


class Result(enum.StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"


NAMES: dict[str, str] = {
    "1-2": "元数据项数据长度 (metadata lengths)",
    "1-3": "元数据项数据类型、格式 (metadata types and formats)",
    "1-4": "元数据项值域符合度 (enumerated values)",
    "1-5": "元数据项数据值合理性 (plausible values)",
    "1-6": "元数据项特殊字符 (control and special characters)",
    "1-7": "档号规范性 (archival code pattern)",
    "1-8": "元数据项重复性 (archival code not already held)",
    "1-12": "信息包真实性 (package digest unchanged in transfer)",
    "1-13": "信息包说明文件与目录文件 (BagIt RFC 8493 and the archive's BagIt profile)",
    "2-1": "总件数相符性 (declared and received file count)",
    "2-2": "总字节数相符性 (declared and received bytes)",
    "2-3": "元数据项完整性 (DA/T 46 items present)",
    "2-4": "必填著录项目 (mandatory items not empty)",
    "2-7": "内容数据完整性 (per-file digests)",
    "3-3": "内容数据格式 (format identified and allowed)",
    "3-4": "内容数据可读性 (each file opens: format validation)",
    "3-8": "内容数据格式合规性 (no encryption, no password protection)",
    "4-2": "病毒感染检测 (virus check)",
    "P-1": "安全解包 (safe paths and unpacking; preserve's own item)",
}

# The problem type a failure of each item is reported under when it fails alone.
SLUGS: dict[str, str] = {
    **dict.fromkeys(("1-2", "1-3", "1-4", "1-5", "1-6", "1-7", "2-3", "2-4"), "invalid-metadata"),
    "1-8": "duplicate-archival-code",
    "1-12": "digest-mismatch",
    "2-7": "digest-mismatch",
    "1-13": "invalid-bag",
    "2-1": "count-mismatch",
    "2-2": "count-mismatch",
    "3-3": "format-not-allowed",
    "3-4": "unreadable-content",
    "3-8": "encrypted-content",
    "4-2": "virus-found",
    "P-1": "unsafe-path",
}


@dataclass(frozen=True)
class Check:
    code: str
    name: str
    outcome: Result
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "outcome": self.outcome.value}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Check:
        return cls(doc["code"], doc["name"], Result(doc["outcome"]), doc["detail"])


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)

    def add(self, code: str, outcome: Result, detail: str) -> Check:
        check = Check(code, NAMES[code], outcome, clip(detail))
        self.checks.append(check)
        return check

    def passed(self, code: str, detail: str) -> Check:
        return self.add(code, Result.PASS, detail)

    def warn(self, code: str, detail: str) -> Check:
        return self.add(code, Result.WARN, detail)

    def fail(self, code: str, detail: str) -> Check:
        return self.add(code, Result.FAIL, detail)

    def extend(self, checks: Iterable[Check]) -> None:
        self.checks.extend(checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.outcome == Result.FAIL]

    @property
    def warnings(self) -> list[Check]:
        return [c for c in self.checks if c.outcome == Result.WARN]

    def outcome_of(self, code: str) -> Result | None:
        outcomes = {c.outcome for c in self.checks if c.code == code}
        for result in (Result.FAIL, Result.WARN, Result.PASS):
            if result in outcomes:
                return result
        return None

    def to_list(self) -> list[dict[str, Any]]:
        return [c.to_dict() for c in self.checks]

    @classmethod
    def from_list(cls, items: Iterable[dict[str, Any]]) -> Report:
        return cls([Check.from_dict(d) for d in items])

    def raise_if_failed(self) -> None:
        if self.failures:
            raise checks_failed(self)


MAX_DETAIL = 2000


def clip(text: str, limit: int = MAX_DETAIL) -> str:
    """A detail short enough to answer and store: a hostile value is never echoed whole."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


def reasons(checks: Iterable[Check]) -> list[str]:
    return [f"{c.code} {c.name}: {c.detail}" for c in checks]


def checks_failed(report: Report, sip_id: str | None = None) -> ChecksFailed:
    """The error for a report with failures: every failed check, and the problem type of the
    failed item when all failures share one (else ``checks-failed``)."""
    failed = report.failures
    slugs = {SLUGS.get(c.code, "checks-failed") for c in failed}
    slug = slugs.pop() if len(slugs) == 1 else "checks-failed"
    return ChecksFailed([c.to_dict() for c in failed], report.to_list(), slug, sip_id)


def fail_one(code: str, detail: str) -> ChecksFailed:
    """A check that ends the receiving at once (an unsafe path, a malformed bag)."""
    report = Report()
    report.fail(code, detail)
    return checks_failed(report)
