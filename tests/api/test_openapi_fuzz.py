"""Schemathesis against our own OpenAPI document: no generated request may cause a server error.

Driven through Hypothesis directly (schemathesis' pytest plugin does not support pytest 9 yet), one
operation at a time, on both database backends.
"""

from __future__ import annotations

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from xinyidai import demo


def test_no_generated_request_causes_a_server_error(app: FastAPI, world: list[demo.DemoLogin]) -> None:
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=[not_a_server_error])

        run()
