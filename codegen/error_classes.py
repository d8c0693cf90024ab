"""The per-type and per-code exception classes of `plaid_refresh`, read from the spec.

The spec is the only list of error codes: `KnownErrorType` and `KnownErrorCode` name them, and each
code's named example (under the error response that carries it) gives its `error_type`. This module
turns that into `src/plaid_refresh/client/error_classes.py` (template:
`openapi/templates/error_classes.py.jinja`).
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from codegen.spec_source import Spec, SpecProblem

TEMPLATE = Path(__file__).resolve().parent.parent / "openapi" / "templates" / "error_classes.py.jinja"

# Type classes whose public names predate this generator and do not follow the rule below.
TYPE_CLASS_NAMES = {"RATE_LIMIT_EXCEEDED": "RateLimitError", "OAUTH_ERROR": "OAuthError"}

# Names the hand-written part of plaid_refresh already uses: a code or type must not shadow them.
RESERVED_NAMES = frozenset(
    {
        "PlaidError",
        "PlaidErrorResponse",
        "PlaidArgumentError",
        "PlaidConfigurationError",
        "PlaidTransportError",
        "PlaidTimeout",
        "PlaidConnectionError",
        "PlaidTruncatedResponse",
        "PlaidProtocolError",
        "PlaidNonJsonResponse",
        "PlaidUnexpectedStatus",
        "PlaidMalformedResponse",
        "PlaidRefreshClient",
        "AsyncPlaidRefreshClient",
        "ClientOptions",
        "Credentials",
        "RetryPolicy",
        "Secret",
        "ERROR_CLASS_BY_CODE",
        "ERROR_CLASS_BY_TYPE",
        "error_class_for",
    }
)


@dataclass(frozen=True)
class ErrorType:
    value: str
    class_name: str


@dataclass(frozen=True)
class ErrorCode:
    value: str
    class_name: str
    type_class_name: str
    error_type: str
    status: int
    documentation_url: str | None


def camel(value: str) -> str:
    return "".join(part.capitalize() for part in value.lower().split("_") if part)


def type_class_name(value: str) -> str:
    if value in TYPE_CLASS_NAMES:
        return TYPE_CLASS_NAMES[value]
    name = camel(value)
    return name if name.endswith("Error") else f"{name}Error"


def _enum(spec: Spec, name: str) -> list[str]:
    path = ("components", "schemas", name, "enum")
    values = spec.get(path)
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        problem = f"components.schemas.{name}.enum must be a list of strings"
        raise SpecProblem(spec.path, spec.line_of(path[:-1]), problem)
    return values


def _error_examples(spec: Spec) -> list[tuple[int, str, dict[str, Any], tuple[str | int, ...]]]:
    """(status, example name, value, location) of every named example of an error response (4xx/5xx)."""
    found: list[tuple[int, str, dict[str, Any], tuple[str | int, ...]]] = []
    paths = spec.get(("paths",)) or {}
    for route, path_item in paths.items():
        if not isinstance(path_item, dict):
            continue
        for method, operation in path_item.items():
            if not isinstance(operation, dict):
                continue
            for status, response in (operation.get("responses") or {}).items():
                if not str(status).isdigit() or int(status) < 400:
                    continue
                where: tuple[str | int, ...] = ("paths", route, method, "responses", status)
                response, where = spec.follow(response, where)
                media = ((response.get("content") or {}).get("application/json")) or {}
                for name, example in (media.get("examples") or {}).items():
                    ex_where = (*where, "content", "application/json", "examples", name)
                    example, ex_where = spec.follow(example, ex_where)
                    value = example.get("value")
                    if isinstance(value, dict) and "error_code" in value:
                        found.append((int(status), str(name), value, (*ex_where, "value")))
    return found


def read_error_classes(spec: Spec) -> tuple[list[ErrorType], list[ErrorCode]]:
    """The classes to generate, or a SpecProblem naming the line that makes them ambiguous."""
    type_values = _enum(spec, "KnownErrorType")
    code_values = _enum(spec, "KnownErrorCode")
    types = [ErrorType(v, type_class_name(v)) for v in type_values]
    type_names = {t.value: t.class_name for t in types}

    examples: dict[str, tuple[int, dict[str, Any], tuple[str | int, ...]]] = {}
    for status, _name, body, where in _error_examples(spec):
        code, error_type = body.get("error_code"), body.get("error_type")
        line = spec.line_of((*where, "error_code"))
        if code not in code_values:
            raise SpecProblem(
                spec.path,
                line,
                f"example error_code {code!r} is not in components.schemas.KnownErrorCode.enum: add it there "
                "(the enum is the list the exception classes are generated from)",
            )
        if error_type not in type_names:
            problem = f"example error_type {error_type!r} is not in components.schemas.KnownErrorType.enum"
            raise SpecProblem(spec.path, line, problem)
        if code in examples and examples[code][1].get("error_type") != error_type:
            raise SpecProblem(
                spec.path,
                line,
                f"error_code {code} has error_type {error_type} here but "
                f"{examples[code][1].get('error_type')} at line {spec.line_of(examples[code][2])}",
            )
        examples.setdefault(str(code), (status, body, where))

    codes: list[ErrorCode] = []
    for value in code_values:
        if value not in examples:
            raise SpecProblem(
                spec.path,
                spec.line_of(("components", "schemas", "KnownErrorCode", "enum")),
                f"KnownErrorCode {value} has no example under an error response: add one named {value} "
                "(its error_type decides the exception class's parent)",
            )
        status, example, _where = examples[value]
        url = example.get("documentation_url")
        codes.append(
            ErrorCode(
                value=value,
                class_name=camel(value),
                type_class_name=type_names[str(example["error_type"])],
                error_type=str(example["error_type"]),
                status=status,
                documentation_url=url if isinstance(url, str) else None,
            )
        )
    _check_names(spec, types, codes)
    return types, codes


def _check_names(spec: Spec, types: list[ErrorType], codes: list[ErrorCode]) -> None:
    seen: dict[str, str] = {}
    for value, name, enum in [(t.value, t.class_name, "KnownErrorType") for t in types] + [
        (c.value, c.class_name, "KnownErrorCode") for c in codes
    ]:
        line = spec.line_of(("components", "schemas", enum, "enum"))
        if not name.isidentifier() or keyword.iskeyword(name):
            problem = f"{enum} {value!r} gives no valid Python class name ({name!r})"
            raise SpecProblem(spec.path, line, problem)
        if name in RESERVED_NAMES:
            raise SpecProblem(spec.path, line, f"{enum} {value} would shadow plaid_refresh.{name}")
        if name in seen:
            problem = f"{enum} {value} and {seen[name]} both give the class name {name}"
            raise SpecProblem(spec.path, line, problem)
        seen[name] = value


def render(spec: Spec) -> str:
    types, codes = read_error_classes(spec)
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE.parent),
        autoescape=False,  # noqa: S701 - renders Python source, not HTML
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    template = environment.get_template(TEMPLATE.name)
    spec_name = spec.display_name
    exported = sorted([t.class_name for t in types] + [c.class_name for c in codes])
    return template.render(types=types, codes=codes, exported=exported, spec_name=spec_name)
