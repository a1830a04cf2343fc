"""Schemathesis over the whole OpenAPI surface: every operation, with data that fits its
schema and data that does not, as an operator and as a ministry, against the real app
(uvicorn, real influxd, a SQLite registry). No answer may be a server error: bad input is
a 4xx naming what is wrong, never a 500.

Each operation runs as its own Hypothesis test inside this one pytest test (schemathesis'
pytest plugin does not run under pytest 9), so the stack is built once, every failing
operation is reported with its minimal example, and the examples per operation bound
the time the test takes.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from iotgw.api import create_app
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.schemas import APIOperation

from tests.api.conftest import DAY, PROVINCE, Stack
from tests.api.server import serving

pytestmark = pytest.mark.integration

# Per operation, each sent with both tokens: ~15 operations stay well under two minutes.
EXAMPLES = 60
ROLES = ("operator", "ministry")
# A limit the fuzzer does not reach: the rate limiter is in the path, not in the way.
UNLIMITED = {"rate_limit": "1000000/minute", "open_data_rate_limit": "1000000/minute"}


def _strategies(operation: APIOperation, anchors: dict[str, object]) -> st.SearchStrategy[schemathesis.Case]:
    """Data that fits and data that does not, and data that fits with the stack's own
    province, indicator and device: random ones are nearly all 404, which never reaches
    the code behind the lookup."""
    strategies = [operation.as_strategy(mode) for mode in GenerationMode]
    path = {p.name: anchors[p.name] for p in operation.path_parameters if p.name in anchors}
    query = {p.name: anchors[p.name] for p in operation.query if p.name in anchors}
    if path or query:
        strategies.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=path or None,
                                                query=query or None))
    return st.one_of(strategies)


def _fuzz(operation: APIOperation, tokens: dict[str, str], anchors: dict[str, object]) -> None:
    """Raises: the first server error Hypothesis finds (shrunk to a minimal example)."""
    cases = _strategies(operation, anchors)

    @given(case=cases)
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate, Phase.shrink],
              suppress_health_check=list(HealthCheck))
    def no_server_error(case: schemathesis.Case) -> None:
        for who in ROLES:
            case.call_and_validate(headers={"Authorization": f"Bearer {tokens[who]}"},
                                   checks=[not_a_server_error], timeout=60)

    no_server_error()


def test_no_server_error_anywhere(stack: Stack) -> None:
    failures: dict[str, str] = {}
    with serving(create_app(stack.cfg.model_copy(update=UNLIMITED))) as url:
        schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        anchors = {"province": PROVINCE, "device_id": "aq-1", "year": DAY.year,
                   "indicator_id": stack.get("/v1/indicators").json()[0]["id"]}
        for operation in operations:
            try:
                _fuzz(operation, stack.tokens, anchors)
            except (Exception, BaseExceptionGroup) as exc:  # every failing operation, not the first only
                failures[operation.label] = f"{type(exc).__name__}: {exc}"[:2000]
    assert len(operations) >= 10, [o.label for o in operations]
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
