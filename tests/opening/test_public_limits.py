"""The public face's rate limit per client address."""

from __future__ import annotations

from fastapi.testclient import TestClient

from preserve.api.public.app import create_public_app
from preserve.api.public.ratelimit import TokenBuckets


def test_token_bucket_refills_at_its_rate():
    now = [0.0]
    buckets = TokenBuckets(rate=2, burst=3, clock=lambda: now[0])
    assert [buckets.take("a") for _ in range(3)] == [0, 0, 0]
    assert buckets.take("a") == 0.5
    assert buckets.take("b") == 0  # another address has its own bucket
    now[0] += 0.5
    assert buckets.take("a") == 0


def test_the_public_face_refuses_a_flood_with_429(rt):
    rt.settings.public_rate_burst = 3
    rt.settings.public_rate_per_second = 0.01
    with TestClient(create_public_app(rt)) as client:
        codes = [client.get("/v1/records").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        refused = client.get("/v1/keys")
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        assert refused.headers["cache-control"] == "no-store"
