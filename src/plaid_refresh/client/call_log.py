"""The client's log lines: one DEBUG line per attempt, one INFO line per retry. Scrubbed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from plaid_refresh.client.errors import PlaidError
from plaid_refresh.client.operations import Operation
from plaid_refresh.client.scrubbing import secret_forms
from plaid_refresh.redaction import scrub

if TYPE_CHECKING:
    from tenacity import RetryCallState

LOGGER_NAME = "plaid_refresh.client"


def log_attempt(
    logger: logging.Logger,
    operation: Operation,
    attempt: int,
    elapsed: float,
    secrets: Iterable[str],
    *,
    status: int | None = None,
    request_id: str | None = None,
    error: PlaidError | None = None,
) -> None:
    if not logger.isEnabledFor(logging.DEBUG):
        return
    forms = secret_forms(secrets)
    if error is not None:
        status, request_id = error.status_code, error.request_id
    outcome = "ok" if error is None else (error.error_code or type(error).__name__)
    logger.debug(
        "POST %s attempt=%d status=%s request_id=%s outcome=%s elapsed=%.3fs",
        operation.path,
        attempt,
        status,
        scrub(str(request_id), forms),
        scrub(outcome, forms),
        elapsed,
        extra={
            "plaid_method": "POST",
            "plaid_path": operation.path,
            "plaid_attempt": attempt,
            "plaid_status": status,
            "plaid_elapsed": elapsed,
        },
    )


def log_retry(
    logger: logging.Logger, operation: Operation, secrets: Iterable[str]
) -> Callable[[RetryCallState], None]:
    def _log(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        label = type(error).__name__
        if isinstance(error, PlaidError) and error.error_code:
            label = error.error_code
        logger.info(
            "POST %s attempt=%d failed (%s); retrying in %.2fs",
            operation.path,
            state.attempt_number,
            scrub(label, secret_forms(secrets)),
            state.upcoming_sleep,
        )

    return _log
