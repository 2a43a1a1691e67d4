"""Reading from S3: a small object is one GET; a large one comes in ranged GETs several at a
time (proven by a gate that opens only once two are in flight together), handed on in order,
and written into a file at its offsets (moto's server over loopback)."""

from __future__ import annotations

import hashlib
import io
import os
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from preserve.storage.base import fetch_into
from preserve.storage.s3 import S3Store
from preserve.storage.s3_ranged import RangedReads
from support.moto_server import MotoServer

KiB = 1024
READS = RangedReads(threshold=256 * KiB, part_size=64 * KiB, inflight=4)
GATE_SECONDS = 60  # only a guard: the gate opens as soon as two ranged GETs are in flight


class Gets:
    """Every GET's Range header (None for a whole-object GET); the first two ranged GETs wait
    for each other, so they get through only when they run at once."""

    def __init__(self) -> None:
        self.ranges: list[str | None] = []
        self._gate = threading.Barrier(2)
        self._lock = threading.Lock()

    def __call__(self, request: Any, **_kwargs: Any) -> None:
        wanted = request.headers.get("Range")
        with self._lock:
            self.ranges.append(wanted.decode() if isinstance(wanted, bytes) else wanted)
            ranged = sum(r is not None for r in self.ranges)
        if wanted is not None and ranged <= 2:
            self._gate.wait(GATE_SECONDS)


@pytest.fixture
def store_and_gets(moto: MotoServer) -> tuple[S3Store, Gets]:
    bucket = f"ranged-{uuid.uuid4().hex[:12]}"
    client = moto.make_bucket(bucket)
    gets = Gets()
    client.meta.events.register("before-send.s3.GetObject", gets)
    return S3Store("s3", bucket, client=client, ranged=READS, max_concurrency=4), gets


def put(store: S3Store, key: str, size: int) -> bytes:
    data = os.urandom(size)
    store.put(key, io.BytesIO(data))
    return data


def test_an_object_under_the_threshold_is_one_whole_get(store_and_gets):
    store, gets = store_and_gets
    for size in (100, READS.part_size, READS.threshold - 1):
        data = put(store, f"object-{size}", size)
        with store.open(f"object-{size}") as stream:
            assert stream.read() == data
    assert gets.ranges == [None] * 3


def test_a_large_object_comes_in_parallel_ranged_parts_in_order(store_and_gets):
    store, gets = store_and_gets
    size = 5 * READS.threshold + 12_345
    data = put(store, "large", size)
    with store.open("large") as stream:
        assert hashlib.sha256(stream.read()).hexdigest() == hashlib.sha256(data).hexdigest()
    part = READS.part_size
    assert gets.ranges[0] is None, "the first GET tells the size and gives the first part"
    assert sorted(gets.ranges[1:], key=lambda r: int(r.split("=")[1].split("-")[0])) == [
        f"bytes={start}-{min(start + part, size) - 1}" for start in range(part, size, part)
    ]


def test_fetch_writes_each_part_into_place_and_hands_bytes_on_in_order(store_and_gets, tmp_path):
    store, _ = store_and_gets
    data = put(store, "large", 3 * READS.threshold + 7)
    consumed = hashlib.sha256()
    size = fetched(store, "large", tmp_path / "out", consumed.update)
    assert size == len(data)
    assert (tmp_path / "out").read_bytes() == data
    assert consumed.hexdigest() == hashlib.sha256(data).hexdigest(), "every byte, in order"


def test_fetch_under_the_threshold_is_one_get(store_and_gets, tmp_path):
    store, gets = store_and_gets
    sizes = {"small": 1000, "empty": 0, "several-parts": READS.threshold - 1}
    for name, size in sizes.items():
        data = put(store, name, size)
        seen: list[bytes] = []
        assert fetched(store, name, tmp_path / name, seen.append) == size
        assert (tmp_path / name).read_bytes() == data == b"".join(seen)
    assert gets.ranges == [None] * len(sizes)


def fetched(store: S3Store, key: str, path: Path, consume: Callable[[bytes], None]) -> int:
    with open(path, "xb") as out:
        return fetch_into(store, key, out.fileno(), consume)
