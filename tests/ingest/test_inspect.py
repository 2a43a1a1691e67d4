"""The look at every payload file (format and encryption), in process and through the real
process pool production runs (``identify_workers`` defaults to 2): the same answers, in order."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from inspect_samples import SAMPLES

from preserve.ingest import pool
from preserve.ingest.inspect import inspect_many
from preserve.ingest.pool import fan_out, shutdown_kept_pools


def _items(tmp_path: Path, copies: int = 2) -> list[tuple[Path, str]]:
    for name, data in SAMPLES.items():
        (tmp_path / name).write_bytes(data)
    return [(tmp_path / name, f"sip/{n}/{name}") for n in range(copies) for name in SAMPLES]


@pytest.mark.parametrize("engines", ["fido", "siegfried+fido"])
def test_pool_and_in_process_give_the_same_answers_in_order(tmp_path, engines):
    items = _items(tmp_path)
    assert len(items) > 8  # fewer are inspected in process whatever the setting
    in_process = inspect_many(items, workers=1, engines=engines)
    pooled = inspect_many(items, workers=2, engines=engines)
    assert pooled == in_process
    assert [i.identification.path for i in pooled] == [shown for _, shown in items]
    by_name = {Path(i.identification.path).name: i for i in pooled}
    assert by_name["notice.pdf"].identification.puid.startswith("fmt/")
    assert by_name["notice.pdf"].encryption is None
    assert by_name["locked.pdf"].encryption is not None
    assert by_name["locked.zip"].encryption is not None
    mystery = by_name["mystery.qqq"].identification
    if engines == "fido":
        assert mystery.puid is None
    else:  # siegfried calls 64 BEL bytes ASCII text ("match on text only"); fido knows nothing
        assert (mystery.puid, mystery.method, mystery.engines) == (
            "x-fmt/111",
            "text",
            ("siegfried", "fido"),
        )


def _pid(_item: int) -> int:
    return os.getpid()


def test_workers_above_one_run_in_other_processes():
    assert os.getpid() not in set(fan_out(_pid, range(40), 2, serial_up_to=8))
    assert fan_out(_pid, range(8), 2, serial_up_to=8) == [os.getpid()] * 8
    assert fan_out(_pid, range(40), 1) == [os.getpid()] * 40


def test_a_kept_pool_serves_the_next_call_and_a_dead_worker_is_replaced():
    try:
        first = set(fan_out(_pid, range(40), 2, keep="test-pool"))
        assert os.getpid() not in first
        assert set(fan_out(_pid, range(40), 2, keep="test-pool")) <= first  # no new processes

        processes = set(pool._kept[("test-pool", 2)]._processes)  # however many it started
        assert first <= processes
        for pid in processes:  # they die (killed, out of memory) while the pool waits
            os.kill(pid, signal.SIGKILL)
        again = set(fan_out(_pid, range(40), 2, keep="test-pool"))  # the broken pool replaced
        assert again and not again & processes
    finally:
        shutdown_kept_pools()


def test_at_most_two_pools_are_kept_the_least_recently_used_stopped():
    try:
        for key in ("a", "b", "a", "c"):
            fan_out(_pid, range(20), 2, keep=key)
        assert [key for key, _ in pool._kept] == ["a", "c"]
    finally:
        shutdown_kept_pools()
