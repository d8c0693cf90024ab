"""Algorithm and key confusion, and tokens that name their own key: none may get a 2xx.

The attacker serves its own JWKS on loopback, so a receiver that follows `jku` really finds a key
that verifies the token."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any

import pytest

from contract_tests.webhooks.attacks import ATTACKS, Attack, Attacker
from contract_tests.webhooks.conftest import PlaidSide, assert_delivered, assert_refused
from contract_tests.webhooks.loopback import serve


class _JwksServer:
    def __init__(self) -> None:
        self.attacker: Attacker | None = None
        self.hits = 0

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
        send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
    ) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        self.hits += 1
        body = json.dumps(self.attacker.jwks() if self.attacker else {"keys": []}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def attacker() -> Iterator[Attacker]:
    jwks = _JwksServer()
    with serve(jwks) as url:
        jwks.attacker = Attacker.generate(f"{url}/.well-known/jwks.json")
        yield jwks.attacker


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
@pytest.mark.parametrize("code", ["SYNC_UPDATES_AVAILABLE", "DEFAULT_UPDATE"])
def test_rejects_a_token_the_attacker_built(
    plaid: PlaidSide, attacker: Attacker, attack: Attack, code: str
) -> None:
    body = plaid.fresh_body(code)
    token = attack.build(plaid.signer, attacker, body)
    assert_refused(plaid.post({"Plaid-Verification": token}, body), f"a forged webhook ({attack.doc})")


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_rejects_the_attack_on_a_body_it_already_accepted(
    plaid: PlaidSide, attacker: Attacker, attack: Attack
) -> None:
    body = plaid.fresh_body("TRANSACTIONS_REMOVED")
    assert_delivered(plaid.deliver(body), "webhook")
    token = attack.build(plaid.signer, attacker, body)
    assert_refused(
        plaid.post({"Plaid-Verification": token}, body), f"a known body with a forged token ({attack.doc})"
    )
