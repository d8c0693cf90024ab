"""The schemathesis side of the suite: configuration, the credential hook and the checks, for one target.

One schema per generation mode (positive, negative), so each runs the default example counts and the summary
can report them apart. Phases: examples, coverage and fuzzing. Stateful testing does not apply: the spec has
no links (the two operations do not feed each other), so schemathesis would have no state machine to run.
"""

from __future__ import annotations

import os
import secrets
import weakref
from collections.abc import Callable, Mapping
from typing import Any, Final

import requests
import schemathesis
from schemathesis import Case, CheckContext, Response
from schemathesis.python.asgi import ASGIClient
from schemathesis.transport.requests import ManagedCookiesSession

from contract_tests.server.ledger import Ledger
from contract_tests.server.oracle import Oracle
from contract_tests.server.plaid_checks import PLAID_CHECKS, PLAID_VERSIONS, Answer
from contract_tests.server.target import Target
from plaid_refresh.spec import spec_path

MODES: Final = ("positive", "negative")
CREDENTIAL_FIELDS: Final = ("client_id", "secret")
_ENV_MAX_EXAMPLES: Final = "PLAID_CONTRACT_MAX_EXAMPLES"


def checks_config() -> dict[str, Any]:
    """Built-in checks: all on (the default), except the ones listed here, each with its reason."""
    return {
        # `ignored_auth` expects 401/403 for missing or wrong credentials, but Plaid answers bad keys with
        # 400 INVALID_INPUT/INVALID_API_KEYS (never 401). `plaid_bad_api_keys_rejected` replaces it with
        # the Plaid rule: wrong header keys and wrong body keys must both give INVALID_API_KEYS.
        "ignored_auth": {"enabled": False},
        # Not listed, so enabled: not_a_server_error, status_code_conformance, content_type_conformance,
        # response_schema_conformance, response_headers_conformance, positive_data_acceptance,
        # negative_data_rejection, missing_required_header, unsupported_method (405 + Allow for TRACE,
        # PUT...), allow_header_conformance; use_after_free, ensure_resource_availability and
        # object_level_authorization need resources, links or several identities: no-ops for this spec.
        # `max_response_time` stays off (its default): Plaid documents 30 s+ answers for this endpoint, a
        # time budget would only flake.
    }


def base_config(target: Target, mode: str, *, max_examples: int | None = None) -> dict[str, Any]:
    """The schemathesis configuration (the same keys as a schemathesis.toml) for `target` and `mode`."""
    generation: dict[str, Any] = {"mode": mode, "deterministic": True}
    if max_examples is not None:
        generation["max-examples"] = max_examples
    config: dict[str, Any] = {
        "headers": target.credential_headers(),
        "generation": generation,
        "phases": {
            # The spec's explicit examples are positive data: the positive run sends them (through map_case);
            # in negative mode 4.32.5 would send them unmapped, with the examples' placeholder credentials.
            "examples": {"enabled": mode == "positive"},
            "stateful": {"enabled": False},
        },
        "checks": checks_config(),
        "output": {
            # Off: the suite replaces the run's sensitive values (it knows them) with the variables that name
            # them ($PLAID_SECRET, ...) in every report (conftest.py), so a curl line reproduces the case,
            # generated tokens and key ids included; key-based [Filtered] would hide those too.
            "sanitization": {"enabled": False}
        },
    }
    if target.webhook_key_id is None:
        config["operations"] = [UNKNOWN_KEY_ID_OPERATION]
    if target.base_url is not None:
        config["base-url"] = target.base_url
        config["request-timeout"] = target.timeout
    return config


def max_examples_from_env(env: Mapping[str, str] | None = None) -> int | None:
    """PLAID_CONTRACT_MAX_EXAMPLES bounds fuzzing (the broken-server proof uses it); unset: the default."""
    env = os.environ if env is None else env
    value = env.get(_ENV_MAX_EXAMPLES, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{_ENV_MAX_EXAMPLES} must be a positive integer, got {value!r}")
    return int(value)


OPERATION_PATHS: Final = {"refresh": "/transactions/refresh", "key_get": "/webhook_verification_key/get"}
_ENV_OPERATION: Final = "PLAID_CONTRACT_OPERATION"


def operation_path_from_env(env: Mapping[str, str] | None = None) -> str | None:
    """PLAID_CONTRACT_OPERATION=refresh|key_get runs one operation only; unset: both."""
    env = os.environ if env is None else env
    value = env.get(_ENV_OPERATION, "").strip()
    if not value:
        return None
    if value not in OPERATION_PATHS:
        raise ValueError(f"{_ENV_OPERATION} must be one of {', '.join(OPERATION_PATHS)}, got {value!r}")
    return OPERATION_PATHS[value]


def positive_values(target: Target) -> dict[str, str]:
    """Request-body fields whose generated values can never be accepted, replaced in positive cases."""
    values = {"access_token": target.access_token}
    if target.webhook_key_id is not None:
        values["key_id"] = target.webhook_key_id
    return values


def make_map_case(values: Mapping[str, str]) -> Callable[[Any, Case[Any]], Case[Any]]:
    """The `map_case` hook (it runs in every phase, coverage included).

    - Generated `client_id`/`secret` body fields are dropped: body credentials override the target's header
      credentials, and random ones would turn every case into INVALID_API_KEYS.
    - Cases with a valid body get the target's working access token (and webhook key id): a random string
      is schema-valid but names no Item; positive cases must be able to succeed, and a negative case whose
      only invalid part is a header must not be refused merely for its unknown token.
    """

    def map_case(context: Any, case: Case[Any]) -> Case[Any]:
        _isolate_content_type_probe(case)
        if isinstance(case.body, dict):
            meta = case.meta
            # Negative bodies keep their generated body credentials (wrong types, lengths, nulls): the
            # server must refuse them as input. Elsewhere they would only turn a case into INVALID_API_KEYS.
            body_negative = (
                meta is not None and meta.generation.mode.is_negative and not _body_is_positive(meta)
            )
            if not body_negative:
                for name in CREDENTIAL_FIELDS:
                    case.body.pop(name, None)
            # Also when only another component (a header) is negative: then that is the one thing wrong,
            # instead of the request being refused for its random token.
            if meta is not None and (meta.generation.mode.is_positive or _body_is_positive(meta)):
                for name, value in values.items():
                    if isinstance(case.body.get(name), str):
                        case.body[name] = value
        return case

    return map_case


def _isolate_content_type_probe(case: Case[Any]) -> None:
    """Content-Type probes come with a negative Plaid-Version too; the server would name the version and the
    probe would prove nothing about Content-Type handling. Keep the probe about Content-Type only."""
    data = case.meta.phase.data if case.meta is not None else None
    parameter = str(getattr(data, "parameter", "") or "").lower()
    if parameter != "content-type" or case.headers is None:
        return
    for name in list(case.headers):
        if str(name).lower() == "plaid-version" and case.headers[name] not in PLAID_VERSIONS:
            case.headers[name] = PLAID_VERSIONS[0]


def _body_is_positive(meta: Any) -> bool:
    for where, info in meta.components.items():
        if str(getattr(where, "value", where)).lower() == "body":
            return bool(info.mode.is_positive)
    return False


def make_before_add_examples(values: Mapping[str, str]) -> Callable[[Any, list[Case[Any]]], None]:
    """The same mapping for the spec's explicit examples (positive data by definition), which the CLI and
    negative-mode runs add without passing them through `map_case`."""

    def before_add_examples(context: Any, examples: list[Case[Any]]) -> None:
        for case in examples:
            if isinstance(case.body, dict):
                for name in CREDENTIAL_FIELDS:
                    case.body.pop(name, None)
                for name, value in values.items():
                    if isinstance(case.body.get(name), str):
                        case.body[name] = value

    return before_add_examples


# Without a known webhook key id no generated key id can be valid: for that operation only, positive cases may
# also be refused with 400 (INVALID_WEBHOOK_VERIFICATION_KEY_ID). The scenario suite still checks that code.
UNKNOWN_KEY_ID_OPERATION: Final[dict[str, Any]] = {
    "include-operation-id": "webhookVerificationKeyGet",
    "checks": {
        "positive_data_acceptance": {"expected-statuses": ["2xx", "3xx", 400, 401, 403, 404, 409, 429, "5xx"]}
    },
}


def make_bad_keys_check(
    credential_headers: Mapping[str, str],
) -> Callable[[CheckContext, Response, Case[Any]], bool | None]:
    """The Plaid replacement for `ignored_auth`: once per operation, replay the first positive case with
    wrong header credentials, then with wrong body credentials; both must give 400 INVALID_API_KEYS."""
    done: set[str] = set()
    wrong_id, wrong_secret = secrets.token_hex(12), secrets.token_hex(15)

    def plaid_bad_api_keys_rejected(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
        meta = case.meta
        label = case.operation.label
        if (
            meta is None
            or not meta.generation.mode.is_positive
            or label in done
            or response.status_code >= 500
        ):
            return True
        if not isinstance(case.body, dict):
            return True
        done.add(label)
        base_body = {k: v for k, v in case.body.items() if k not in CREDENTIAL_FIELDS}
        attempts = {
            "wrong PLAID-CLIENT-ID/PLAID-SECRET headers": (
                base_body,
                {"PLAID-CLIENT-ID": wrong_id, "PLAID-SECRET": wrong_secret},
            ),
            "wrong client_id/secret body fields (with valid headers)": (
                {**base_body, "client_id": wrong_id, "secret": wrong_secret},
                dict(credential_headers),
            ),
        }
        problems = []
        for what, (body, headers) in attempts.items():
            replay = case.operation.Case(body=body, headers=headers, media_type="application/json")
            answer = Answer.from_schemathesis(replay.call())
            data = answer.json_object() or {}
            if (answer.status, data.get("error_type"), data.get("error_code")) != (
                400,
                "INVALID_INPUT",
                "INVALID_API_KEYS",
            ):
                problems.append(
                    f"{what}: expected HTTP 400 INVALID_INPUT/INVALID_API_KEYS, got {answer.describe()} "
                    f"{data.get('error_type')!s}/{data.get('error_code')!s}"
                )
        if problems:
            raise AssertionError("\n".join(problems))
        return None

    return plaid_bad_api_keys_rejected


Check = Callable[[CheckContext, Response, Case[Any]], bool | None]


def _sent(response: Response) -> tuple[str, str, dict[str, str], bytes]:
    """The request behind a response as it went on the wire: method, path with query, headers, body."""
    request = response.request
    body = request.body
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    raw = raw if isinstance(raw, bytes) else b""
    headers = {str(k): str(v) for k, v in request.headers.items()}
    return str(request.method), str(request.path_url), headers, raw


def make_ledger_check(ledger: Ledger, server: str) -> Check:
    """The run-level rules (ledger.py) as a schemathesis check: every generated answer is recorded."""

    def plaid_across_the_run(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
        _, path, headers, body = _sent(response)
        problems = ledger.observe(
            server=server,
            where=f"{case.operation.label}, generated",
            path=path,
            request_headers=headers,
            request_body=body,
            status=response.status_code,
            response_headers=[(k, v) for k, values in response.headers.items() for v in values],
            content=response.content,
        )
        if problems:
            raise AssertionError("\n".join(problems))
        return None

    return plaid_across_the_run


def make_oracle_check(oracle: Oracle) -> Check:
    """The differential oracle as a schemathesis check: the same request, sent to the mirror, must get the
    same status, error_type and error_code."""

    def plaid_differential_oracle(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
        method, path, headers, body = _sent(response)
        problem = oracle.compare(method, path, headers, body, response.status_code, response.content)
        if problem is not None:
            raise AssertionError(problem)
        return None

    return plaid_differential_oracle


class SuiteSchema:
    """A loaded schema for one target and mode, with everything `call_and_validate` needs."""

    def __init__(
        self,
        target: Target,
        mode: str,
        *,
        max_examples: int | None = None,
        ledger: Ledger | None = None,
        oracle: Oracle | None = None,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.target = target
        self.mode = mode
        config = schemathesis.Config.from_dict(base_config(target, mode, max_examples=max_examples))
        self.schema = schemathesis.openapi.from_path(spec_path(), config=config)
        path = operation_path_from_env()
        if path is not None:
            self.schema = self.schema.include(path=path)  # type: ignore[assignment]
        if target.app is not None:
            self.schema.app = target.app
        self.schema.hook("map_case")(make_map_case(positive_values(target)))
        self.schema.hook("before_add_examples")(make_before_add_examples(positive_values(target)))
        self.checks: list[Check] = [*PLAID_CHECKS, make_bad_keys_check(target.credential_headers())]
        if ledger is not None:
            self.checks.append(make_ledger_check(ledger, target.name))
        if oracle is not None:
            self.checks.append(make_oracle_check(oracle))
        self._http = _reused_session(target)
        weakref.finalize(self, self._http.close)

    def check_names(self) -> list[str]:
        """Every check each response goes through: enabled built-ins, then this suite's own."""
        from schemathesis.checks import CHECKS, load_all_checks

        load_all_checks()
        config = self.schema.config.checks_config_for()
        builtin = [name for name in CHECKS.get_all_names() if config.get_by_name(name=name).enabled]
        return [*builtin, *(check.__name__ for check in self.checks)]

    def call_and_validate(self, case: Case[Any]) -> Response:
        # The schema knows where to send: `app` for in-process targets, `base-url` for networked ones.
        return case.call_and_validate(session=self._http, additional_checks=self.checks)


def _reused_session(target: Target) -> requests.Session:
    """One session for every case of a run. Without it schemathesis builds a session per case (and, over
    the network, a new connection per case): about a third of the suite's time per case, measured.
    Cookies are cleared after every case, so no case sees another's."""
    if target.app is not None:
        # schemathesis' own in-process client (schemathesis is pinned exactly: its module layout is stable).
        client = ASGIClient(target.app)
        client.__enter__()  # starts the app's lifespan, as schemathesis does per call
        return client
    return ManagedCookiesSession()
