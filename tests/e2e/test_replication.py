"""异地异质 end to end, against a real ``preserve serve`` and its worker process: three moto
servers on their own loopback ports stand for three sites, beside a filesystem target.

- 3 copies / 2 sites / 2 media → PRESERVED, with a proven copy on every target;
- a site's server stopped before, or in the middle of, replication → STORED, not PRESERVED,
  and new SIPs are still accepted; the server comes back empty, its bucket is made again, and
  replication finishes with every object written once → PRESERVED.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from storage.replication_support import CREDENTIALS, S3, Fs, bucket_name, write_profile
from storage.replication_support import push as push_sip
from support.http import wait_for
from support.moto_server import MotoServer
from support.records import MINIMAL_PDF
from support.server import Server, cli_env, run_cli

pytestmark = pytest.mark.slow

BIG = os.urandom(6 * 1024 * 1024 + 5)


@pytest.fixture(scope="module")
def sites() -> Iterator[list[MotoServer]]:
    servers = [MotoServer(), MotoServer(), MotoServer()]
    for s in servers:
        s.start()
    assert len({s.port for s in servers}) == 3
    yield servers
    for s in servers:
        s.stop()


def env_for(tmp_path: Path, database_url: str, profile: Path) -> dict[str, str]:
    env = cli_env(tmp_path / "var", database_url, profile.parent)
    env.update(CREDENTIALS)
    env.update(
        PRESERVE_STORAGE_PROFILE=str(profile),  # a path works as well as a name
        PRESERVE_STORAGE_RETRY_MAX_SECONDS="2",
        PRESERVE_WORKER_POLL_SECONDS="0.1",
    )
    return env


def token_for(env: dict[str, str]) -> str:
    made = run_cli(env, "tokens", "create", "--agency", "records-office", "--role", "submitter")
    assert made.returncode == 0, made.stderr
    return made.stdout.strip().splitlines()[-1]


def push(client: httpx.Client, files: dict[str, bytes]) -> str:
    return push_sip(client, None, files)


def sip(client: httpx.Client, sip_id: str) -> dict:
    return client.get(f"/v1/sips/{sip_id}").json()


def replicas(client: httpx.Client, aip_id: str) -> dict[str, str]:
    return {r["target"]: r["state"] for r in client.get(f"/v1/aips/{aip_id}").json()["replicas"]}


def status_json(env: dict[str, str]) -> dict[str, dict]:
    result = run_cli(env, "storage", "status", "--format", "json")
    assert result.returncode == 0, result.stderr
    return {t["target"]: t for t in json.loads(result.stdout)["targets"]}


def once_each(target: S3) -> int:
    """Every object in the bucket was written exactly once; returns how many there are."""
    versions, markers = target.versions()
    assert markers == []
    assert versions == target.object_keys(), "no key has a second version"
    return len(versions)


def test_three_sites_and_a_disk_reach_preserved(tmp_path, database_url, sites):
    s3_a = S3("s3-a", "taiyuan", "object-storage", sites[0], bucket_name())
    s3_b = S3(
        "s3-b",
        "datong",
        "object-storage",
        sites[1],
        bucket_name(),
        object_lock=True,
        extra='object_lock = { mode = "GOVERNANCE", days = 30 }\n',
    )
    s3_c = S3(
        "s3-c", "lanzhou", "tape", sites[2], bucket_name(), extra='storage_class = "GLACIER"\n'
    )
    disk = Fs("local-disk", "taiyuan", "disk", tmp_path / "stores" / "local-disk")
    for target in (s3_a, s3_b, s3_c):
        target.make_bucket()
    profile = write_profile(
        tmp_path / "profiles", "three-sites", [disk, s3_a, s3_b, s3_c], copies=3, sites=2, media=2
    )
    env = env_for(tmp_path, database_url, profile)
    files = {"公文/通知.pdf": MINIMAL_PDF, "big.bin": BIG}

    server = Server(env, tmp_path)
    try:
        headers = {"Authorization": f"Bearer {token_for(env)}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
            sip_id = push(client, files)
            preserved = wait_for(
                lambda: sip(client, sip_id)["state"] == "PRESERVED" and sip(client, sip_id),
                what="PRESERVED",
            )
            aip_id = preserved["aip_id"]
            every = {"local-disk", "s3-a", "s3-b", "s3-c"}
            wait_for(
                lambda: (
                    set(replicas(client, aip_id).values()) == {"verified"}
                    and set(replicas(client, aip_id)) == every
                ),
                what="a copy on every target",
            )
    finally:
        server.stop()

    for path, data in files.items():
        key = f"data/{path}"
        want = hashlib.sha256(data).hexdigest()
        local = next((tmp_path / "stores" / "local-disk").glob(f"aips/*/*/{aip_id}/{key}"))
        assert hashlib.sha256(local.read_bytes()).hexdigest() == want
        for target in (s3_a, s3_b, s3_c):
            full = next(k for k in target.object_keys() if k.endswith(f"{aip_id}/{key}"))
            if target is s3_c:  # GLACIER: unreadable until restored
                target.client().restore_object(
                    Bucket=target.bucket, Key=full, RestoreRequest={"Days": 1}
                )
            body = target.client().get_object(Bucket=target.bucket, Key=full)["Body"].read()
            assert hashlib.sha256(body).hexdigest() == want, f"{target.name}: {key}"
    assert once_each(s3_b) == once_each(s3_a) == len(s3_c.object_keys())

    status = status_json(env)
    assert {n: (t["verified"], t["backlog"]) for n, t in status.items()} == {
        n: (1, 0) for n in ("local-disk", "s3-a", "s3-b", "s3-c")
    }
    check = run_cli(env, "storage", "check", "--format", "json")
    assert check.returncode == 0, check.stdout + check.stderr
    assert json.loads(check.stdout)["policy_met_by_healthy_targets"] is True


def _fault_profile(tmp_path: Path, sites: list[MotoServer], extra_b: str = "") -> tuple:
    disk = Fs("local-disk", "site-a", "disk", tmp_path / "stores" / "local-disk")
    s3_b = S3(
        "s3-b", "site-b", "object-storage", sites[1], bucket_name(), versioning=True, extra=extra_b
    )
    s3_c = S3("s3-c", "site-c", "object-storage", sites[2], bucket_name())
    s3_b.make_bucket()
    s3_c.make_bucket()
    profile = write_profile(
        tmp_path / "profiles",
        "every-target-needed",
        [disk, s3_b, s3_c],
        copies=3,
        sites=2,
        media=2,
    )
    return profile, s3_b


def test_a_site_down_before_replication_delays_only_its_copies(tmp_path, database_url, sites):
    profile, s3_b = _fault_profile(tmp_path, sites)
    env = env_for(tmp_path, database_url, profile)
    server = Server(env, tmp_path)
    s3_b.server.stop()
    try:
        headers = {"Authorization": f"Bearer {token_for(env)}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
            first = push(client, {"a.txt": b"first\n", "b/c.txt": b"more\n"})
            wait_for(lambda: sip(client, first)["state"] == "STORED", what="first STORED")
            second = push(client, {"b.txt": b"second\n"})  # still accepted
            stored = wait_for(
                lambda: sip(client, second)["state"] == "STORED" and sip(client, second),
                what="second STORED",
            )
            wait_for(
                lambda: replicas(client, stored["aip_id"]).get("s3-c") == "verified",
                what="the other site's copy",
            )
            time.sleep(3)  # a few probes of the dead site: still not preserved
            assert sip(client, first)["state"] == sip(client, second)["state"] == "STORED"
            down = status_json(env)["s3-b"]
            assert down["down_since"] and down["backlog"] == 2 and down["verified"] == 0
            assert status_json(env)["s3-c"]["verified"] == 2

            s3_b.server.start()  # moto comes back empty: make the bucket again
            s3_b.make_bucket()
            for sip_id in (first, second):
                wait_for(
                    lambda s=sip_id: sip(client, s)["state"] == "PRESERVED",
                    what="PRESERVED after the site returned",
                )
    finally:
        s3_b.server.start()
        server.stop()
    assert once_each(s3_b) == len(s3_b.object_keys()) > 0
    assert status_json(env)["s3-b"]["down_since"] is None


def test_a_site_stopping_mid_copy_is_finished_when_it_returns(tmp_path, database_url, sites):
    if "postgresql" in database_url:
        pytest.skip("the outage path is the same on both catalogues; SQLite covers it")
    profile, s3_b = _fault_profile(tmp_path, sites, extra_b="max_write_mbps = 2\n")
    env = env_for(tmp_path, database_url, profile)
    server = Server(env, tmp_path)
    try:
        headers = {"Authorization": f"Bearer {token_for(env)}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
            sip_id = push(client, {"big.bin": BIG, "a.txt": b"small\n"})
            client_b = s3_b.client()
            wait_for(
                lambda: client_b.list_multipart_uploads(Bucket=s3_b.bucket).get("Uploads"),
                what="the copy to s3-b under way",
            )
            s3_b.server.stop()
            wait_for(lambda: sip(client, sip_id)["state"] == "STORED", what="STORED")
            aip_id = sip(client, sip_id)["aip_id"]
            time.sleep(2)
            assert sip(client, sip_id)["state"] == "STORED"
            assert replicas(client, aip_id)["s3-b"] != "verified"

            s3_b.server.start()
            s3_b.make_bucket()
            wait_for(lambda: sip(client, sip_id)["state"] == "PRESERVED", what="PRESERVED")
    finally:
        s3_b.server.start()
        server.stop()
    assert once_each(s3_b) > 0
