"""Scenario tests: documented Plaid behaviour that schema-driven generation alone does not reach.

Each scenario is a plain function of a `Scenario` context (a target and an httpx client bound to it) that
raises AssertionError on a contract violation and `ScenarioSkipped` when the target cannot run it (a
special Item it did not declare). Every answer a scenario receives also goes through the common Plaid rules
(error envelope, status vs error_type, request_id). Messages never carry credentials or tokens.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import httpx
from jsonschema import Draft202012Validator
from plaid_refresh_client.models import JWKPublicKey

from contract_tests.server.ledger import Ledger
from contract_tests.server.oracle import Oracle
from contract_tests.server.plaid_checks import (
    PLAID_VERSIONS,
    Answer,
    echoed_secret_problems,
    error_envelope_problems,
    request_id_problems,
    status_problems,
)
from contract_tests.server.target import SPECIAL_TOKEN_ENV, Target, on_loopback
from contract_tests.server.webhook_check import (
    RECEIVE_TIMEOUT,
    WEBHOOK_TOKEN,
    Receiver,
    parse_listen,
    reference_with_webhooks,
)
from plaid_refresh.spec import load_spec, resolve, standalone_schema
from plaid_refresh.webhooks.verification import WebhookVerificationError, WebhookVerifier

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


@dataclass(frozen=True)
class Operation:
    """One operation of the spec as the scenarios see it: where it lives and what a valid body is."""

    name: str  # short, for test ids: "refresh", "key_get"
    path: str
    field: str  # the body's one required string field

    @property
    def label(self) -> str:
        return f"POST {self.path}"


REFRESH_OP: Final = Operation("refresh", REFRESH, "access_token")
KEY_GET_OP: Final = Operation("key_get", KEY_GET, "key_id")
OPERATIONS: Final = (REFRESH_OP, KEY_GET_OP)


@dataclass
class Sent:
    """One request a scenario sent, for its curl line."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Scenario:
    target: Target
    client: httpx.Client
    last_headers: httpx.Headers = field(default_factory=httpx.Headers)
    ledger: Ledger | None = None
    oracle: Oracle | None = None
    sent: list[Sent] = field(default_factory=list)

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
        extra_headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """Send one request and apply the common Plaid rules (and the run-level ones, and the differential
        oracle, when the session has them) to the answer.

        `body` is JSON-encoded unless raw `content` is given; `credentials` replaces the target's header
        credentials (pass {} to send none); `content_type`/`version` None leave those headers out."""
        headers = dict(self.target.credential_headers() if credentials is None else credentials)
        if content_type is not None:
            headers["Content-Type"] = content_type
        if version is not None:
            headers["Plaid-Version"] = version
        headers.update(extra_headers or {})
        data = content if content is not None else (json.dumps(body).encode() if body is not None else b"")
        self.sent.append(Sent(method, path, headers, data))
        response = self.client.request(method, path, content=data, headers=headers)
        answer = Answer.from_httpx(response)
        problems = error_envelope_problems(answer) + status_problems(answer) + request_id_problems(answer)
        problems += echoed_secret_problems(
            answer, [v for k, v in headers.items() if k.lower() == "plaid-secret"]
        )
        if self.ledger is not None:
            problems += self.ledger.observe(
                server=self.target.name,
                where=f"{method} {path}, scenario",
                path=path,
                request_headers=headers,
                request_body=data,
                status=answer.status,
                response_headers=response.headers.multi_items(),
                content=answer.content,
            )
        if self.oracle is not None:
            disagreement = self.oracle.compare(method, path, headers, data, answer.status, answer.content)
            if disagreement is not None:
                problems.append(disagreement)
        if problems:
            body = answer.json_object() or {}
            got = f"{answer.describe()} {body.get('error_type')!s}/{body.get('error_code')!s}"
            raise AssertionError(f"{method} {path} answered {got}:\n" + "\n".join(problems))
        self.last_headers = response.headers
        return answer

    def accepted(self, answer: Answer, path: str, *, what: str) -> None:
        """The request was accepted: HTTP 200 per the spec. A live target's Item may have spent its real rate
        limit on this run's earlier calls (the generated tests): 429 TRANSACTIONS_REFRESH_LIMIT then also
        proves the request passed validation, but only when this run's own answers account for the limit
        (2 accepted refreshes of the Item within the last minute, counted over every answer, from a target
        that was never seen to accept more)."""
        if (
            answer.status == 429
            and path == REFRESH
            and self.ledger is not None
            and self.ledger.limit_reached(self.target.name, self.target.access_token)
        ):
            expect_error(answer, 429, "RATE_LIMIT_EXCEEDED", "TRANSACTIONS_REFRESH_LIMIT", what=what)
            return
        expect_success(answer, path, what=what)

    def accepted_by(self, op: Operation, answer: Answer, *, what: str) -> None:
        """`op` accepted the request: for the key endpoint without a known key id, the only answer a valid
        request can get is INVALID_WEBHOOK_VERIFICATION_KEY_ID (validation passed, the id is unknown)."""
        if op is KEY_GET_OP and self.target.webhook_key_id is None:
            expect_error(
                answer,
                400,
                "INVALID_INPUT",
                "INVALID_WEBHOOK_VERIFICATION_KEY_ID",
                what=f"{what} (no key id)",
            )
            return
        self.accepted(answer, op.path, what=what)

    def valid_body(self, op: Operation, **extra: Any) -> dict[str, Any]:
        if op is REFRESH_OP:
            return self.refresh_body(**extra)
        return {"key_id": self.target.webhook_key_id or str(uuid.uuid4()), **extra}

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

    def curl(self) -> str | None:
        """The last request as a curl line; credentials and tokens as $PLAID_* variables, never values."""
        if not self.sent:
            return None
        return curl_line(self.sent[-1], self.target.base_url, self.target.variables())


_CURL_BODY_LIMIT: Final = 2048


def _quoted(text: str, variables: Mapping[str, str]) -> str:
    """`text` single-quoted for a POSIX shell, with each sensitive value replaced by its "$VARIABLE"."""
    out = "'" + text.replace("'", "'\\''") + "'"
    for value, name in sorted(variables.items(), key=lambda kv: -len(kv[0])):
        if value:
            out = out.replace(value, f"'\"${name}\"'")
    return out


def curl_line(sent: Sent, base_url: str | None, variables: Mapping[str, str]) -> str:
    url = (base_url or "${PLAID_BASE_URL:-http://127.0.0.1:8787}") + sent.path
    parts = ["curl", "-X", sent.method, _quoted(url, {}) if base_url else f'"{url}"']
    for name, value in sent.headers.items():
        parts += ["-H", _quoted(f"{name}: {value}", variables)]
    if sent.body:
        text = sent.body.decode("utf-8", "replace")
        if len(text) > _CURL_BODY_LIMIT:
            parts += [
                "--data-binary",
                _quoted(text[:_CURL_BODY_LIMIT], variables),
                f"# ... {len(sent.body)} bytes",
            ]
        else:
            parts += ["--data-binary", _quoted(text, variables)]
    return " ".join(parts)


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


def rejected_as_input(answer: Answer, *, what: str) -> None:
    """A 4xx Plaid input error (INVALID_REQUEST or INVALID_INPUT): never a success, a 5xx or another type."""
    body = answer.json_object() or {}
    if not 400 <= answer.status < 500 or body.get("error_type") not in ("INVALID_REQUEST", "INVALID_INPUT"):
        raise AssertionError(
            f"{what}: expected a 4xx INVALID_REQUEST or INVALID_INPUT error, got {answer.describe()} "
            f"{body.get('error_type')!s}/{body.get('error_code')!s}"
        )


def key_problems(key: Mapping[str, Any], *, now: float | None = None) -> None:
    """A served webhook key is current: created in the past, not expired (expired_at null or in the future),
    and a public key only (no private `d`)."""
    now = time.time() if now is None else now
    created, expired = key.get("created_at"), key.get("expired_at")
    if isinstance(created, int | float) and created > now + 300:
        raise AssertionError("the webhook key's created_at is in the future")
    if expired is not None and (not isinstance(expired, int | float) or expired <= now):
        raise AssertionError(
            "the served webhook key has expired (expired_at is not null and not in the future)"
        )
    if "d" in key:
        raise AssertionError("the served webhook key includes its private part `d`")
    for name in ("x", "y"):
        if not isinstance(key.get(name), str) or not key[name]:
            raise AssertionError(f"the webhook key has no `{name}` coordinate")


# ---- the scenarios --------------------------------------------------------------------------------------

ScenarioFunction = Callable[[Scenario], None]
OperationScenario = Callable[..., None]  # (Scenario, *, op: Operation)
# Test id ("refresh: missing_fields") -> the scenario bound to its operation. Insertion order is run order.
SCENARIOS: dict[str, ScenarioFunction] = {}


def scenario(func: ScenarioFunction) -> ScenarioFunction:
    """A scenario of /transactions/refresh only."""
    SCENARIOS[f"{REFRESH_OP.name}: {func.__name__}"] = func
    return func


def key_scenario(func: ScenarioFunction) -> ScenarioFunction:
    """A scenario of /webhook_verification_key/get only."""
    SCENARIOS[f"{KEY_GET_OP.name}: {func.__name__}"] = func
    return func


def every_operation(func: OperationScenario) -> OperationScenario:
    """A scenario that runs once per operation: whatever is negative for one is negative for the other."""
    for op in OPERATIONS:
        SCENARIOS[f"{op.name}: {func.__name__}"] = functools.partial(func, op=op)
    return func


@scenario
def healthy_refresh_succeeds(s: Scenario) -> None:
    s.accepted(s.post(REFRESH, s.refresh_body()), REFRESH, what="refresh of the target's Item")


@every_operation
def missing_fields(s: Scenario, *, op: Operation) -> None:
    expect_error(
        s.post(op.path, {}), 400, "INVALID_REQUEST", "MISSING_FIELDS", what=f"body without {op.field}"
    )


@every_operation
def unknown_fields(s: Scenario, *, op: Operation) -> None:
    answer = s.post(op.path, s.valid_body(op, count=1))
    expect_error(answer, 400, "INVALID_REQUEST", "UNKNOWN_FIELDS", what="body with an unknown field")


@every_operation
def invalid_field_type(s: Scenario, *, op: Operation) -> None:
    for value in (12345, True, ["x"], {"x": 1}):
        answer = s.post(op.path, {op.field: value})
        expect_error(
            answer, 400, "INVALID_REQUEST", "INVALID_FIELD", what=f"{op.field} as {type(value).__name__}"
        )


@every_operation
def null_for_each_field(s: Scenario, *, op: Operation) -> None:
    for name in (op.field, "client_id", "secret"):
        body = s.valid_body(op)
        body[name] = None
        answer = s.post(op.path, body)
        expect_error(answer, 400, "INVALID_REQUEST", "INVALID_FIELD", what=f"{name}: null")


@every_operation
def body_credentials_of_wrong_type(s: Scenario, *, op: Operation) -> None:
    # Body credentials are part of the body's schema: a wrong type is INVALID_FIELD, whatever the headers say.
    for name, value in (("client_id", 12345), ("secret", ["x"]), ("secret", {"a": 1}), ("client_id", 1.5)):
        answer = s.post(op.path, s.valid_body(op, **{name: value}))
        expect_error(
            answer, 400, "INVALID_REQUEST", "INVALID_FIELD", what=f"body {name} as {type(value).__name__}"
        )


@every_operation
def invalid_body_malformed_json(s: Scenario, *, op: Operation) -> None:
    for content in (f'{{"{op.field}": "access-sandbox-'.encode(), b"{", b"\xff\xfe{}", b"{}{}", b"{} x"):
        answer = s.post(op.path, content=content)
        expect_error(answer, 400, "INVALID_REQUEST", "INVALID_BODY", what="a body that is not one JSON value")


@every_operation
def invalid_body_not_an_object(s: Scenario, *, op: Operation) -> None:
    for content in (b'["access_token"]', b'"text"', b"null", b"42"):
        answer = s.post(op.path, content=content)
        expect_error(answer, 400, "INVALID_REQUEST", "INVALID_BODY", what="JSON that is not an object")


@every_operation
def array_wrapping_a_valid_object(s: Scenario, *, op: Operation) -> None:
    answer = s.post(op.path, [s.valid_body(op)])
    expect_error(answer, 400, "INVALID_REQUEST", "INVALID_BODY", what="a valid body wrapped in an array")


@every_operation
def empty_body(s: Scenario, *, op: Operation) -> None:
    answer = s.post(op.path, content=b"")
    expect_error(answer, 400, "INVALID_REQUEST", "INVALID_BODY", what="an empty body")


@every_operation
def invalid_headers_missing_content_type(s: Scenario, *, op: Operation) -> None:
    answer = s.post(op.path, s.valid_body(op), content_type=None)
    expect_error(answer, 400, "INVALID_REQUEST", "INVALID_HEADERS", what="no Content-Type")


@every_operation
def invalid_headers_text_plain(s: Scenario, *, op: Operation) -> None:
    answer = s.post(op.path, s.valid_body(op), content_type="text/plain")
    expect_error(answer, 400, "INVALID_REQUEST", "INVALID_HEADERS", what="Content-Type: text/plain")


@every_operation
def content_type_lookalikes_rejected(s: Scenario, *, op: Operation) -> None:
    for content_type in (
        "application/jsonp",
        "application/json-patch+json",
        "application/x-json",
        "text/json",
        "application/problem+json",
        "application/x-www-form-urlencoded",
        "json",
        "",
    ):
        answer = s.post(op.path, s.valid_body(op), content_type=content_type)
        expect_error(
            answer, 400, "INVALID_REQUEST", "INVALID_HEADERS", what=f"Content-Type: {content_type!r}"
        )


@every_operation
def content_type_variants_accepted(s: Scenario, *, op: Operation) -> None:
    # Media types are case-insensitive and may carry parameters (RFC 9110 8.3.1).
    for content_type in (
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
        "Application/JSON",
        "APPLICATION/JSON; charset=utf-8",
        "application/json ; charset=utf-8",
    ):
        answer = s.post(op.path, s.valid_body(op), content_type=content_type)
        s.accepted_by(op, answer, what=f"Content-Type: {content_type}")


@every_operation
def header_names_in_any_case(s: Scenario, *, op: Operation) -> None:
    # HTTP header names are case-insensitive: credentials under any spelling are the same credentials.
    c = s.target.credential_headers()
    for id_name, secret_name in (
        ("plaid-client-id", "plaid-secret"),
        ("Plaid-Client-Id", "Plaid-Secret"),
        ("PLAID-CLIENT-ID", "PLAID-SECRET"),
    ):
        creds = {id_name: c["PLAID-CLIENT-ID"], secret_name: c["PLAID-SECRET"]}
        answer = s.post(op.path, s.valid_body(op), credentials=creds)
        s.accepted_by(op, answer, what=f"credentials as {id_name}/{secret_name}")


@every_operation
def plaid_version_absent_accepted(s: Scenario, *, op: Operation) -> None:
    s.accepted_by(op, s.post(op.path, s.valid_body(op), version=None), what="no Plaid-Version header")


@every_operation
def plaid_version_current_accepted(s: Scenario, *, op: Operation) -> None:
    answer = s.post(op.path, s.valid_body(op), version=PLAID_VERSION)
    s.accepted_by(op, answer, what=f"Plaid-Version: {PLAID_VERSION}")


@every_operation
def plaid_version_earlier_accepted(s: Scenario, *, op: Operation) -> None:
    # Every version the spec lists is accepted: Plaid still serves accounts pinned to older versions.
    for version in PLAID_VERSIONS:
        answer = s.post(op.path, s.valid_body(op), version=version)
        s.accepted_by(op, answer, what=f"Plaid-Version: {version}")


@every_operation
def plaid_version_unsupported(s: Scenario, *, op: Operation) -> None:
    candidates = ("2099-01-01", "1999-01-01", "latest", f"{PLAID_VERSION}x", "")
    for version in (v for v in candidates if v not in PLAID_VERSIONS):
        answer = s.post(op.path, s.valid_body(op), version=version)
        expect_error(
            answer, 400, "INVALID_REQUEST", "INCOMPATIBLE_API_VERSION", what=f"Plaid-Version: {version!r}"
        )


def _wrong_keys() -> dict[str, str]:
    return {"client_id": uuid.uuid4().hex[:24], "secret": uuid.uuid4().hex[:30]}


@every_operation
def invalid_api_keys_in_headers(s: Scenario, *, op: Operation) -> None:
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
        "right PLAID-CLIENT-ID, PLAID-SECRET with a character more": {
            "PLAID-CLIENT-ID": s.target.client_id,
            "PLAID-SECRET": s.target.secret + "0",
        },
        "right PLAID-CLIENT-ID, PLAID-SECRET in upper case": {
            "PLAID-CLIENT-ID": s.target.client_id,
            "PLAID-SECRET": s.target.secret.upper()
            if s.target.secret.upper() != s.target.secret
            else s.target.secret.lower() + "x",
        },
        "right PLAID-CLIENT-ID, empty PLAID-SECRET": {
            "PLAID-CLIENT-ID": s.target.client_id,
            "PLAID-SECRET": "",
        },
    }
    for what, headers in cases.items():
        answer = s.post(op.path, s.valid_body(op), credentials=headers)
        expect_error(answer, 400, "INVALID_INPUT", "INVALID_API_KEYS", what=what)


@every_operation
def missing_api_keys(s: Scenario, *, op: Operation) -> None:
    # No credentials at all: Plaid documents no specific code, only that it is never 401. Accept the two
    # input errors that fit (INVALID_API_KEYS, which the reference server gives, or MISSING_FIELDS).
    c = s.target.credential_headers()
    for what, creds in (
        ("no credentials", {}),
        ("no PLAID-SECRET", {"PLAID-CLIENT-ID": c["PLAID-CLIENT-ID"]}),
        ("no PLAID-CLIENT-ID", {"PLAID-SECRET": c["PLAID-SECRET"]}),
    ):
        answer = s.post(op.path, s.valid_body(op), credentials=creds)
        body = answer.json_object() or {}
        if (answer.status, body.get("error_type"), body.get("error_code")) not in {
            (400, "INVALID_INPUT", "INVALID_API_KEYS"),
            (400, "INVALID_REQUEST", "MISSING_FIELDS"),
        }:
            raise AssertionError(
                f"{what}: expected HTTP 400 INVALID_API_KEYS (or MISSING_FIELDS), got {answer.describe()} "
                f"{body.get('error_type')!s}/{body.get('error_code')!s}"
            )


@every_operation
def invalid_api_keys_in_body(s: Scenario, *, op: Operation) -> None:
    # Body fields win over headers, as at Plaid: right headers plus wrong body keys must be refused, each key
    # on its own too.
    wrong = _wrong_keys()
    for what, fields in (
        ("wrong body client_id and secret", wrong),
        ("wrong body secret only", {"secret": wrong["secret"]}),
        ("wrong body client_id only", {"client_id": wrong["client_id"]}),
    ):
        answer = s.post(op.path, s.valid_body(op, **fields))
        expect_error(answer, 400, "INVALID_INPUT", "INVALID_API_KEYS", what=f"right headers, {what}")


@every_operation
def api_keys_in_body_accepted(s: Scenario, *, op: Operation) -> None:
    body = s.valid_body(op, client_id=s.target.client_id, secret=s.target.secret)
    s.accepted_by(op, s.post(op.path, body, credentials={}), what="credentials only in the body")
    wrong = _wrong_keys()
    headers = {"PLAID-CLIENT-ID": wrong["client_id"], "PLAID-SECRET": wrong["secret"]}
    s.accepted_by(
        op, s.post(op.path, body, credentials=headers), what="right body keys over wrong header keys"
    )


@every_operation
def wrong_keys_and_bad_value(s: Scenario, *, op: Operation) -> None:
    # Two faults at once: credentials are checked before the operation looks at the token or key id.
    wrong = _wrong_keys()
    headers = {"PLAID-CLIENT-ID": wrong["client_id"], "PLAID-SECRET": wrong["secret"]}
    value = f"access-{s.target.environment}-{uuid.uuid4()}" if op is REFRESH_OP else str(uuid.uuid4())
    answer = s.post(op.path, {op.field: value}, credentials=headers)
    expect_error(
        answer, 400, "INVALID_INPUT", "INVALID_API_KEYS", what=f"wrong keys and an unknown {op.field}"
    )


@every_operation
def bad_content_type_and_bad_body(s: Scenario, *, op: Operation) -> None:
    # The Content-Type is judged before the body it announces.
    answer = s.post(op.path, content=b"{not json", content_type="text/plain")
    expect_error(answer, 400, "INVALID_REQUEST", "INVALID_HEADERS", what="text/plain and a malformed body")


@every_operation
def bad_version_and_bad_body(s: Scenario, *, op: Operation) -> None:
    answer = s.post(op.path, content=b"{not json", version="1999-01-01")
    expect_error(
        answer, 400, "INVALID_REQUEST", "INCOMPATIBLE_API_VERSION", what="a bad Plaid-Version and a bad body"
    )


@every_operation
def missing_field_and_wrong_keys(s: Scenario, *, op: Operation) -> None:
    # The body is validated before the credentials it may carry are looked up.
    wrong = _wrong_keys()
    headers = {"PLAID-CLIENT-ID": wrong["client_id"], "PLAID-SECRET": wrong["secret"]}
    answer = s.post(op.path, {}, credentials=headers)
    expect_error(answer, 400, "INVALID_REQUEST", "MISSING_FIELDS", what="no required field and wrong keys")


@every_operation
def long_values_rejected_cleanly(s: Scenario, *, op: Operation) -> None:
    # 1 KiB to 1 MiB for the required field: refused as input, never a crash, a hang or a success.
    for size in (1024, 64 * 1024, 1024 * 1024):
        value = ("access-sandbox-" if op is REFRESH_OP else "") + "a" * size
        answer = s.post(op.path, {op.field: value})
        rejected_as_input(answer, what=f"a {size}-character {op.field}")


@every_operation
def deep_and_wide_json_rejected_cleanly(s: Scenario, *, op: Operation) -> None:
    deep = b'{"' + op.field.encode() + b'": "x", "nested": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    wide = json.dumps({**s.valid_body(op), **{f"f{i}": i for i in range(5000)}}).encode()
    for what, content in (("JSON nested 5000 deep", deep), ("an object with 5000 unknown fields", wide)):
        rejected_as_input(s.post(op.path, content=content), what=what)


@every_operation
def wrong_method_rejected(s: Scenario, *, op: Operation) -> None:
    # Plaid routes are POST-only. An INVALID_REQUEST error either way: 404 (Plaid's generic answer) or 405,
    # which RFC 9110 says must list the allowed methods in `Allow`.
    for method in ("GET", "PUT", "DELETE"):
        answer = s.post(op.path, method=method, content_type=None)
        body = answer.json_object() or {}
        if answer.status not in (404, 405) or body.get("error_type") != "INVALID_REQUEST":
            raise AssertionError(
                f"{method} {op.path}: expected 404/405 INVALID_REQUEST, got {answer.describe()}"
            )
        if answer.status == 405 and "POST" not in s.last_headers.get("allow", "").upper():
            raise AssertionError(f"{method} {op.path}: a 405 must carry `Allow: POST`")


@every_operation
def errors_leave_no_state(s: Scenario, *, op: Operation) -> None:
    # A refused call changes nothing: the next valid call is answered as if it had never happened.
    wrong = _wrong_keys()
    s.post(op.path, {}, credentials={})
    s.post(
        op.path,
        s.valid_body(op),
        credentials={"PLAID-CLIENT-ID": wrong["client_id"], "PLAID-SECRET": "x" * 30},
    )
    s.post(op.path, content=b"{", content_type="text/plain")
    s.accepted_by(op, s.post(op.path, s.valid_body(op)), what="a valid call after refused ones")


@scenario
def invalid_access_token_malformed(s: Scenario) -> None:
    for token in (
        "not-a-token",
        "",
        "access-",
        "public-sandbox-" + str(uuid.uuid4()),
        " " + s.target.access_token,
    ):
        answer = s.post(REFRESH, {"access_token": token})
        expect_error(answer, 400, "INVALID_INPUT", "INVALID_ACCESS_TOKEN", what="a malformed access token")


@scenario
def invalid_access_token_unknown(s: Scenario) -> None:
    for token in (
        f"access-{s.target.environment}-{uuid.uuid4()}",
        s.target.access_token + "x",
        s.target.access_token[:-1],
        s.target.access_token.upper()
        if s.target.access_token.upper() != s.target.access_token
        else s.target.access_token + "X",
    ):
        answer = s.post(REFRESH, {"access_token": token})
        expect_error(
            answer, 400, "INVALID_INPUT", "INVALID_ACCESS_TOKEN", what="a well-formed token of no Item"
        )


@scenario
def invalid_access_token_other_environment(s: Scenario) -> None:
    answer = s.post(REFRESH, {"access_token": s.target.other_environment_token()})
    expect_error(answer, 400, "INVALID_INPUT", "INVALID_ACCESS_TOKEN", what="a token of another environment")


@scenario
def unknown_route_not_found(s: Scenario) -> None:
    for path in (
        "/transactions/refreshh",
        "/no/such/route",
        "/webhook_verification_key/gett",
        "/Transactions/Refresh",
    ):
        answer = s.post(path, s.refresh_body())
        expect_error(answer, 404, "INVALID_REQUEST", "NOT_FOUND", what=f"POST {path}")


@key_scenario
def webhook_key_unknown_id(s: Scenario) -> None:
    for key_id in (str(uuid.uuid4()), (s.target.webhook_key_id or str(uuid.uuid4())) + "0"):
        answer = s.post(KEY_GET, {"key_id": key_id})
        expect_error(
            answer,
            400,
            "INVALID_INPUT",
            "INVALID_WEBHOOK_VERIFICATION_KEY_ID",
            what="an unknown webhook key id",
        )


@key_scenario
def webhook_key_known_id(s: Scenario) -> None:
    key_id = s.target.webhook_key_id
    if key_id is None:
        raise ScenarioSkipped("the target declares no webhook key id: set PLAID_WEBHOOK_KEY_ID")
    keys = []
    for _ in range(2):
        body = expect_success(s.post(KEY_GET, {"key_id": key_id}), KEY_GET, what="a known webhook key id")
        keys.append(body["key"])
    key = keys[0]
    if (key.get("alg"), key.get("kty"), key.get("crv"), key.get("kid")) != ("ES256", "EC", "P-256", key_id):
        raise AssertionError("the webhook key must be an ES256 P-256 EC key with the requested kid")
    if keys[0] != keys[1]:
        raise AssertionError("the same key id gave two different keys")
    key_problems(key)


@scenario
def webhooks_verify_with_served_key(s: Scenario) -> None:
    # Every webhook a refresh fires verifies (signature, body hash, age) with the key the target serves for
    # its kid, and that key is current. In-process targets: a fresh reference server on loopback with an
    # Item that reports to the suite's receiver; other targets: PLAID_TOKEN_WEBHOOK and
    # PLAID_CONTRACT_WEBHOOK_LISTEN.
    with contextlib.ExitStack() as stack:
        if s.target.app_factory is not None:
            receiver = stack.enter_context(Receiver())
            base_url = stack.enter_context(reference_with_webhooks(receiver.url))
            fresh = dataclasses.replace(
                s.target, name=f"{s.target.name} (webhooks)", app=None, base_url=base_url
            )
            client = stack.enter_context(fresh.client())
            context, token = Scenario(fresh, client, ledger=s.ledger, sent=s.sent), WEBHOOK_TOKEN
        else:
            token = s.token("webhook")
            if s.target.webhook_listen is None:
                raise ScenarioSkipped(
                    "set PLAID_CONTRACT_WEBHOOK_LISTEN (host:port) for the webhook Item's receiver"
                )
            receiver = stack.enter_context(Receiver(*parse_listen(s.target.webhook_listen)))
            context = s
        answer = context.post(REFRESH, {"access_token": token})
        context.accepted(answer, REFRESH, what="refresh of the Item that sends webhooks to the suite")
        deliveries = receiver.wait(1)
        if not deliveries:
            raise AssertionError(
                f"no webhook arrived within {RECEIVE_TIMEOUT:.0f} s of a refresh that finds changes"
            )

        def served_key(key_id: str) -> JWKPublicKey:
            body = expect_success(
                context.post(KEY_GET, {"key_id": key_id}), KEY_GET, what="the webhook's key"
            )
            key_problems(body["key"])
            return JWKPublicKey.from_dict(body["key"])

        verifier = WebhookVerifier(served_key)
        for number, (headers, body) in enumerate(deliveries, start=1):
            try:
                verifier.verify(headers, body)
            except WebhookVerificationError as exc:
                raise AssertionError(
                    f"webhook {number} of {len(deliveries)} does not verify with the key the target serves: "
                    f"{type(exc).__name__}: {exc}"
                ) from None


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
        embedded=target.embedded,
        app_factory=factory,
    )
    with contextlib.ExitStack() as stack:
        if target.base_url is not None:  # the suite runs on loopback: so does this server
            fresh = stack.enter_context(on_loopback(fresh))
        client = stack.enter_context(fresh.client())
        yield Scenario(fresh, client, ledger=s.ledger, oracle=s.oracle, sent=s.sent)


@scenario
def rate_limit_per_item(s: Scenario) -> None:
    # 2 calls per Item per sliding minute; a refused call (wrong keys) is not counted; the third call
    # within the minute is TRANSACTIONS_REFRESH_LIMIT, and so is the fourth (refused calls are not counted
    # either); another Item is not affected. The same answers in-process and by URL: on a live target the
    # Item must not have been refreshed in the minute before the run (docs/contract.md).
    token = s.token("rate_limit")
    wrong = _wrong_keys()
    with _rate_limited(s) as limited:
        refused = limited.post(
            REFRESH,
            {"access_token": token},
            credentials={"PLAID-CLIENT-ID": wrong["client_id"], "PLAID-SECRET": wrong["secret"]},
        )
        expect_error(refused, 400, "INVALID_INPUT", "INVALID_API_KEYS", what="a refresh with wrong keys")
        answers = [limited.post(REFRESH, {"access_token": token}) for _ in range(4)]
        for number, answer in enumerate(answers[:2], start=1):
            expect_success(answer, REFRESH, what=f"refresh {number} of 4 within a minute")
        for number, answer in enumerate(answers[2:], start=3):
            expect_error(
                answer,
                429,
                "RATE_LIMIT_EXCEEDED",
                "TRANSACTIONS_REFRESH_LIMIT",
                what=f"refresh {number} of 4 within a minute",
            )
        if token != limited.target.access_token:
            other = limited.post(REFRESH, limited.refresh_body())
            limited.accepted(other, REFRESH, what="another Item, while the first one is rate-limited")
