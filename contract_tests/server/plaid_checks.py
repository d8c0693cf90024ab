"""Plaid-specific checks: what the spec's shapes alone cannot say about a Plaid answer.

Each `plaid_*` function is a schemathesis check `(ctx, response, case)` and runs on every generated response.
The rules underneath (`error_envelope_problems`, `status_problems`, ...) work on plain status/headers/bytes,
so the scenario tests apply exactly the same rules to the answers they provoke.

Everything is read from the spec: the PlaidError schema, and which error_type and error_code come with which
HTTP status (the spec's error examples are named after their error_code and sit under their status, as in
PLAID_FACTS.md's table). Failure messages name JSON paths and rules, never values, so no credential or token
a broken server might echo can leak into a report.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Final

from contract_tests.server.ledger import json_strings
from plaid_refresh.schema_check import CompiledSchema
from plaid_refresh.spec import load_spec, resolve

if TYPE_CHECKING:
    import httpx
    from schemathesis import Case, CheckContext, Response

# The one status the spec cannot list: a method other than POST on a known route (RFC 9110 405). Plaid's
# reference behaviour keeps the INVALID_REQUEST type for it.
METHOD_NOT_ALLOWED_STATUS: Final = 405
# Input errors a client caused: the only types an answer to deliberately invalid input may carry.
CLIENT_INPUT_ERROR_TYPES: Final = frozenset({"INVALID_REQUEST", "INVALID_INPUT"})
# Expected error_code for negative coverage scenarios whose meaning is unambiguous in Plaid's terms.
EXPECTED_CODE_BY_COVERAGE_SCENARIO: Final[Mapping[str, str]] = {
    "object_missing_required_property": "MISSING_FIELDS",
    "object_unexpected_properties": "UNKNOWN_FIELDS",
}
# Expected error_code when a negative case's only invalid component is this (lower-cased) header.
EXPECTED_CODE_BY_HEADER: Final[Mapping[str, str]] = {
    "plaid-version": "INCOMPATIBLE_API_VERSION",
    "content-type": "INVALID_HEADERS",
}


@dataclass(frozen=True)
class ErrorTable:
    """Which statuses each error_type and error_code may come with, read from the spec's error examples."""

    statuses_by_type: Mapping[str, frozenset[int]]
    type_by_code: Mapping[str, str]
    statuses_by_code: Mapping[str, frozenset[int]]


@cache
def error_table() -> ErrorTable:
    by_type: dict[str, set[int]] = {}
    type_by_code: dict[str, str] = {}
    by_code: dict[str, set[int]] = {}
    for path_item in load_spec()["paths"].values():
        for operation in path_item.values():
            for status_text, response in operation.get("responses", {}).items():
                if not status_text.isdigit() or int(status_text) < 400:
                    continue
                status = int(status_text)
                content = resolve(response).get("content", {}).get("application/json", {})
                for example in content.get("examples", {}).values():
                    value = resolve(example)["value"]
                    error_type, error_code = value["error_type"], value["error_code"]
                    by_type.setdefault(error_type, set()).add(status)
                    by_code.setdefault(error_code, set()).add(status)
                    type_by_code[error_code] = error_type
    by_type.setdefault("INVALID_REQUEST", set()).add(METHOD_NOT_ALLOWED_STATUS)
    return ErrorTable(
        statuses_by_type={k: frozenset(v) for k, v in by_type.items()},
        type_by_code=type_by_code,
        statuses_by_code={k: frozenset(v) for k, v in by_code.items()},
    )


PLAID_VERSIONS: Final[tuple[str, ...]] = tuple(load_spec()["components"]["schemas"]["PlaidVersion"]["enum"])


@cache
def _error_validator() -> CompiledSchema:
    # The project's shared compiled validator: a fast "valid?" first, jsonschema only to say why not.
    return CompiledSchema.of({"$ref": "#/components/schemas/PlaidError"})


@dataclass(frozen=True)
class Answer:
    """The parts of an HTTP answer the rules look at, from any transport."""

    status: int
    content_type: str
    content: bytes

    @classmethod
    def from_schemathesis(cls, response: Response) -> Answer:
        values = response.headers.get("content-type") or [""]
        return cls(response.status_code, values[0], response.content)

    @classmethod
    def from_httpx(cls, response: httpx.Response) -> Answer:
        return cls(response.status_code, response.headers.get("content-type", ""), response.content)

    @property
    def is_json(self) -> bool:
        media_type = self.content_type.split(";", 1)[0].strip().lower()
        return media_type == "application/json"

    def json_object(self) -> dict[str, Any] | None:
        """The body as a JSON object, or None when it is not one."""
        try:
            value = json.loads(self.content)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return None
        return value if isinstance(value, dict) else None

    def describe(self) -> str:
        kind = self.content_type or "no Content-Type"
        return f"HTTP {self.status} ({kind}, {len(self.content)} bytes)"


def _path(parts: Any) -> str:
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".")
    return text or "(top level)"


def error_envelope_problems(answer: Answer) -> list[str]:
    """Why a non-2xx answer is not a Plaid error object (JSON, and valid against the spec's PlaidError)."""
    if answer.status < 400:
        return []
    problems = []
    if not answer.is_json:
        problems.append(f"{answer.describe()}: an error answer must be application/json")
    body = answer.json_object()
    if body is None:
        problems.append(f"{answer.describe()}: the body is not a JSON object, so not a Plaid error")
        return problems
    if _error_validator().is_valid(body):
        return problems
    violations: list[str] = []
    for error in sorted(_error_validator().iter_errors(body), key=lambda e: list(map(str, e.absolute_path))):
        # jsonschema's own messages quote the offending value; only `required` names nothing but a field.
        rule = error.message if error.validator == "required" else f"fails `{error.validator}`"
        violation = f"at {_path(error.absolute_path)}: {rule}"
        if violation not in violations:
            violations.append(violation)
    problems += [f"{answer.describe()}: not a PlaidError: {v}" for v in violations[:6]]
    return problems


def status_problems(answer: Answer) -> list[str]:
    """Whether the HTTP status agrees with error_type and error_code (PLAID_FACTS.md's table, read from
    the spec)."""
    body = answer.json_object()
    if body is None:
        return []
    error_type, error_code = body.get("error_type"), body.get("error_code")
    if not isinstance(error_type, str):
        return []  # the envelope rule reports the missing or mistyped field
    if answer.status < 400:
        return [f"HTTP {answer.status} carries an error object ({error_type}): errors are never a success"]
    table = error_table()
    problems = []
    allowed = table.statuses_by_type.get(error_type)
    if allowed is None:
        # Plaid adds error types without notice: tolerated, but only as an error status.
        if not 400 <= answer.status < 600:
            problems.append(f"HTTP {answer.status} with unknown error_type {error_type}: must be 4xx or 5xx")
    elif answer.status not in allowed:
        problems.append(
            f"HTTP {answer.status} with error_type {error_type}: Plaid sends it with "
            f"{' or '.join(map(str, sorted(allowed)))}"
        )
    if isinstance(error_code, str) and error_code in table.type_by_code:
        expected_type = table.type_by_code[error_code]
        if expected_type != error_type:
            problems.append(
                f"error_code {error_code} belongs to error_type {expected_type}, not {error_type}"
            )
        expected_statuses = table.statuses_by_code[error_code]
        if answer.status not in expected_statuses:
            problems.append(
                f"HTTP {answer.status} with error_code {error_code}: Plaid sends it with "
                f"{' or '.join(map(str, sorted(expected_statuses)))}"
            )
    return problems


def request_id_problems(answer: Answer) -> list[str]:
    """Every Plaid answer, success or error, carries a non-empty request_id string in its JSON body."""
    body = answer.json_object()
    if body is None:
        if answer.status < 400:  # an error answer that is not JSON is the envelope rule's finding
            return [f"{answer.describe()}: the body is not a JSON object, so it has no request_id"]
        return []
    request_id = body.get("request_id")
    if not isinstance(request_id, str) or not request_id.strip():
        state = "missing" if request_id is None else f"not a non-empty string ({type(request_id).__name__})"
        return [f"{answer.describe()}: request_id is {state}"]
    return []


def rejection_problems(answer: Answer, *, expected_code: str | None = None) -> list[str]:
    """An answer to deliberately invalid input: a Plaid input error (INVALID_REQUEST, or INVALID_INPUT for a
    value Plaid can only judge after parsing), never a success, a server error or a bare 4xx."""
    if answer.status < 400:
        if expected_code is not None:  # unambiguous violations (e.g. an unknown field) must be refused
            return [f"{answer.describe()}: invalid input accepted; expected {expected_code}"]
        return []  # built-in `negative_data_rejection` owns the general "invalid input accepted"
    if answer.status >= 500:
        return [
            f"{answer.describe()}: invalid input must be answered 4xx INVALID_REQUEST, not a server error"
        ]
    body = answer.json_object() or {}
    error_type, error_code = body.get("error_type"), body.get("error_code")
    if answer.status == 429 and error_type == "RATE_LIMIT_EXCEEDED":
        return []  # a live server may count even rejected calls
    if error_type not in CLIENT_INPUT_ERROR_TYPES:
        return [
            f"{answer.describe()}: invalid input answered with error_type {error_type!s}; "
            "expected INVALID_REQUEST (or INVALID_INPUT)"
        ]
    if expected_code is not None and error_code != expected_code:
        return [f"{answer.describe()}: expected error_code {expected_code}, got {error_code!s}"]
    return []


def _fail(problems: list[str]) -> None:
    if problems:
        raise AssertionError("\n".join(problems))


# ---- schemathesis checks (registered for the CLI by cli_hooks.py; passed explicitly by the pytest suite)


def plaid_error_envelope(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """Every non-2xx answer is a JSON Plaid error object valid against the spec's PlaidError schema."""
    _fail(error_envelope_problems(Answer.from_schemathesis(response)))
    return None


def plaid_status_matches_error_type(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """The HTTP status is the one Plaid uses for the error_type and error_code."""
    _fail(status_problems(Answer.from_schemathesis(response)))
    return None


def plaid_request_id(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """A non-empty request_id is in every JSON answer."""
    _fail(request_id_problems(Answer.from_schemathesis(response)))
    return None


def echoed_secret_problems(answer: Answer, request_secrets: list[str]) -> list[str]:
    """No answer repeats the secret the request carried (header or body): error messages end up in logs."""
    strings: list[str] | None = None
    for secret in request_secrets:
        if len(secret) < 8:
            continue
        if secret.encode() in answer.content:
            return [f"{answer.describe()}: the answer repeats the request's secret (shown here as redacted)"]
        if strings is None:
            strings = json_strings(answer.content)
        if any(secret in string for string in strings):
            return [
                f"{answer.describe()}: the answer repeats the request's secret inside a JSON string "
                "(\\u-escaped; shown here as redacted)"
            ]
    return []


def _request_secrets(response: Response) -> list[str]:
    request = response.request
    found = [str(v) for k, v in request.headers.items() if str(k).lower() == "plaid-secret"]
    body = request.body
    if isinstance(body, bytes | str):
        with contextlib.suppress(ValueError, UnicodeDecodeError, RecursionError):
            data = json.loads(body)
            if isinstance(data, dict) and isinstance(data.get("secret"), str):
                found.append(data["secret"])
    return found


def plaid_secret_not_echoed(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """The answer never contains the request's PLAID-SECRET (or body `secret`)."""
    _fail(echoed_secret_problems(Answer.from_schemathesis(response), _request_secrets(response)))
    return None


def _where(value: Any) -> str:
    return str(getattr(value, "value", value)).lower()


def _expected_code(case: Case[Any]) -> str | None:
    """The error_code a negative case must get, when exactly one component is invalid and that kind of
    violation has exactly one Plaid code (see EXPECTED_CODE_BY_COVERAGE_SCENARIO / _BY_HEADER)."""
    meta = case.meta
    if meta is None:
        return None
    location = getattr(meta.phase.data, "parameter_location", None)
    if location is None:
        return None
    # Several invalid components (e.g. a bad Plaid-Version and a bad body): the server may name any of them.
    others = [info.mode for where, info in meta.components.items() if _where(where) != _where(location)]
    if any(mode.is_negative for mode in others):
        return None
    if _where(location) == "body":
        return EXPECTED_CODE_BY_COVERAGE_SCENARIO.get(_where(getattr(meta.phase.data, "scenario", "")))
    if _where(location) == "header":
        header = _where(getattr(meta.phase.data, "parameter", ""))
        # Both of these headers are checked by the server: only demand the code of the one that is wrong.
        headers = {str(k).lower(): str(v) for k, v in (case.headers or {}).items()}
        version_ok = headers.get("plaid-version", PLAID_VERSIONS[0]) in PLAID_VERSIONS
        content_type = headers.get("content-type", case.media_type or "")
        json_ok = content_type.split(";", 1)[0].strip().lower() == "application/json"
        if (header == "plaid-version" and json_ok) or (header == "content-type" and version_ok):
            return EXPECTED_CODE_BY_HEADER[header]
    return None


def plaid_negative_input_rejected(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """Negative (schema-invalid) input gets an INVALID_REQUEST-style answer: never a 5xx or a generic 4xx;
    a missing required field is MISSING_FIELDS and an unknown one UNKNOWN_FIELDS."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_negative:
        return True  # not applicable
    _fail(rejection_problems(Answer.from_schemathesis(response), expected_code=_expected_code(case)))
    return None


PLAID_CHECKS: Final = (
    plaid_error_envelope,
    plaid_status_matches_error_type,
    plaid_request_id,
    plaid_negative_input_rejected,
    plaid_secret_not_echoed,
)
