"""Helpers for replication tests: profiles over moto servers, SIPs through the real ingest.

Import as ``storage.replication_support`` (the tests directory is on the path).
"""

from __future__ import annotations

import itertools
import random
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from preserve.catalog.db import make_engine
from preserve.catalog.models import Job, Sip
from preserve.runtime import Runtime
from support.moto_server import MotoServer
from support.records import form, metadata


@dataclass
class Fs:
    name: str
    site: str
    media: str
    root: Path
    extra: str = ""

    def toml(self) -> str:
        return (
            f'[[targets]]\nname = "{self.name}"\nkind = "filesystem"\nsite = "{self.site}"\n'
            f'media = "{self.media}"\nroot = "{self.root}"\n' + self.extra
        )


@dataclass
class S3:
    name: str
    site: str
    media: str
    server: MotoServer
    bucket: str
    extra: str = ""
    versioning: bool = False
    object_lock: bool = False

    def toml(self) -> str:
        return (
            f'[[targets]]\nname = "{self.name}"\nkind = "s3"\nsite = "{self.site}"\n'
            f'media = "{self.media}"\nbucket = "{self.bucket}"\n'
            f'endpoint = "{self.server.endpoint}"\nregion = "us-east-1"\n'
            'access_key_env = "PRESERVE_TEST_S3_KEY"\nsecret_key_env = "PRESERVE_TEST_S3_SECRET"\n'
            "part_size_mb = 5\nrequest_attempts = 1\nconnect_timeout_seconds = 2\n" + self.extra
        )

    def make_bucket(self) -> Any:
        return self.server.make_bucket(
            self.bucket, versioning=self.versioning, object_lock=self.object_lock
        )

    def client(self) -> Any:
        return self.server.client()

    def object_keys(self) -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
        return sorted(o["Key"] for page in pages for o in page.get("Contents", ()))

    def versions(self) -> tuple[list[str], list[str]]:
        """(key of every version, key of every delete marker)."""
        pages = self.client().get_paginator("list_object_versions").paginate(Bucket=self.bucket)
        versions, markers = [], []
        for page in pages:
            versions += [v["Key"] for v in page.get("Versions", ())]
            markers += [m["Key"] for m in page.get("DeleteMarkers", ())]
        return sorted(versions), sorted(markers)


CREDENTIALS = {"PRESERVE_TEST_S3_KEY": "testing", "PRESERVE_TEST_S3_SECRET": "testing"}


def bucket_name(prefix: str = "aips") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def profile_text(name: str, targets: list[Fs | S3], copies: int, sites: int, media: int) -> str:
    head = (
        f'name = "{name}"\n[policy]\nmin_copies = {copies}\nmin_sites = {sites}\n'
        f"min_media = {media}\naudit_interval_days = 30\n\n"
    )
    return head + "\n".join(t.toml() for t in targets)


def write_profile(directory: Path, name: str, targets: list[Fs | S3], **policy: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.toml"
    path.write_text(
        profile_text(
            name,
            targets,
            policy.get("copies", 2),
            policy.get("sites", 1),
            policy.get("media", 1),
        ),
        encoding="utf-8",
    )
    return path


def record_metadata() -> dict[str, Any]:
    """A record's metadata with an archival code no other record holds."""
    return metadata(archival_code=f"A001-WS-2024-Y-{next(_codes):06d}")


_codes = itertools.count(random.randrange(10_000, 900_000))


def push(client: Any, token: str | None, files: dict[str, bytes], **headers: str) -> str:
    """POST a SIP over the API (a TestClient or an httpx.Client); returns its id."""
    if token is not None:
        headers = {"Authorization": f"Bearer {token}", **headers}
    response = client.post("/v1/sips", **form(files, record_metadata(), headers=headers))
    assert response.status_code == 202, response.text
    return response.json()["id"]


def sip_state(rt: Runtime, sip_id: str) -> tuple[str, str | None]:
    with rt.sessions() as session:
        sip = session.get(Sip, sip_id)
        return sip.state.value, sip.aip_id


def one_job(database_url: str, *where: Any) -> Job:
    """The one job matching ``where``, read afresh from the catalogue (a test whose archive
    runs in other processes)."""
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            job = session.scalars(select(Job).where(*where)).one()
            session.expunge(job)
            return job
    finally:
        engine.dispose()
