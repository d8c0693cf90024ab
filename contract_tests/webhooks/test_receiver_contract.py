"""A webhook receiver must accept genuine signed webhooks (2xx) and reject every forgery (non-2xx).

Each forgery has its own test so a report names exactly what a receiver fails to check."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings

from contract_tests.webhooks import other_products
from contract_tests.webhooks.conftest import PlaidSide
from contract_tests.webhooks.payloads import codes, examples, strategy
from plaid_refresh.webhooks import forgeries

CODES = codes()


def _accepted(response: httpx.Response) -> bool:
    return 200 <= response.status_code < 300


def _assert_accepted(response: httpx.Response, what: str) -> None:
    assert _accepted(response), (
        f"a genuine {what} was refused: HTTP {response.status_code} {response.text[:200]}"
    )


@pytest.mark.parametrize("code", CODES)
def test_accepts_the_spec_example(plaid: PlaidSide, code: str) -> None:
    _assert_accepted(plaid.send_signed(examples()[code]), f"{code} (spec example)")


@pytest.mark.parametrize("code", CODES)
def test_accepts_payloads_generated_from_the_spec(plaid: PlaidSide, code: str) -> None:
    @settings(
        max_examples=8,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(payload=strategy(code))
    def check(payload: dict[str, Any]) -> None:
        _assert_accepted(plaid.send_signed(payload), f"{code} (generated from the spec)")

    check()


def test_accepts_a_retry_of_the_same_webhook(plaid: PlaidSide) -> None:
    """Plaid retries resend the same body with a fresh signature: acknowledge it (a duplicate)."""
    body = plaid.fresh_body("SYNC_UPDATES_AVAILABLE")
    _assert_accepted(plaid.post({"Plaid-Verification": plaid.signer.sign(body)}, body), "webhook")
    _assert_accepted(plaid.post({"Plaid-Verification": plaid.signer.sign(body)}, body), "retried webhook")


def test_matches_the_header_name_case_insensitively(plaid: PlaidSide) -> None:
    body = plaid.fresh_body()
    _assert_accepted(plaid.post({"plaid-verification": plaid.signer.sign(body)}, body), "webhook")


def _assert_rejected(plaid: PlaidSide, name: str) -> None:
    forgery = forgeries.BY_NAME[name]
    headers, body = forgery(plaid.signer, plaid.fresh_body())
    response = plaid.post(headers, body)
    assert not _accepted(response), (
        f"the receiver accepted a forged webhook ({name}: {forgery.build.__doc__ or name}) "
        f"with HTTP {response.status_code}"
    )


def test_rejects_a_bad_signature(plaid: PlaidSide) -> None:
    _assert_rejected(plaid, "bad_signature")


def test_rejects_the_wrong_key_under_the_genuine_kid(plaid: PlaidSide) -> None:
    _assert_rejected(plaid, "wrong_key")


def test_rejects_an_unknown_key_id(plaid: PlaidSide) -> None:
    _assert_rejected(plaid, "unknown_key")


def test_rejects_an_expired_iat(plaid: PlaidSide) -> None:
    _assert_rejected(plaid, "expired_iat")


def test_rejects_an_iat_far_in_the_future(plaid: PlaidSide) -> None:
    _assert_rejected(plaid, "future_iat")


def test_rejects_a_tampered_body(plaid: PlaidSide) -> None:
    _assert_rejected(plaid, "tampered_body")


def test_rejects_alg_none(plaid: PlaidSide) -> None:
    _assert_rejected(plaid, "alg_none")


def test_rejects_hs256_signed_with_the_public_key(plaid: PlaidSide) -> None:
    _assert_rejected(plaid, "hs256_public_key")


def test_rejects_a_missing_header(plaid: PlaidSide) -> None:
    _assert_rejected(plaid, "missing_header")


def test_rejects_a_header_that_is_not_a_jwt(plaid: PlaidSide) -> None:
    _assert_rejected(plaid, "not_a_jwt")


def test_rejects_a_jwt_without_the_body_hash(plaid: PlaidSide) -> None:
    _assert_rejected(plaid, "missing_body_hash")


def test_every_forgery_has_a_test() -> None:
    """Adding a forgery to plaid_refresh.webhooks.forgeries without a test here fails the suite."""
    import inspect
    import sys

    source = inspect.getsource(sys.modules[__name__])
    missing = [f.name for f in forgeries.FORGERIES if f'_assert_rejected(plaid, "{f.name}")' not in source]
    assert not missing, f"forgeries without a contract test: {missing}"


@pytest.mark.parametrize("name", other_products.names())
def test_acknowledges_genuine_webhooks_it_does_not_handle(plaid: PlaidSide, name: str) -> None:
    """Another product's webhook (the Item's one URL gets them all) is acknowledged, never refused."""
    payload = {**other_products.payload(name), "item_id": f"contract-{uuid.uuid4().hex}"}
    _assert_accepted(plaid.send_signed(payload), f"{name} webhook (another product's)")
