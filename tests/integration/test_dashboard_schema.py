"""Schemathesis against the dashboard's own OpenAPI schema: no generated request gets a 5xx."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.integration.dashboard_support import open_app, shared_demo

schemathesis = pytest.importorskip("schemathesis")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with open_app(shared_demo()) as built:
        yield built


def test_no_generated_api_request_is_a_server_error(app: Any) -> None:
    from hypothesis import HealthCheck, Phase, given, settings

    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app, headers={"host": "127.0.0.1"})
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12, "every API document is in the schema"
    statuses: set[int] = set()
    for operation in operations:
        @settings(max_examples=8, deadline=None, derandomize=True, database=None, phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            response = case.call(headers={"host": "127.0.0.1"})
            statuses.add(response.status_code)
            assert response.status_code < 500, (case.method, case.formatted_path, case.query, response.text[:500])
            case.validate_response(response, checks=[schemathesis.checks.not_a_server_error])

        check()
    assert 200 in statuses and statuses & {400, 422}, statuses
