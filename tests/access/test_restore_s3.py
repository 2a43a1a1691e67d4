"""Restore from S3: a large file comes in ranged GETs, written into place and hashed in order;
a wrong byte anywhere fails the restore and leaves nothing behind (moto's server over
loopback; the AIP preserved on disk, then put in a bucket as a replica would be)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from preserve.access.restore import restore_aip
from preserve.aip.layout import aip_key, aip_prefix
from preserve.catalog.repository import get_aip
from preserve.errors import IntegrityError
from preserve.storage.s3 import S3Store
from preserve.storage.s3_ranged import RangedReads
from support.ingest import ingest

KiB = 1024
READS = RangedReads(threshold=128 * KiB, part_size=32 * KiB, inflight=4)
BIG = os.urandom(5 * READS.threshold + 321)
FILES = {"large/volume.bin": BIG, "notes/readme.txt": b"a small record\n"}


@pytest.fixture
def on_s3(rt, client, make_token, moto) -> tuple[str, S3Store]:
    """An AIP and the S3 store holding a copy of its bag, key for key."""
    aip_id = ingest(rt, client, make_token, FILES)
    bucket = f"restore-{uuid.uuid4().hex[:12]}"
    store = S3Store("s3", bucket, client=moto.make_bucket(bucket), ranged=READS)
    root = Path(rt.profile().target("site-a-disk").root) / aip_prefix(aip_id)
    for path in root.rglob("*"):
        if path.is_file():
            with path.open("rb") as f:
                store.put(aip_key(aip_id, path.relative_to(root).as_posix()), f)
    return aip_id, store


def restore(rt, aip_id: str, store: S3Store, destination: Path):
    with rt.sessions() as session:
        aip = get_aip(session, aip_id)
        catalogue = {f.path: f.sha256 for f in aip.files}
    return restore_aip(store, aip_id, destination, rt.trusted_keys(), catalogue=catalogue)


def ranged_gets(store: S3Store) -> list[str]:
    ranges: list[str] = []

    def note(request, **_kwargs) -> None:
        if request.headers.get("Range"):
            ranges.append(request.headers["Range"])

    store._client.meta.events.register("before-send.s3.GetObject", note)
    return ranges


def test_a_large_file_restores_from_ranged_parts(rt, on_s3, tmp_path):
    aip_id, store = on_s3
    ranges = ranged_gets(store)
    destination = tmp_path / "restored"

    result = restore(rt, aip_id, store, destination)

    assert result.files == 2 and result.bytes == sum(map(len, FILES.values()))
    for path, data in FILES.items():
        assert (destination / path).read_bytes() == data
    assert len(ranges) == len(range(READS.part_size, len(BIG), READS.part_size))


def test_a_wrong_byte_in_a_late_part_fails_and_leaves_nothing(rt, on_s3, tmp_path):
    aip_id, store = on_s3
    bad = bytearray(BIG)
    bad[-100] ^= 0x01  # in the last part: every earlier part was written and hashed
    store._client.put_object(
        Bucket=store.bucket, Key=aip_key(aip_id, "data/large/volume.bin"), Body=bytes(bad)
    )
    destination = tmp_path / "out" / "restored"

    with pytest.raises(IntegrityError, match=r"large/volume\.bin"):
        restore(rt, aip_id, store, destination)

    assert list(destination.parent.iterdir()) == [], "no output and no .partial sibling"
