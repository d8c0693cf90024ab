"""Fixtures for the reference server tests: every test talks to a real uvicorn on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import httpx
import jsonschema
import pytest

from contract_tests.server.plaid_checks import error_table
from plaid_refresh.server import DEFAULT_CLIENT_ID, DEFAULT_SECRET, ServerConfig, create_app
from plaid_refresh.server.app import ReferenceServer
from plaid_refresh.server.testing import running_server
from plaid_refresh.spec import load_spec, resolve, standalone_schema

CREDENTIALS = {"PLAID-CLIENT-ID": DEFAULT_CLIENT_ID, "PLAID-SECRET": DEFAULT_SECRET}
JSON = {"Content-Type": "application/json"}
HEADERS = {**CREDENTIALS, **JSON, "Plaid-Version": "2020-09-14"}


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RecordingSleep:
    """An async sleep that records the delays it was asked for and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def schema_validator(schema_name: str) -> jsonschema.Draft202012Validator:
    schema = resolve(load_spec()["components"]["schemas"][schema_name])
    return jsonschema.Draft202012Validator(standalone_schema(schema))


PLAID_ERROR = schema_validator("PlaidError")
PLAID_ERROR_FIELDS = set(resolve(load_spec()["components"]["schemas"]["PlaidError"])["properties"])


# error_code -> error_type as the spec's named error examples give them (read from the spec by the contract
# suite's error table, not from the server's own catalogue, so a server that builds a wrong type is caught).
SPEC_ERROR_TYPES = dict(error_table().type_by_code)
# The spec documents no 405 (nor does Plaid): the server answers METHOD_NOT_ALLOWED in the shape of the 404
# NOT_FOUND example (plaid_refresh.server.errors), so its error_type is checked against that example's.
SPEC_ERROR_TYPES.setdefault("METHOD_NOT_ALLOWED", SPEC_ERROR_TYPES["NOT_FOUND"])


def assert_plaid_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is a complete, spec-valid Plaid error with this status and code, and the error_type the
    spec's named example for that code gives."""
    assert code in SPEC_ERROR_TYPES, f"the spec has no named error example for {code}"
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    PLAID_ERROR.validate(body)
    assert body["error_code"] == code
    assert body["error_type"] == SPEC_ERROR_TYPES[code], (
        f"{code}: error_type {body['error_type']!r}, the spec's example says {SPEC_ERROR_TYPES[code]!r}"
    )
    assert set(body) >= PLAID_ERROR_FIELDS
    assert isinstance(body["request_id"], str)
    assert len(body["request_id"]) >= 15
    return body


Serve = Callable[..., AbstractContextManager[tuple[str, ReferenceServer]]]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


class _Served:
    def __init__(self, app: ReferenceServer) -> None:
        self.app = app
        self._cm = running_server(app)

    def __enter__(self) -> tuple[str, ReferenceServer]:
        return self._cm.__enter__(), self.app

    def __exit__(self, *exc: object) -> None:
        self._cm.__exit__(None, None, None)


@pytest.fixture
def serve(clock: FakeClock, sleep: RecordingSleep) -> Serve:
    """serve(config=None, **create_app kwargs) -> context manager yielding (base_url, app)."""

    def _serve(config: ServerConfig | None = None, **kwargs: Any) -> _Served:
        kwargs.setdefault("clock", clock)
        kwargs.setdefault("sleep", sleep)
        return _Served(create_app(config, **kwargs))

    return _serve


@pytest.fixture(scope="session")
def shared_server() -> Iterator[tuple[str, ReferenceServer]]:
    """One server for the stateless tests (rate limits off so repeated tokens never hit them)."""
    with _Served(create_app(ServerConfig(rate_limit=False))) as served:
        yield served


@pytest.fixture
def client(shared_server: tuple[str, ReferenceServer]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=shared_server[0], timeout=10) as http:
        yield http
