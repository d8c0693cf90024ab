"""The checks can fail: each broken variant is rejected by the very check functions the real client
passes. Each case first runs the check against the real client (must pass), then against the variant
(must raise ContractViolation)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from plaid_refresh import PlaidNonJsonResponse

from .harness import (
    REFRESH,
    ClientFactory,
    ContractViolation,
    check_bad_answer,
    check_error_maps,
    check_request_matches_spec,
    check_requests_of,
    check_retry_rule,
    check_success_parses,
    named_examples,
    real_client,
    sent_requests,
)
from .variants import VARIANTS

pytestmark = pytest.mark.own_client

TOKEN = "access-sandbox-de3ce8ef-33f8-452c-a685-8671031fc0f6"
ITEM_LOGIN_REQUIRED = next(body for _, name, body in named_examples(REFRESH) if name == "ITEM_LOGIN_REQUIRED")
UNKNOWN = {
    "error_type": "ITEM_ERROR",
    "error_code": "BRAND_NEW_CODE",
    "error_message": "m",
    "display_message": None,
}
HTML_502 = httpx.Response(502, content=b"<html>502 Bad Gateway</html>", headers={"content-type": "text/html"})

Check = Callable[[ClientFactory], None]

CHECKS: dict[str, tuple[Check, str]] = {
    "drops Plaid-Version": (lambda f: check_requests_of(f, REFRESH, TOKEN), "Plaid-Version must be"),
    "sends the secret in the body": (
        lambda f: check_requests_of(f, REFRESH, TOKEN),
        "credentials must be headers",
    ),
    # openapi-core itself rejects the request: the apiKey security scheme needs the header.
    "drops PLAID-CLIENT-ID": (
        lambda f: check_request_matches_spec(sent_requests(f, REFRESH, TOKEN)[0]),
        "breaks the spec",
    ),
    "retries a 400": (
        lambda f: check_retry_rule(f, REFRESH, 400, ITEM_LOGIN_REQUIRED),
        "must not be retried",
    ),
    "swallows unknown error codes": (
        lambda f: check_error_maps(f, REFRESH, 400, UNKNOWN),
        "not a PlaidErrorResponse",
    ),
    "rejects unknown extra fields": (
        lambda f: check_success_parses(f, REFRESH, {"request_id": "r", "added_by_plaid_later": 1}),
        "a valid 200 body raised",
    ),
    "crashes on an HTML body": (
        lambda f: check_bad_answer(f, REFRESH, HTML_502, PlaidNonJsonResponse),
        "expected PlaidNonJsonResponse",
    ),
}


def test_every_variant_has_a_check() -> None:
    assert set(CHECKS) == set(VARIANTS)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_the_check_passes_the_real_client_and_rejects_the_variant(name: str) -> None:
    check, message = CHECKS[name]
    check(real_client)  # the real client passes
    with pytest.raises(ContractViolation, match=message):
        check(VARIANTS[name])
