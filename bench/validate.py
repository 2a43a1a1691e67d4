"""Check 3-4 (format validation): files per second per family, and the share of ingest time it
adds to one SIP of ``--files`` files, with and without validation in the same run.

    .venv/bin/python bench/validate.py [--per-family 200] [--files 10000] [--workers 2]
                                       [--rounds 2]

1. Per family: ``--per-family`` files made here (PDF 3 pages, PNG 640x480, TIFF 3 pages,
   JPEG 2000, OFD 2 pages, DOCX, GB18030 text) through ``validate_many`` with ``--workers``
   capped child processes; files/s.
2. Ingest: one SIP of ``--files`` files (40 % text, 30 % one-page PDF, 20 % PNG, 10 % OFD) pushed
   in-process (FastAPI TestClient, SQLite, two filesystem targets) and processed by the worker
   to PRESERVED: with check 3-4 switched off (the baseline) and as shipped, alternated for
   ``--rounds`` rounds in the same run. Prints each run, the best of each and the share
   validation adds.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "ingest")]

import validation_files as make  # noqa: E402

from preserve.ingest.validation import Item, Limits, validate_many  # noqa: E402

FAMILIES = {
    "pdf": ("fmt/18", lambda: make.pdf(3)),
    "png": ("fmt/11", lambda: make.image("PNG", (640, 480))),
    "tiff (3 pages)": ("fmt/353", lambda: make.image("TIFF", (640, 480), frames=3)),
    "jpeg 2000": ("x-fmt/392", lambda: make.image("JPEG2000", (640, 480))),
    "ofd": ("preserve-fmt/ofd", make.ofd),
    "docx": ("fmt/412", make.docx),
    "text (GB18030)": ("x-fmt/111", lambda: make.TEXT.encode("gb18030")),
}


def per_family(work: Path, count: int, workers: int) -> None:
    print(f"files/s per family ({count} files each, {workers} workers):")
    for family, (puid, build) in FAMILIES.items():
        data = build()
        items = []
        for n in range(count):
            path = work / f"{family[:4]}-{n}"
            path.write_bytes(data)
            items.append(Item(path, path.name, puid))
        start = time.perf_counter()
        found = validate_many(items, Limits(), workers=workers)
        seconds = time.perf_counter() - start
        bad = sum(v.outcome.value != "pass" for v in found)
        print(f"  {family:16} {count / seconds:8.1f} files/s  ({len(data)} B each, {bad} not pass)")


def sip_files(count: int) -> list[tuple[str, bytes]]:
    kinds = [("txt", make.TEXT.encode("gb18030"))] * 4 + [("pdf", make.pdf(1))] * 3
    kinds += [("png", make.image("PNG", (200, 150)))] * 2 + [("ofd", make.ofd())]
    return [(f"d{n // 1000}/f{n}.{kinds[n % 10][0]}", kinds[n % 10][1]) for n in range(count)]


def ingest_once(work: Path, files: list[tuple[str, bytes]], validate: bool, workers: int) -> float:
    from fastapi.testclient import TestClient

    from preserve.api.app import create_app
    from preserve.catalog.db import upgrade
    from preserve.catalog.models import Role
    from preserve.ingest import process
    from preserve.jobs.worker import drain
    from preserve.runtime import Runtime
    from preserve.settings import Settings
    from preserve.trust.tokens import create_token
    from support.profiles import write_profile
    from support.records import form, metadata

    write_profile(work / "profiles", work / "stores")
    settings = Settings(
        data_dir=work / "var",
        database_url=f"sqlite:///{work / 'catalogue.db'}",
        profiles_dir=work / "profiles",
        storage_profile="local",
        identify_workers=workers,
        _env_file=None,
    )
    settings.resolved_data_dir.mkdir(parents=True)
    upgrade(settings.sqlalchemy_url)
    rt = Runtime(settings)
    original = process.validate_staged
    if not validate:
        process.validate_staged = lambda *a, **k: []
    try:
        with rt.sessions.begin() as session:
            token = create_token(session, "agency-a", Role.SUBMITTER)[1]
        headers = {"Authorization": f"Bearer {token}"}
        body = form(files, metadata(), headers=headers)
        with TestClient(create_app(rt)) as client:
            start = time.perf_counter()
            response = client.post("/v1/sips", **body)
            drain(rt)
            seconds = time.perf_counter() - start
            sip = client.get(f"/v1/sips/{response.json()['id']}", headers=headers).json()
        assert sip["state"] == "PRESERVED", sip["state"]
        return seconds
    finally:
        process.validate_staged = original
        rt.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-family", type=int, default=200)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "fam").mkdir()
        per_family(work / "fam", args.per_family, args.workers)
        files = sip_files(args.files)
        runs: dict[bool, list[float]] = {False: [], True: []}
        for n in range(args.rounds):  # alternated, so warming up and load fall on both
            for validate in (False, True):
                seconds = ingest_once(work / f"{validate}-{n}", files, validate, args.workers)
                print(f"  round {n + 1}, check 3-4 {'on ' if validate else 'off'}: {seconds:.1f} s")
                runs[validate].append(seconds)
        without, with_ = min(runs[False]), min(runs[True])
    print(
        f"ingest of one SIP of {args.files} files to PRESERVED ({args.workers} workers, best of "
        f"{args.rounds}):"
    )
    print(f"  without check 3-4 (baseline): {without:7.1f} s  {args.files / without:6.1f} files/s")
    print(f"  with check 3-4:               {with_:7.1f} s  {args.files / with_:6.1f} files/s")
    print(
        f"  validation adds {with_ - without:.1f} s: {100 * (with_ - without) / with_:.0f} % "
        f"of ingest time (ratio {with_ / without:.2f}x)"
    )


if __name__ == "__main__":
    main()
