"""Scenario tests: documented Plaid behaviour that schema-driven generation alone does not reach.

Each scenario is a plain function of a `Scenario` context (a target and an httpx client bound to it) that
raises AssertionError on a contract violation and `ScenarioSkipped` when the target cannot run it (a
special Item it did not declare). Every answer a scenario receives also goes through the common Plaid rules
(error envelope, status vs error_type, request_id). Messages never carry credentials or tokens.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import httpx
from jsonschema import Draft202012Validator

from contract_tests.server.plaid_checks import (
    Answer,
    echoed_secret_problems,
    error_envelope_problems,
    request_id_problems,
    status_problems,
)
from contract_tests.server.target import SPECIAL_TOKEN_ENV, Target, on_loopback
from plaid_refresh.spec import load_spec, resolve, standalone_schema

REFRESH: Final = "/transactions/refresh"
KEY_GET: Final = "/webhook_verification_key/get"
PLAID_VERSION: Final = "2020-09-14"
JSON: Final = "application/json"


class ScenarioSkipped(Exception):
    """The target cannot run this scenario; the message says what to provide."""


def _response_validator(path: str) -> Draft202012Validator:
    operation = load_spec()["paths"][path]["post"]
    schema = resolve(resolve(operation["responses"]["200"])["content"][JSON])["schema"]
    return Draft202012Validator(standalone_schema(schema))


@dataclass
class Scenario:
    target: Target
    client: httpx.Client
    last_headers: httpx.Headers = field(default_factory=httpx.Headers)

    def post(
        self,
        path: str,
        body: Any = None,
        *,
        content: bytes | None = None,
        content_type: str | None = JSON,
        version: str | None = PLAID_VERSION,
        credentials: Mapping[str, str] | None = None,
        method: str = "POST",
    ) -> Answer:
        """Send one request and apply the common Plaid rules to the answer.

        `body` is JSON-encoded unless raw `content` is given; `credentials` replaces the target's header
        credentials (pass {} to send none); `content_type`/`version` None leave those headers out."""
        headers = dict(self.target.credential_headers() if credentials is None else credentials)
        if content_type is not None:
            headers["Content-Type"] = content_type
        if version is not None:
            headers["Plaid-Version"] = version
        data = content if content is not None else (json.dumps(body).encode() if body is not None else b"")
        response = self.client.request(method, path, content=data, headers=headers)
        answer = Answer.from_httpx(response)
        problems = error_envelope_problems(answer) + status_problems(answer) + request_id_problems(answer)
        problems += echoed_secret_problems(
            answer, [v for k, v in headers.items() if k.lower() == "plaid-secret"]
        )
        if problems:
            raise AssertionError(f"{method} {path}: " + "\n".join(problems))
        self.last_headers = response.headers
        return answer

    def accepted(self, answer: Answer, path: str, *, what: str) -> None:
        """The request was accepted: HTTP 200 per the spec. On a live target the Item's real rate limit
        (2 refreshes per minute, spent by the generated tests) may answer 429 TRANSACTIONS_REFRESH_LIMIT
        instead: that too proves the request passed validation, so it counts as accepted there."""
        if self.target.app_factory is None and answer.status == 429:
            expect_error(answer, 429, "RATE_LIMIT_EXCEEDED", "TRANSACTIONS_REFRESH_LIMIT", what=what)
            return
        expect_success(answer, path, what=what)

    def refresh_body(self, **extra: Any) -> dict[str, Any]:
        return {"access_token": self.target.access_token, **extra}

    def token(self, scenario: str) -> str:
        token = self.target.special_token(scenario)
        if token is None:
            raise ScenarioSkipped(
                f"the target declares no Item for this scenario: "
                f"set {SPECIAL_TOKEN_ENV[scenario]} to its access token"
            )
        return token


def expect_error(answer: Answer, status: int, error_type: str, *codes: str, what: str) -> dict[str, Any]:
    """The answer is the Plaid error `error_type`/one of `codes` with `status`."""
    body = answer.json_object() or {}
    got = (answer.status, body.get("error_type"), body.get("error_code"))
    if got[0] != status or got[1] != error_type or got[2] not in codes:
        raise AssertionError(
            f"{what}: expected HTTP {status} {error_type}/{' or '.join(codes)}, "
            f"got {answer.describe()} {got[1]!s}/{got[2]!s}"
        )
    return body


def expect_success(answer: Answer, path: str, *, what: str) -> dict[str, Any]:
    """HTTP 200 with a body valid against the operation's 200 schema (request_id, extra fields allowed)."""
    body = answer.json_object()
    if answer.status != 200 or body is None:
        error = f" {body.get('error_type')!s}/{body.get('error_code')!s}" if body else ""
        raise AssertionError(f"{what}: expected HTTP 200, got {answer.describe()}{error}")
    if not answer.is_json:
        raise AssertionError(f"{what}: a success must be application/json, got {answer.describe()}")
    errors = [
        f"{'.'.join(map(str, e.absolute_path)) or '(top level)'}: fails `{e.validator}`"
        for e in _response_validator(path).iter_errors(body)
    ]
    if errors:
        raise AssertionError(f"{what}: the 200 body does not match the spec: " + "; ".join(errors[:5]))
    return body


# ---- the scenarios --------------------------------------------------------------------------------------

ScenarioFunction = Callable[[Scenario], None]
SCENARIOS: dict[str, ScenarioFunction] = {}


def scenario(func: ScenarioFunction) -> ScenarioFunction:
    SCENARIOS[func.__name__] = func
    return func


@scenario
def healthy_refresh_succeeds(s: Scenario) -> None:
    s.accepted(s.post(REFRESH, s.refresh_body()), REFRESH, what="refresh of the target's Item")


@scenario
def missing_fields(s: Scenario) -> None:
    expect_error(
        s.post(REFRESH, {}), 400, "INVALID_REQUEST", "MISSING_FIELDS", what="body without access_token"
    )


@scenario
def unknown_fields(s: Scenario) -> None:
    answer = s.post(REFRESH, s.refresh_body(count=1))
    expect_error(answer, 400, "INVALID_REQUEST", "UNKNOWN_FIELDS", what="body with an unknown field")


@scenario
def invalid_field_type(s: Scenario) -> None:
    answer = s.post(REFRESH, {"access_token": 12345})
    expect_error(answer, 400, "INVALID_REQUEST", "INVALID_FIELD", what="access_token that is not a string")


@scenario
def invalid_body_malformed_json(s: Scenario) -> None:
    answer = s.post(REFRESH, content=b'{"access_token": "access-sandbox-')
    expect_error(answer, 400, "INVALID_REQUEST", "INVALID_BODY", what="malformed JSON body")


@scenario
def invalid_body_not_an_object(s: Scenario) -> None:
    answer = s.post(REFRESH, content=b'["access_token"]')
    expect_error(answer, 400, "INVALID_REQUEST", "INVALID_BODY", what="a JSON array instead of an object")


@scenario
def invalid_headers_missing_content_type(s: Scenario) -> None:
    answer = s.post(REFRESH, s.refresh_body(), content_type=None)
    expect_error(answer, 400, "INVALID_REQUEST", "INVALID_HEADERS", what="no Content-Type")


@scenario
def invalid_headers_text_plain(s: Scenario) -> None:
    answer = s.post(REFRESH, s.refresh_body(), content_type="text/plain")
    expect_error(answer, 400, "INVALID_REQUEST", "INVALID_HEADERS", what="Content-Type: text/plain")


@scenario
def content_type_with_charset_accepted(s: Scenario) -> None:
    answer = s.post(REFRESH, s.refresh_body(), content_type="application/json; charset=utf-8")
    s.accepted(answer, REFRESH, what="Content-Type: application/json; charset=utf-8")


@scenario
def plaid_version_absent_accepted(s: Scenario) -> None:
    s.accepted(s.post(REFRESH, s.refresh_body(), version=None), REFRESH, what="no Plaid-Version header")


@scenario
def plaid_version_current_accepted(s: Scenario) -> None:
    answer = s.post(REFRESH, s.refresh_body(), version=PLAID_VERSION)
    s.accepted(answer, REFRESH, what=f"Plaid-Version: {PLAID_VERSION}")


@scenario
def plaid_version_earlier_accepted(s: Scenario) -> None:
    # Plaid still accepts the versions accounts pinned before 2020-09-14 (shared/PLAID_FACTS.md).
    for version in ("2019-05-29", "2018-05-22", "2017-03-08"):
        answer = s.post(REFRESH, s.refresh_body(), version=version)
        s.accepted(answer, REFRESH, what=f"Plaid-Version: {version}")


@scenario
def plaid_version_unsupported(s: Scenario) -> None:
    for version in ("2099-01-01", "latest"):
        answer = s.post(REFRESH, s.refresh_body(), version=version)
        expect_error(
            answer, 400, "INVALID_REQUEST", "INCOMPATIBLE_API_VERSION", what=f"Plaid-Version: {version}"
        )


def _wrong_keys() -> dict[str, str]:
    return {"client_id": uuid.uuid4().hex[:24], "secret": uuid.uuid4().hex[:30]}


@scenario
def invalid_api_keys_in_headers(s: Scenario) -> None:
    wrong = _wrong_keys()
    cases = {
        "wrong PLAID-CLIENT-ID and PLAID-SECRET": {
            "PLAID-CLIENT-ID": wrong["client_id"],
            "PLAID-SECRET": wrong["secret"],
        },
        "right PLAID-CLIENT-ID, wrong PLAID-SECRET": {
            "PLAID-CLIENT-ID": s.target.client_id,
            "PLAID-SECRET": wrong["secret"],
        },
        "wrong PLAID-CLIENT-ID, right PLAID-SECRET": {
            "PLAID-CLIENT-ID": wrong["client_id"],
            "PLAID-SECRET": s.target.secret,
        },
    }
    for what, headers in cases.items():
        answer = s.post(REFRESH, s.refresh_body(), credentials=headers)
        expect_error(answer, 400, "INVALID_INPUT", "INVALID_API_KEYS", what=what)


@scenario
def missing_api_keys(s: Scenario) -> None:
    # No credentials at all: Plaid documents no specific code, only that it is never 401. Accept the two
    # input errors that fit (INVALID_API_KEYS, which the reference server gives, or MISSING_FIELDS).
    answer = s.post(REFRESH, s.refresh_body(), credentials={})
    body = answer.json_object() or {}
    if (answer.status, body.get("error_type"), body.get("error_code")) not in {
        (400, "INVALID_INPUT", "INVALID_API_KEYS"),
        (400, "INVALID_REQUEST", "MISSING_FIELDS"),
    }:
        raise AssertionError(
            "no credentials: expected HTTP 400 INVALID_API_KEYS (or MISSING_FIELDS), "
            f"got {answer.describe()} "
            f"{body.get('error_type')!s}/{body.get('error_code')!s}"
        )


@scenario
def invalid_api_keys_in_body(s: Scenario) -> None:
    # Body fields win over headers, as at Plaid: right headers plus wrong body keys must be refused.
    answer = s.post(REFRESH, s.refresh_body(**_wrong_keys()))
    expect_error(
        answer, 400, "INVALID_INPUT", "INVALID_API_KEYS", what="right headers, wrong body client_id/secret"
    )


@scenario
def api_keys_in_body_accepted(s: Scenario) -> None:
    body = s.refresh_body(client_id=s.target.client_id, secret=s.target.secret)
    s.accepted(s.post(REFRESH, body, credentials={}), REFRESH, what="credentials only in the body")


@scenario
def invalid_access_token_malformed(s: Scenario) -> None:
    for token in ("not-a-token", "", "access-"):
        answer = s.post(REFRESH, {"access_token": token})
        expect_error(answer, 400, "INVALID_INPUT", "INVALID_ACCESS_TOKEN", what="a malformed access token")


@scenario
def invalid_access_token_unknown(s: Scenario) -> None:
    answer = s.post(REFRESH, {"access_token": f"access-{s.target.environment}-{uuid.uuid4()}"})
    expect_error(answer, 400, "INVALID_INPUT", "INVALID_ACCESS_TOKEN", what="a well-formed token of no Item")


@scenario
def invalid_access_token_other_environment(s: Scenario) -> None:
    answer = s.post(REFRESH, {"access_token": s.target.other_environment_token()})
    expect_error(answer, 400, "INVALID_INPUT", "INVALID_ACCESS_TOKEN", what="a token of another environment")


@scenario
def unknown_route_not_found(s: Scenario) -> None:
    for path in ("/transactions/refreshh", "/no/such/route"):
        answer = s.post(path, s.refresh_body())
        expect_error(answer, 404, "INVALID_REQUEST", "NOT_FOUND", what=f"POST {path}")


@scenario
def wrong_method_rejected(s: Scenario) -> None:
    # Plaid routes are POST-only. An INVALID_REQUEST error either way: 404 (Plaid's generic answer) or 405,
    # which RFC 9110 says must list the allowed methods in `Allow`.
    answer = s.post(REFRESH, method="GET", content_type=None)
    body = answer.json_object() or {}
    if answer.status not in (404, 405) or body.get("error_type") != "INVALID_REQUEST":
        raise AssertionError(f"GET {REFRESH}: expected 404/405 INVALID_REQUEST, got {answer.describe()}")
    if answer.status == 405 and "POST" not in s.last_headers.get("allow", "").upper():
        raise AssertionError(f"GET {REFRESH}: a 405 must carry `Allow: POST`")


@scenario
def webhook_key_unknown_id(s: Scenario) -> None:
    answer = s.post(KEY_GET, {"key_id": str(uuid.uuid4())})
    expect_error(
        answer, 400, "INVALID_INPUT", "INVALID_WEBHOOK_VERIFICATION_KEY_ID", what="an unknown webhook key id"
    )


@scenario
def webhook_key_known_id(s: Scenario) -> None:
    key_id = s.target.webhook_key_id
    if key_id is None:
        raise ScenarioSkipped("the target declares no webhook key id: set PLAID_WEBHOOK_KEY_ID")
    body = expect_success(s.post(KEY_GET, {"key_id": key_id}), KEY_GET, what="a known webhook key id")
    key = body["key"]
    if (key.get("alg"), key.get("kty"), key.get("crv"), key.get("kid")) != ("ES256", "EC", "P-256", key_id):
        raise AssertionError("the webhook key must be an ES256 P-256 EC key with the requested kid")


# Special Items: run where the target declares them (built in on the reference server).


@scenario
def capital_one_products_not_supported(s: Scenario) -> None:
    answer = s.post(REFRESH, {"access_token": s.token("capital_one")})
    body = expect_error(
        answer, 400, "ITEM_ERROR", "PRODUCTS_NOT_SUPPORTED", what="Capital One non-depository Item"
    )
    for name in ("required_account_subtypes", "provided_account_subtypes"):
        if name in body and not isinstance(body[name], list):
            raise AssertionError(f"{name} must be an array")


@scenario
def item_login_required(s: Scenario) -> None:
    answer = s.post(REFRESH, {"access_token": s.token("login_required")})
    expect_error(answer, 400, "ITEM_ERROR", "ITEM_LOGIN_REQUIRED", what="Item that needs a new login")


@scenario
def item_without_transactions_product(s: Scenario) -> None:
    answer = s.post(REFRESH, {"access_token": s.token("no_transactions")})
    expect_error(
        answer,
        400,
        "ITEM_ERROR",
        "PRODUCT_NOT_ENABLED",
        "PRODUCT_NOT_READY",
        what="Item without Transactions",
    )


@scenario
def institution_down(s: Scenario) -> None:
    answer = s.post(REFRESH, {"access_token": s.token("institution_down")})
    expect_error(
        answer,
        400,
        "INSTITUTION_ERROR",
        "INSTITUTION_DOWN",
        "INSTITUTION_NOT_RESPONDING",
        what="Item whose institution is down",
    )


@contextlib.contextmanager
def _rate_limited(s: Scenario) -> Iterator[Scenario]:
    """The target with Plaid's documented limits on: live targets as they are; in-process ones rebuilt
    fresh with limits on (the generated phases run with them off), on the same transport."""
    target = s.target
    factory = target.app_factory
    if factory is None:
        yield s
        return
    fresh = Target(
        name=f"{target.name} (rate-limited)",
        app=factory(rate_limited=True),
        client_id=target.client_id,
        secret=target.secret,
        access_token=target.access_token,
        special_tokens=target.special_tokens,
        is_reference=target.is_reference,
        app_factory=factory,
    )
    with contextlib.ExitStack() as stack:
        if target.base_url is not None:  # the suite runs on loopback: so does this server
            fresh = stack.enter_context(on_loopback(fresh))
        client = stack.enter_context(fresh.client())
        yield Scenario(fresh, client)


@scenario
def rate_limit_per_item(s: Scenario) -> None:
    # 2 calls per Item per minute: the third call within the minute is TRANSACTIONS_REFRESH_LIMIT.
    token = s.token("rate_limit")
    with _rate_limited(s) as limited:
        answers = [limited.post(REFRESH, {"access_token": token}) for _ in range(3)]
    if s.target.app_factory is None:
        # A live Item may already have spent its quota on earlier calls: only the third answer is certain.
        answers = answers[2:]
    for number, answer in enumerate(answers[:-1], start=1):
        expect_success(answer, REFRESH, what=f"refresh {number} of 3 within a minute")
    expect_error(
        answers[-1],
        429,
        "RATE_LIMIT_EXCEEDED",
        "TRANSACTIONS_REFRESH_LIMIT",
        what="refresh 3 of 3 within a minute",
    )
