"""The spec is valid OpenAPI 3.1, faithful to Plaid's documented facts, and its examples are valid."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from plaid_refresh.spec import standalone_schema
from tests.spec_loader import SPEC_PATH, load_spec, resolve

REFRESH = "/transactions/refresh"

# The error table of shared/PLAID_FACTS.md: HTTP status -> (error_type, error_code) this endpoint can return.
ERROR_TABLE: dict[str, set[tuple[str, str]]] = {
    "400": {
        *(
            ("INVALID_REQUEST", code)
            for code in (
                "MISSING_FIELDS",
                "UNKNOWN_FIELDS",
                "INVALID_FIELD",
                "INVALID_BODY",
                "INVALID_HEADERS",
                "INCOMPATIBLE_API_VERSION",
            )
        ),
        *(
            ("INVALID_INPUT", code)
            for code in (
                "INVALID_API_KEYS",
                "INVALID_ACCESS_TOKEN",
                "UNAUTHORIZED_ENVIRONMENT",
                "UNAUTHORIZED_ROUTE_ACCESS",
            )
        ),
        *(
            ("ITEM_ERROR", code)
            for code in (
                "ITEM_LOGIN_REQUIRED",
                "PRODUCTS_NOT_SUPPORTED",
                "PRODUCT_NOT_ENABLED",
                "PRODUCT_NOT_READY",
                "ITEM_NOT_FOUND",
                "ITEM_LOCKED",
                "ACCESS_NOT_GRANTED",
            )
        ),
        *(
            ("INSTITUTION_ERROR", code)
            for code in ("INSTITUTION_DOWN", "INSTITUTION_NOT_RESPONDING", "INSTITUTION_NOT_AVAILABLE")
        ),
    },
    "404": {("INVALID_REQUEST", "NOT_FOUND")},
    "429": {
        ("RATE_LIMIT_EXCEEDED", "TRANSACTIONS_REFRESH_LIMIT"),
        ("RATE_LIMIT_EXCEEDED", "INSTITUTION_RATE_LIMIT"),
    },
    "500": {("API_ERROR", "INTERNAL_SERVER_ERROR")},
    "503": {("API_ERROR", "PLANNED_MAINTENANCE")},
}


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(standalone_schema(schema))


def _examples() -> Iterator[tuple[str, dict[str, Any], Any]]:
    """Every example in the spec: (where, schema, value)."""
    spec = load_spec()
    operations = [(f"paths.{p}", item["post"]) for p, item in spec["paths"].items()]
    operations += [(f"webhooks.{name}", item["post"]) for name, item in spec["webhooks"].items()]
    for where, operation in operations:
        media_types = [("requestBody", resolve(operation["requestBody"])["content"])]
        for status, response in operation["responses"].items():
            media_types.append((f"responses.{status}", resolve(response).get("content", {})))
        for label, content in media_types:
            for media in content.values():
                for name, example in media.get("examples", {}).items():
                    yield f"{where}.{label}.{name}", media["schema"], example["value"]
    for name, schema in spec["components"]["schemas"].items():
        for index, value in enumerate(schema.get("examples", [])):
            yield f"components.schemas.{name}[{index}]", schema, value


def test_spec_is_valid_openapi_3_1() -> None:
    validate(load_spec(), base_uri=SPEC_PATH.as_uri())
    assert load_spec()["openapi"].startswith("3.1")


EXAMPLES = list(_examples())


def test_spec_has_examples() -> None:
    # 1 request example per operation + error examples; guards against the walker silently finding nothing.
    assert len(EXAMPLES) >= 30


@pytest.mark.parametrize(("where", "schema", "value"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_every_example_validates_against_its_schema(where: str, schema: dict[str, Any], value: Any) -> None:
    errors = sorted(_validator(schema).iter_errors(value), key=str)
    assert not errors, f"{where}: " + "; ".join(e.message for e in errors)


def test_example_validation_can_fail() -> None:
    schema = {"$ref": "#/components/schemas/TransactionsRefreshRequest"}
    assert not _validator(schema).is_valid({"access_token": "a", "count": 1})
    assert not _validator({"$ref": "#/components/schemas/PlaidError"}).is_valid({"error_type": "X"})


@pytest.mark.parametrize("status", sorted(ERROR_TABLE))
def test_every_error_row_has_a_named_example_under_its_status(status: str) -> None:
    response = resolve(load_spec()["paths"][REFRESH]["post"]["responses"][status])
    media = response["content"]["application/json"]
    assert media["schema"] == {"$ref": "#/components/schemas/PlaidError"}
    found = {(e["value"]["error_type"], e["value"]["error_code"]) for e in media["examples"].values()}
    assert ERROR_TABLE[status] <= found, f"missing examples: {ERROR_TABLE[status] - found}"
    for name, example in media["examples"].items():
        assert name == example["value"]["error_code"], "examples are named after their error_code"


def test_error_type_and_code_accept_unknown_values() -> None:
    validator = _validator({"$ref": "#/components/schemas/PlaidError"})
    body = {
        "error_type": "BRAND_NEW_TYPE",
        "error_code": "BRAND_NEW_CODE",
        "error_message": "m",
        "display_message": None,
        "new_field": {"nested": True},
    }
    assert validator.is_valid(body)


def test_servers_credentials_and_headers() -> None:
    spec = load_spec()
    assert {s["url"] for s in spec["servers"]} == {
        "https://sandbox.plaid.com",
        "https://production.plaid.com",
    }
    schemes = spec["components"]["securitySchemes"]
    assert {(s["type"], s["in"], s["name"]) for s in schemes.values()} == {
        ("apiKey", "header", "PLAID-CLIENT-ID"),
        ("apiKey", "header", "PLAID-SECRET"),
    }
    assert spec["security"] == [{"clientId": [], "secret": []}]
    operation = spec["paths"][REFRESH]["post"]
    version = resolve(operation["parameters"][0])
    assert (version["name"], version["in"], version["required"]) == ("Plaid-Version", "header", False)
    # The current version first (the one the client sends), then the earlier ones Plaid still accepts.
    assert resolve(version["schema"])["enum"] == ["2020-09-14", "2019-05-29", "2018-05-22", "2017-03-08"]
    assert list(operation["requestBody"]["content"]) == ["application/json"]


def test_request_body_fields() -> None:
    schema = load_spec()["components"]["schemas"]["TransactionsRefreshRequest"]
    assert schema["required"] == ["access_token"]
    assert set(schema["properties"]) == {"access_token", "client_id", "secret"}
    assert schema["additionalProperties"] is False
    response = load_spec()["components"]["schemas"]["TransactionsRefreshResponse"]
    assert response["required"] == ["request_id"]
    assert response["additionalProperties"] is True


def test_three_webhooks_with_verification_header() -> None:
    webhooks = load_spec()["webhooks"]
    codes = set()
    for item in webhooks.values():
        operation = item["post"]
        header = resolve(operation["parameters"][0])
        assert (header["name"], header["in"], header["required"]) == ("Plaid-Verification", "header", True)
        schema = resolve(operation["requestBody"]["content"]["application/json"]["schema"])
        codes.update(schema["properties"]["webhook_code"]["enum"])
    assert codes == {"SYNC_UPDATES_AVAILABLE", "DEFAULT_UPDATE", "TRANSACTIONS_REMOVED"}


@pytest.mark.parametrize(
    "fact",
    ["30 seconds or more", "ins_128026", "Transactions product", "2 calls per Item per minute", "add-on"],
)
def test_description_carries_what_a_caller_must_know(fact: str) -> None:
    assert fact in load_spec()["paths"][REFRESH]["post"]["description"]


# Schemas that judge what Plaid sends. Plaid states no bound on any of them (shared/PLAID_FACTS.md).
RECEIVED = [
    "TransactionsRefreshResponse",
    "WebhookVerificationKeyGetResponse",
    "JWKPublicKey",
    "PlaidError",
    "SyncUpdatesAvailableWebhook",
    "DefaultUpdateWebhook",
    "TransactionsRemovedWebhook",
]
BOUNDS = {"maxLength", "minLength", "maxItems", "minItems", "maximum", "minimum", "pattern", "maxProperties"}


def _bounds(schema: Any, where: str, seen: set[str]) -> Iterator[str]:
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref not in seen:
            seen.add(ref)
            yield from _bounds(resolve(schema), ref, seen)
        for key, value in schema.items():
            if key in BOUNDS:
                yield f"{where}: {key}"
            elif key not in ("examples", "description"):
                yield from _bounds(value, f"{where}/{key}", seen)
    elif isinstance(schema, list):
        for index, item in enumerate(schema):
            yield from _bounds(item, f"{where}/{index}", seen)


@pytest.mark.parametrize("name", RECEIVED)
def test_received_schemas_carry_no_bound(name: str) -> None:
    found = list(_bounds({"$ref": f"#/components/schemas/{name}"}, name, set()))
    assert not found, found


def test_request_schemas_keep_their_bounds() -> None:
    # Send strictly: what our client sends and our server accepts stays bounded.
    found = list(_bounds({"$ref": "#/components/schemas/TransactionsRefreshRequest"}, "request", set()))
    assert len(found) == 3, found


def test_every_operation_has_a_default_plaid_error() -> None:
    for path, item in load_spec()["paths"].items():
        default = resolve(item["post"]["responses"]["default"])["content"]["application/json"]
        assert default["schema"] == {"$ref": "#/components/schemas/PlaidError"}, path


def test_webhooks_accept_what_plaid_may_send() -> None:
    schemas = load_spec()["components"]["schemas"]
    body = {"webhook_type": "TRANSACTIONS", "item_id": "i", "environment": "sandbox"}
    default_update = {**body, "webhook_code": "DEFAULT_UPDATE", "new_transactions": 2_500_000.5}
    removed = {**body, "webhook_code": "TRANSACTIONS_REMOVED", "removed_transactions": ["t" * 300] * 10_001}
    # No error key, an unbounded count, more than 10,000 long ids.
    assert _validator(schemas["DefaultUpdateWebhook"]).is_valid(default_update)
    assert _validator(schemas["TransactionsRemovedWebhook"]).is_valid(removed)
