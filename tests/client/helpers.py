"""Test doubles for the client: scripted transports and a clock that only moves when told."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import httpx

from plaid_refresh import AsyncPlaidRefreshClient, PlaidRefreshClient
from plaid_refresh.spec import load_spec, resolve

CLIENT_ID = "5f0bd2b1c0c0b2001234abcd"
SECRET = "0f5bd2b1c0c0b2001234abcdef0123"
TOKEN = "access-sandbox-de3ce8ef-33f8-452c-a685-8671031fc0f6"

Step = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class FakeClock:
    """time.monotonic/time.sleep doubles: sleeping advances the clock instantly."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)


class Script:
    """A MockTransport handler answering with the given steps in order (the last one repeats)."""

    def __init__(self, steps: Iterable[Step]) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        step = self.steps[min(len(self.requests), len(self.steps)) - 1]
        if isinstance(step, Exception):
            raise step
        if isinstance(step, httpx.Response):
            return httpx.Response(step.status_code, headers=step.headers, content=step.content)
        return step(request)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


def error_example(code: str) -> dict[str, Any]:
    """The spec's named example for an error code, and the status it is documented under."""
    for status, body in error_examples():
        if body["error_code"] == code:
            return {"status": status, "body": body}
    raise KeyError(code)


def error_examples() -> list[tuple[int, dict[str, Any]]]:
    found: list[tuple[int, dict[str, Any]]] = []
    for status, response in load_spec()["paths"]["/transactions/refresh"]["post"]["responses"].items():
        if status == "200" or not status.isdigit():  # "default": no status of its own
            continue
        for example in resolve(response)["content"]["application/json"]["examples"].values():
            found.append((int(status), example["value"]))
    return found


def plaid_response(code: str) -> httpx.Response:
    example = error_example(code)
    return httpx.Response(example["status"], json=example["body"])


def ok(request_id: str = "1vwmF5TBQwiqfwP") -> httpx.Response:
    return httpx.Response(200, json={"request_id": request_id})


def sync_client(script: Script, clock: FakeClock | None = None, **options: Any) -> PlaidRefreshClient:
    clock = clock or FakeClock()
    return PlaidRefreshClient.sandbox(
        client_id=CLIENT_ID,
        secret=SECRET,
        transport=script.transport(),
        sleep=clock.sleep,
        clock=clock,
        **options,
    )


def async_client(script: Script, clock: FakeClock | None = None, **options: Any) -> AsyncPlaidRefreshClient:
    clock = clock or FakeClock()
    return AsyncPlaidRefreshClient.sandbox(
        client_id=CLIENT_ID,
        secret=SECRET,
        transport=script.transport(),
        sleep=clock.async_sleep,
        clock=clock,
        **options,
    )
