"""Both key servers the contract suite can use answer /webhook_verification_key/get as the spec says,
and the helper's fetcher (the generated client) reads them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from contract_tests.webhooks.keyserver import MiniKeyServer, default_credentials, key_server_app
from contract_tests.webhooks.loopback import serve
from plaid_refresh.spec import resolve, standalone_schema
from plaid_refresh.webhooks.signing import WebhookSigner
from plaid_refresh.webhooks.verification import PlaidKeyFetcher, UnknownKey

ROUTE = "/webhook_verification_key/get"


def schema(name: str) -> Draft202012Validator:
    return Draft202012Validator(standalone_schema(resolve({"$ref": f"#/components/schemas/{name}"})))


def apps(signer: WebhookSigner) -> list[Any]:
    client_id, secret = default_credentials()
    return [MiniKeyServer(signer, client_id, secret), key_server_app(signer, client_id, secret)[1]]


@pytest.mark.parametrize("index", [0, 1], ids=["mini key server", "reference server"])
def test_key_server_answers_in_the_spec_shapes(index: int) -> None:
    signer = WebhookSigner.generate()
    client_id, secret = default_credentials()
    headers = {"PLAID-CLIENT-ID": client_id, "PLAID-SECRET": secret, "Plaid-Version": "2020-09-14"}
    with serve(apps(signer)[index]) as url:
        ok = httpx.post(url + ROUTE, json={"key_id": signer.key_id}, headers=headers)
        unknown = httpx.post(url + ROUTE, json={"key_id": "nope"}, headers=headers)
        bad_creds = httpx.post(
            url + ROUTE, json={"key_id": signer.key_id}, headers={**headers, "PLAID-SECRET": "x"}
        )
        fetched = PlaidKeyFetcher(url, client_id, secret)(signer.key_id)
        with pytest.raises(UnknownKey):
            PlaidKeyFetcher(url, client_id, secret)("nope")
    assert ok.status_code == 200
    assert list(schema("WebhookVerificationKeyGetResponse").iter_errors(ok.json())) == []
    assert ok.json()["key"] == signer.public_jwk()
    assert (unknown.status_code, unknown.json()["error_code"]) == (400, "INVALID_WEBHOOK_VERIFICATION_KEY_ID")
    assert (bad_creds.status_code, bad_creds.json()["error_code"]) == (400, "INVALID_API_KEYS")
    for answer in (unknown, bad_creds):
        assert list(schema("PlaidError").iter_errors(answer.json())) == []
    assert fetched.to_dict() == signer.public_jwk()
