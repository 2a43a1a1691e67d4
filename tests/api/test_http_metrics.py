"""``/metrics`` carries the API's own figures beside the catalogue's: requests by method,
route template and status, their durations, and the process's CPU and memory."""

from __future__ import annotations

import re
import uuid


def _value(text: str, series: str) -> float:
    found = re.search(rf"^{re.escape(series)} (\S+)$", text, re.MULTILINE)
    assert found, f"{series} not in /metrics"
    return float(found.group(1))


def test_requests_are_counted_by_route_template_never_by_id(client, make_token):
    headers = {"Authorization": f"Bearer {make_token()}"}
    secret_id = str(uuid.uuid4())
    for _ in range(2):
        assert client.get(f"/v1/aips/{secret_id}", headers=headers).status_code == 404
    client.get("/no/such/path")

    text = client.get("/metrics").text

    labels = 'method="GET",route="/v1/aips/{aip_id}",status="404"'
    assert _value(text, f"preserve_http_requests_total{{{labels}}}") >= 2
    duration = 'method="GET",route="/v1/aips/{aip_id}"'
    assert _value(text, f"preserve_http_request_duration_seconds_count{{{duration}}}") >= 2
    assert 'route="unmatched"' in text and "/no/such/path" not in text
    assert secret_id not in text
    assert "# TYPE preserve_http_request_duration_seconds histogram" in text
    assert _value(text, "preserve_process_resident_memory_bytes") > 0
