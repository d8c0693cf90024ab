"""Broken clients, for measuring the client contract suite (`make client-mutation`).

`MiniClient` is a small client of the kind a team writes around httpx from Plaid's docs (no code from
this project), correct with no flaws; its sync and async forms share everything but the I/O. Each
mutant is the same client with one realistic mistake switched on. The scorer (contract_tests/mutation.py)
runs the suite against each as a user does: `CLIENT_FACTORY=contract_tests.client.mutants:<name>`,
`CLIENT_ASYNC_FACTORY=...:<name>_async`, `CLIENT_ERROR_ADAPTER=...:adapter`.

The mistakes were written from Plaid's contract and common bugs, not from the suite's tests. Mutants no
observation through the transport can tell from a correct client are in EQUIVALENT, with the reason.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import httpx

from contract_tests.client.subject import ErrorInfo

logger = logging.getLogger("mini_client")

RETRY_CODES = {
    "INTERNAL_SERVER_ERROR",
    "PLANNED_MAINTENANCE",
    "TRANSACTIONS_REFRESH_LIMIT",
    "INSTITUTION_RATE_LIMIT",
}


@attrs.frozen
class Mutant:
    name: str
    family: str
    mistake: str


MUTANTS: tuple[Mutant, ...] = (
    # the request
    Mutant("no_plaid_version", "request", "drops the Plaid-Version header"),
    Mutant("old_plaid_version", "request", "pins Plaid-Version 2019-05-29"),
    Mutant("secret_in_body", "request", "also sends client_id and secret in the JSON body"),
    Mutant("credentials_in_body_only", "request", "sends client_id and secret only in the body"),
    Mutant("no_client_id_header", "request", "forgets the PLAID-CLIENT-ID header"),
    Mutant("form_encoded", "request", "posts the body form-encoded"),
    Mutant("null_fields", "request", "sends client_id: null and secret: null in the body"),
    Mutant("extra_options", "request", "adds an empty options object to the body"),
    # where and how
    Mutant("token_in_query", "where", "puts the access token in the query string too"),
    Mutant("ignores_environment", "where", "always talks to sandbox.plaid.com"),
    Mutant("plain_http", "where", "uses http:// instead of https://"),
    Mutant("trailing_slash", "where", "posts to /transactions/refresh/"),
    Mutant("follows_redirects", "where", "follows redirects"),
    Mutant("no_timeout", "where", "sets no timeout (timeout=None)"),
    Mutant("short_read_timeout", "where", "reads with httpx's default 5 s timeout"),
    # retries and waits
    Mutant("retries_400", "retries", "retries every error answer, 400s included"),
    Mutant("never_retries_503", "retries", "treats 503 PLANNED_MAINTENANCE as final"),
    Mutant("never_retries_500", "retries", "treats 500 INTERNAL_SERVER_ERROR as final"),
    Mutant("never_retries_429", "retries", "treats 429 rate limits as final"),
    Mutant("retries_by_status_only", "retries", "retries any 429/500/503, whatever the error code"),
    Mutant("ignores_retries_zero", "retries", "retries=0 means the default of 2"),
    Mutant("one_retry_too_many", "retries", "makes retries + 1 retries"),
    Mutant("one_retry_too_few", "retries", "makes retries - 1 retries"),
    Mutant("no_retry_on_connect_error", "retries", "lets connection errors through unretried"),
    Mutant("no_backoff", "waits", "retries at once, never sleeping"),
    Mutant("zero_wait", "waits", "sleeps 0 s between attempts"),
    Mutant("constant_wait", "waits", "sleeps 1 s between attempts, never longer"),
    Mutant("sleeps_after_last", "waits", "sleeps once more after the last attempt"),
    Mutant("retry_drops_headers", "retries", "builds retried requests without the default headers"),
    Mutant("retry_changes_body", "retries", "marks retried requests with a retry field in the body"),
    # errors through the adapter
    Mutant("loses_request_id", "errors", "drops the request_id from its exception"),
    Mutant("code_from_type", "errors", "puts error_type where error_code belongs"),
    Mutant("no_status", "errors", "keeps no HTTP status on its exception"),
    Mutant("unknown_code_crash", "errors", "looks codes up in a fixed table: KeyError on a new code"),
    Mutant("html_crash", "errors", "parses every answer as JSON: JSONDecodeError on a proxy's page"),
    Mutant("success_on_4xx", "errors", "returns the body of any answer, error or not"),
    Mutant("rejects_extra_fields", "errors", "raises on fields it does not know in a 200"),
    Mutant("accepts_malformed_200", "errors", "returns whatever JSON a 200 carries"),
    # secrets
    Mutant("secret_in_exception", "secrets", "puts the request headers in its exception message"),
    Mutant("token_in_exception", "secrets", "names the access token in its exception message"),
    Mutant("secret_in_cause", "secrets", "chains its exception to one that shows the headers"),
    Mutant("debug_logs_headers", "secrets", "logs the request headers at DEBUG"),
    Mutant("debug_logs_body", "secrets", "logs the request body at DEBUG"),
    # async only
    Mutant("async_never_retries", "async", "the async client makes one attempt whatever happens"),
    Mutant("async_no_plaid_version", "async", "the async client drops Plaid-Version"),
)

EQUIVALENT: dict[str, str] = {
    "lowercase_header_names": "sends plaid-version, plaid-client-id, plaid-secret in lower case: HTTP header "
    "names are case-insensitive, the same request on the wire",
    "client_per_call": "builds a new httpx client for every call: slower, but nothing differs on the wire",
}

ALL_FLAWS = frozenset(m.name for m in MUTANTS) | frozenset(EQUIVALENT)


class MiniError(Exception):
    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        type_: str | None = None,
        status: int | None = None,
        request_id: str | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.code, self.type, self.status, self.request_id, self.retryable = (
            code,
            type_,
            status,
            request_id,
            retryable,
        )


def adapter(error: BaseException) -> ErrorInfo | None:
    if not isinstance(error, MiniError):
        return None
    return ErrorInfo(code=error.code, type=error.type, status=error.status, request_id=error.request_id)


class _Core:
    """Everything but the I/O: the request, the answer's meaning, the retry decision and wait."""

    def __init__(
        self,
        *,
        retries: int,
        client_id: str,
        secret: str,
        environment: str,
        flaws: frozenset[str],
        is_async: bool,
    ) -> None:
        self.flaws = flaws
        self.is_async = is_async
        if self.has("ignores_retries_zero") and retries == 0:
            retries = 2
        self.retries = retries + (
            1 if self.has("one_retry_too_many") else -1 if self.has("one_retry_too_few") else 0
        )
        self.retries = max(self.retries, 0)
        scheme = "http" if self.has("plain_http") else "https"
        host = "sandbox" if self.has("ignores_environment") else environment
        self.base_url = f"{scheme}://{host}.plaid.com"
        self.credentials = (client_id, secret)

    def has(self, flaw: str) -> bool:
        return flaw in self.flaws

    def client_options(self) -> dict[str, Any]:
        client_id, secret = self.credentials
        headers = {"Content-Type": "application/json", "Plaid-Version": "2020-09-14"}
        if self.has("old_plaid_version"):
            headers["Plaid-Version"] = "2019-05-29"
        if self.has("no_plaid_version") or (self.is_async and self.has("async_no_plaid_version")):
            del headers["Plaid-Version"]
        if not self.has("credentials_in_body_only"):
            headers["PLAID-SECRET"] = secret
            if not self.has("no_client_id_header"):
                headers["PLAID-CLIENT-ID"] = client_id
        if self.has("lowercase_header_names"):
            headers = {name.lower(): value for name, value in headers.items()}
        timeout: httpx.Timeout | None = httpx.Timeout(connect=5.0, read=90.0, write=10.0, pool=10.0)
        if self.has("no_timeout"):
            timeout = None
        elif self.has("short_read_timeout"):
            timeout = httpx.Timeout(5.0)
        return {
            "base_url": self.base_url,
            "headers": headers,
            "timeout": timeout,
            "follow_redirects": self.has("follows_redirects"),
        }

    def request(self, token: str, attempt: int) -> dict[str, Any]:
        """httpx request arguments for this attempt."""
        client_id, secret = self.credentials
        body: dict[str, Any] = {"access_token": token}
        if self.has("secret_in_body") or self.has("credentials_in_body_only"):
            body.update(client_id=client_id, secret=secret)
        if self.has("null_fields"):
            body.update(client_id=None, secret=None)
        if self.has("extra_options"):
            body["options"] = {}
        if self.has("retry_changes_body") and attempt > 0:
            body["retry"] = attempt
        path = "/transactions/refresh/" if self.has("trailing_slash") else "/transactions/refresh"
        arguments: dict[str, Any] = {"method": "POST", "url": path}
        if self.has("form_encoded"):
            arguments["data"] = {k: str(v) for k, v in body.items()}
            arguments["headers"] = {"Content-Type": "application/x-www-form-urlencoded"}
        else:
            arguments["content"] = json.dumps(body).encode()
        if self.has("token_in_query"):
            arguments["params"] = {"access_token": token}
        if self.has("debug_logs_headers"):
            logger.debug("POST %s headers=%s", path, self.credential_headers())
        if self.has("debug_logs_body"):
            logger.debug("POST %s body=%s", path, body)
        return arguments

    def credential_headers(self) -> dict[str, str]:
        client_id, secret = self.credentials
        return {"PLAID-CLIENT-ID": client_id, "PLAID-SECRET": secret}

    def fault(self, exc: httpx.TransportError, token: str) -> MiniError:
        retryable = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout) and not self.has(
            "no_retry_on_connect_error"
        )
        return self.error(f"could not reach Plaid ({type(exc).__name__})", token, retryable=retryable)

    def error(self, message: str, token: str, **fields: Any) -> MiniError:
        if self.has("secret_in_exception"):
            message += f" (headers {self.credential_headers()})"
        if self.has("token_in_exception"):
            message += f" (access token {token})"
        if self.has("loses_request_id"):
            fields["request_id"] = None
        if self.has("no_status"):
            fields["status"] = None
        error = MiniError(message, **fields)
        if self.has("secret_in_cause"):
            try:
                raise RuntimeError(f"request failed with headers {self.credentials}")
            except RuntimeError as cause:
                error.__cause__ = cause
        return error

    def interpret(self, response: httpx.Response, token: str) -> Any:
        """The parsed answer, or a MiniError (retryable or not) to raise."""
        status = response.status_code
        try:
            data = response.json()
        except ValueError:
            if self.has("html_crash"):
                raise
            data = None
        if self.has("success_on_4xx"):
            return data
        if status == 200:
            if self.has("accepts_malformed_200"):
                return data
            if not isinstance(data, dict) or not isinstance(data.get("request_id"), str):
                return self.error("malformed answer from Plaid", token, status=status)
            if self.has("rejects_extra_fields") and set(data) - {"request_id"}:
                return self.error("unexpected fields in the answer", token, status=status)
            return data
        if (
            isinstance(data, dict)
            and isinstance(data.get("error_code"), str)
            and isinstance(data.get("error_type"), str)
        ):
            code, type_ = data["error_code"], data["error_type"]
            if self.has("unknown_code_crash"):
                {c: c for c in RETRY_CODES | {"ITEM_LOGIN_REQUIRED", "INVALID_API_KEYS", "NOT_FOUND"}}[code]
            if self.has("code_from_type"):
                code = type_
            retryable = status in (429, 500, 503) and data["error_code"] in RETRY_CODES
            if self.has("retries_by_status_only"):
                retryable = status in (429, 500, 503)
            if self.has("retries_400"):
                retryable = True
            never = {"never_retries_503": 503, "never_retries_500": 500, "never_retries_429": 429}
            if any(self.has(flaw) and status == bad for flaw, bad in never.items()):
                retryable = False
            return self.error(
                f"Plaid error {code}",
                token,
                code=code,
                type_=type_,
                status=status,
                request_id=data.get("request_id"),
                retryable=retryable,
            )
        return self.error(
            f"unexpected HTTP {status} from Plaid", token, status=status, retryable=status in (502, 503, 504)
        )

    def wait(self, attempt: int, error: MiniError) -> float | None:
        """Seconds to sleep after failed attempt `attempt` (0-based); None: do not sleep."""
        if self.has("no_backoff"):
            return None
        if self.has("zero_wait"):
            return 0.0
        if self.has("constant_wait"):
            return 1.0
        base = 2.0 if error.status == 429 else 0.5
        return float(min(base * 2**attempt, 30.0))


class MiniClient:
    def __init__(
        self, *, transport: httpx.BaseTransport, sleep: Callable[[float], Any], **options: Any
    ) -> None:
        self.core = _Core(is_async=False, **options)
        self.sleep = sleep
        self.transport = transport
        self.http = httpx.Client(transport=transport, **self.core.client_options())

    def refresh(self, access_token: str) -> Any:
        if self.core.has("client_per_call"):
            self.http.close()
            self.http = httpx.Client(transport=self.transport, **self.core.client_options())
        core = self.core
        for attempt in range(core.retries + 1):
            arguments = core.request(access_token, attempt)
            try:
                if core.has("retry_drops_headers") and attempt > 0:
                    bare = httpx.Request(
                        arguments.pop("method"), core.base_url + arguments.pop("url"), **arguments
                    )
                    response = self.http.send(bare)
                else:
                    response = self.http.request(**arguments)
            except httpx.TransportError as exc:
                outcome: Any = core.fault(exc, access_token)
            else:
                outcome = core.interpret(response, access_token)
            if not isinstance(outcome, MiniError):
                return outcome
            if not outcome.retryable or attempt == core.retries:
                if core.has("sleeps_after_last") and attempt > 0:
                    self.sleep(core.wait(attempt, outcome) or 0.0)
                raise outcome
            wait = core.wait(attempt, outcome)
            if wait is not None:
                self.sleep(wait)
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.http.close()


class AsyncMiniClient:
    def __init__(
        self, *, transport: httpx.AsyncBaseTransport, sleep: Callable[[float], Awaitable[Any]], **options: Any
    ) -> None:
        self.core = _Core(is_async=True, **options)
        if self.core.has("async_never_retries"):
            self.core.retries = 0
        self.sleep = sleep
        self.http = httpx.AsyncClient(transport=transport, **self.core.client_options())

    async def refresh(self, access_token: str) -> Any:
        core = self.core
        for attempt in range(core.retries + 1):
            arguments = core.request(access_token, attempt)
            try:
                if core.has("retry_drops_headers") and attempt > 0:
                    bare = httpx.Request(
                        arguments.pop("method"), core.base_url + arguments.pop("url"), **arguments
                    )
                    response = await self.http.send(bare)
                else:
                    response = await self.http.request(**arguments)
            except httpx.TransportError as exc:
                outcome: Any = core.fault(exc, access_token)
            else:
                outcome = core.interpret(response, access_token)
            if not isinstance(outcome, MiniError):
                return outcome
            if not outcome.retryable or attempt == core.retries:
                if core.has("sleeps_after_last") and attempt > 0:
                    await self.sleep(core.wait(attempt, outcome) or 0.0)
                raise outcome
            wait = core.wait(attempt, outcome)
            if wait is not None:
                await self.sleep(wait)
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        await self.http.aclose()


def _factories(flaws: frozenset[str]) -> tuple[Callable[..., MiniClient], Callable[..., AsyncMiniClient]]:
    def factory(**options: Any) -> MiniClient:
        return MiniClient(flaws=flaws, **options)

    def async_factory(**options: Any) -> AsyncMiniClient:
        return AsyncMiniClient(flaws=flaws, **options)

    return factory, async_factory


correct, correct_async = _factories(frozenset())


def __getattr__(name: str) -> Any:
    """`<mutant>` and `<mutant>_async`: the factories of each broken client."""
    flaw, is_async = (name.removesuffix("_async"), True) if name.endswith("_async") else (name, False)
    if flaw not in ALL_FLAWS:
        raise AttributeError(name)
    sync_factory, async_factory = _factories(frozenset([flaw]))
    return async_factory if is_async else sync_factory
