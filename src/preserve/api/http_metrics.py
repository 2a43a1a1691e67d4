"""Process and HTTP metrics of the API process, with ``prometheus-client``.

Requests are counted by method, route *template* (``/v1/aips/{aip_id}``, never the id) and
status, and timed in a histogram; a path no route matched is ``unmatched``, so a scanner's
random paths cannot grow the series. The process collector adds CPU, memory, open files and
start time. These figures are per process, unlike the catalogue-derived ones beside them.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)

disable_created_metrics()  # ``*_created`` series add nothing a scrape needs

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(namespace="preserve", registry=REGISTRY)
REQUESTS = Counter(
    "preserve_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
DURATION = Histogram(
    "preserve_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by method and route template.",
    ["method", "route"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)


def route_of(scope: dict[str, Any]) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


def observe(scope: dict[str, Any], status: int, seconds: float) -> None:
    method, route = scope.get("method", ""), route_of(scope)
    REQUESTS.labels(method, route, str(status)).inc()
    DURATION.labels(method, route).observe(seconds)


def render() -> str:
    return generate_latest(REGISTRY).decode("utf-8")
