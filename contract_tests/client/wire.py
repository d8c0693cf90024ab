"""What any client shows: the requests on the wire, the number of sends, the waits it asked for, the
exception it raised (through the adapter), and its log lines. One call through a scripted transport."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import attrs
import httpx

from contract_tests.client.subject import ErrorInfo, Subject

CLIENT_ID = "5f0bd2b1c0c0b2001234abcd"
SECRET = "0f5bd2b1c0c0b2001234abcdef0123"
TOKEN = "access-sandbox-de3ce8ef-33f8-452c-a685-8671031fc0f6"

Answer = httpx.Response | Exception
"""What the transport does for one attempt: answer, or raise (a connection fault)."""


class Script:
    """A MockTransport handler: answers in turn (the last one repeats), every request recorded."""

    def __init__(self, answers: Sequence[Answer]) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
        if isinstance(answer, Exception):
            raise (
                type(answer)(str(answer), request=request)
                if isinstance(answer, httpx.RequestError)
                else answer
            )
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)


@attrs.define
class Call:
    result: Any
    error: BaseException | None
    requests: list[httpx.Request]
    sleeps: list[float]
    logs: list[str]
    info: ErrorInfo | None

    @property
    def sends(self) -> int:
        return len(self.requests)

    def request_id(self) -> Any:
        if isinstance(self.result, dict):
            return self.result.get("request_id")
        return getattr(self.result, "request_id", None)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + "".join(traceback.format_exception(*record.exc_info))
        self.lines.append(f"{record.name} {record.levelname} {text}")


@contextmanager
def debug_logs() -> Iterator[list[str]]:
    """Every log record of every logger at DEBUG, for the duration."""
    root = logging.getLogger()
    handler = _Collect()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def call(
    subject: Subject,
    mode: str,
    answers: Sequence[Answer],
    *,
    retries: int = 0,
    token: str = TOKEN,
    environment: str = "sandbox",
) -> Call:
    """One refresh through a fresh client from the subject's sync or async factory."""
    script = Script(answers)
    sleeps: list[float] = []
    result: Any = None
    error: BaseException | None = None
    with debug_logs() as logs:
        if mode == "sync":

            def sleep(seconds: float) -> None:
                sleeps.append(seconds)

            client = subject.factory(
                transport=httpx.MockTransport(script),
                retries=retries,
                sleep=sleep,
                client_id=CLIENT_ID,
                secret=SECRET,
                environment=environment,
            )
            try:
                result = client.refresh(token)
            except Exception as exc:
                error = exc
            finally:
                close = getattr(client, "close", None)
                if callable(close):
                    close()
        else:
            assert subject.async_factory is not None

            async def async_sleep(seconds: float) -> None:
                sleeps.append(seconds)

            async def run() -> Any:
                client = subject.async_factory(  # type: ignore[misc]
                    transport=httpx.MockTransport(script),
                    retries=retries,
                    sleep=async_sleep,
                    client_id=CLIENT_ID,
                    secret=SECRET,
                    environment=environment,
                )
                try:
                    return await client.refresh(token)
                finally:
                    close = getattr(client, "aclose", None)
                    if callable(close):
                        closing = close()
                        if inspect.isawaitable(closing):
                            await closing

            try:
                result = asyncio.run(run())
            except Exception as exc:
                error = exc
    info = subject.adapter(error) if error is not None else None
    return Call(result, error, script.requests, sleeps, logs, info)


def error_text(error: BaseException) -> str:
    """Everything an exception shows: str, repr, args, notes, the formatted traceback, and the same for
    its whole __cause__ / __context__ chain."""
    parts: list[str] = []
    seen: set[int] = set()
    stack: list[BaseException] = [error]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        parts += [str(current), repr(current), repr(current.args), repr(getattr(current, "__notes__", ""))]
        parts += [repr(value) for value in vars(current).values()] if hasattr(current, "__dict__") else []
        parts.append("".join(traceback.format_exception(current)))
        stack += [e for e in (current.__cause__, current.__context__) if e is not None]
    return "\n".join(parts)


def json_answer(status: int, body: Any, **headers: str) -> httpx.Response:
    return httpx.Response(
        status, content=json.dumps(body).encode(), headers={"content-type": "application/json", **headers}
    )
