"""/openapi.json describes the API as it answers (schemathesis), and /docs needs nothing from outside."""

from __future__ import annotations

import re

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.web_server import WebServer
from tests.web.background.conftest import bearer

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_every_operation_answers_within_its_schema_and_never_5xx(api_server: WebServer) -> None:
    schema = schemathesis.openapi.from_url(api_server.url + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 15
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=20,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def answers_within_schema(case) -> None:  # type: ignore[no-untyped-def]
            case.call_and_validate(base_url=api_server.url, headers=bearer(admin=True), checks=CHECKS)

        answers_within_schema()


def test_the_document_is_openapi_3_1_and_names_every_route(api_server: WebServer) -> None:
    document = httpx.get(api_server.url + "/openapi.json").json()
    assert document["openapi"] == "3.1.0"
    assert "/api/background/tasks/{task_id}/stream" in document["paths"]
    assert (
        document["components"]["schemas"]["DocumentProcessing"]["properties"]["chunk_size"]["minimum"] == 50
    )


def test_the_docs_page_loads_nothing_from_another_host(api_server: WebServer) -> None:
    page = httpx.get(api_server.url + "/docs")
    assert page.status_code == 200 and "/openapi.json" in page.text
    assert re.findall(r"(?:src|href)=\"(?:https?:)?//", page.text) == []
    assert "https://" not in page.text and "http://" not in page.text
