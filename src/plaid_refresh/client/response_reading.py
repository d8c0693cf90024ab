"""Reading an answer: parse the body, check its status and shape against the spec, and hand back
the success model or the typed exception naming what is wrong. Generated code never sees a body
that has not been validated against the spec."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import httpx

from plaid_refresh.client.errors import (
    PlaidErrorResponse,
    PlaidMalformedResponse,
    PlaidNonJsonResponse,
    PlaidUnexpectedStatus,
)
from plaid_refresh.client.operations import Operation
from plaid_refresh.client.scrubbing import header_text, secret_forms, snippet
from plaid_refresh.client.validation import (
    describe_errors,
    documented_statuses,
    error_object_validator,
    response_validator,
)
from plaid_refresh.redaction import scrub

ErrorFromBody = Callable[[int, dict[str, Any], list[str]], PlaidErrorResponse]


def interpret(
    operation: Operation,
    response: httpx.Response,
    secrets: Iterable[str],
    error_from_body: ErrorFromBody,
) -> tuple[Any, str | None]:
    """The success model and its request_id, or raise the matching PlaidError."""
    status = response.status_code
    raw = response.content
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        where, forms, content_type = _failure_context(operation, response, secrets)
        looks_json = "json" in content_type.lower() or raw.lstrip()[:1] in (b"{", b"[")
        view = snippet(raw, forms)
        if looks_json and raw.strip():
            raise PlaidMalformedResponse(
                f"{where} answered HTTP {status} with JSON that does not parse (truncated?): {view!r}",
                status_code=status,
                content_type=content_type,
                snippet=view,
            ) from None
        what = "an empty body" if not raw.strip() else f"a non-JSON body: {view!r}"
        raise PlaidNonJsonResponse(
            f"{where} answered HTTP {status} with content-type {content_type or 'none'!r} and {what}",
            status_code=status,
            content_type=content_type,
            snippet=view,
        ) from None

    if not 200 <= status < 300 and not describe_errors(error_object_validator(), data, limit=1):
        # A Plaid error is recognised by its body, at any status: Plaid may move a code to another
        # status (when it splits one), and its description declares errors as one `default` response.
        raise error_from_body(status, data, secret_forms(secrets))

    documented = documented_statuses(operation.path)
    if status not in documented:
        where, forms, content_type = _failure_context(operation, response, secrets)
        view = snippet(raw, forms)
        listed = ", ".join(str(s) for s in sorted(documented))
        raise PlaidUnexpectedStatus(
            f"{where} answered HTTP {status}, a status the spec does not list for it ({listed}); "
            f"body: {view!r}",
            status_code=status,
            content_type=content_type,
            snippet=view,
        )

    problems = describe_errors(response_validator(operation.path, status), data)
    if problems:
        where, forms, content_type = _failure_context(operation, response, secrets)
        view = snippet(raw, forms)
        shown = tuple(scrub(problem, forms) for problem in problems)
        malformed = PlaidMalformedResponse(
            f"{where} answered HTTP {status} with a body that does not match the spec: " + "; ".join(shown),
            status_code=status,
            content_type=content_type,
            snippet=view,
        )
        malformed.schema_problems = shown
        raise malformed
    if 200 <= status < 300:
        request_id = data.get("request_id")
        return operation.parse(data), request_id if isinstance(request_id, str) else None
    raise error_from_body(status, data, secret_forms(secrets))


def _failure_context(
    operation: Operation, response: httpx.Response, secrets: Iterable[str]
) -> tuple[str, list[str], str]:
    """What every failure message needs; built only on failure (a success pays none of it)."""
    forms = secret_forms(secrets)
    return f"POST {operation.path}", forms, header_text(response.headers.get("content-type", ""), forms)
