"""schemathesis over the public face's OpenAPI document: no input makes it answer 5xx."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from preserve.api.public.app import create_public_app
from support.ingest import ingest
from support.opening import People, open_records, text_pdf

EXAMPLES = 40


@pytest.mark.slow
def test_no_input_makes_the_public_face_fail(rt, client, make_token):
    import schemathesis

    people = People(make_token)
    files = {"doc.pdf": text_pdf("Harbour"), "notes.txt": "港口".encode()}
    aip = ingest(rt, client, make_token, files, title="港口", archival_code="A001-WS-1990-Y-0401")
    open_records(rt, client, people, aip)
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_public_app(rt))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    seen: dict[str, set[int]] = {}
    for operation in operations:
        _fuzz(operation, seen)
    assert len(seen) == len(operations), seen
    every = set().union(*seen.values())
    assert {200, 404, 422} <= every, seen


def _fuzz(operation, seen: dict[str, set[int]]) -> None:
    label = operation.label

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def call(case):
        response = case.call()
        seen.setdefault(label, set()).add(response.status_code)
        assert response.status_code < 500, (label, case.path_parameters, response.text)

    call()
