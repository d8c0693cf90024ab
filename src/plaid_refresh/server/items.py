"""Items: what an access token stands for, the built-in sandbox Items, and loading Items from a file.

The Items file is this server's own configuration format (not part of Plaid's API), so its schema
lives here rather than in the OpenAPI spec.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

import attrs
import jsonschema
import yaml
from jsonschema import Draft202012Validator

from plaid_refresh.server.errors import KNOWN_CODES

CAPITAL_ONE: Final = "ins_128026"
TOKEN_PATTERN: Final = re.compile(r"^access-([a-z]+)-([A-Za-z0-9][A-Za-z0-9_-]{0,199})$")

# Plaid's account types and the subtypes this server accepts for each.
ACCOUNT_SUBTYPES: Final[Mapping[str, frozenset[str]]] = {
    "depository": frozenset(
        {"checking", "savings", "money market", "cd", "hsa", "cash management", "prepaid", "paypal", "ebt"}
    ),
    "credit": frozenset({"credit card", "paypal"}),
    "loan": frozenset(
        {
            "auto",
            "business",
            "commercial",
            "construction",
            "consumer",
            "home equity",
            "line of credit",
            "loan",
            "mortgage",
            "overdraft",
            "student",
            "other",
        }
    ),
}
CHANGE_MODES: Final = ("static", "dynamic")


class ItemsFileError(ValueError):
    """A malformed Items file; the message names the file and the problem."""


@attrs.frozen
class Account:
    account_id: str
    type: str
    subtype: str
    name: str = ""


@attrs.frozen
class Knobs:
    """Fault and latency knobs. None means "not set here" (an Item falls back to the global knobs)."""

    latency: float | None = None
    latency_random: bool | None = None
    error_rate: float | None = None
    maintenance_rate: float | None = None


@attrs.frozen(repr=False)
class Item:
    access_token: str
    item_id: str
    institution_id: str
    accounts: tuple[Account, ...]
    products: tuple[str, ...] = ("transactions",)
    webhook: str | None = None
    changes: str = "static"  # "dynamic": each refresh finds changes, like Plaid's user_transactions_dynamic
    error: str | None = None  # a forced error code answered to every refresh
    knobs: Knobs = Knobs()

    def __repr__(self) -> str:  # never the access token
        return f"Item(item_id={self.item_id!r}, institution_id={self.institution_id!r})"

    @property
    def environment(self) -> str:
        match = TOKEN_PATTERN.match(self.access_token)
        return match.group(1) if match else ""

    def to_dict(self) -> dict[str, Any]:
        data = attrs.asdict(self)
        data["knobs"] = {k: v for k, v in data["knobs"].items() if v is not None}
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Item:
        """An Item from an already-validated mapping (Items file entry or database row)."""
        knobs = dict(data.get("knobs") or {})
        for name in ("latency", "latency_random", "error_rate", "maintenance_rate"):
            if name in data:
                knobs[name] = data[name]
        token = str(data["access_token"])
        return cls(
            access_token=token,
            item_id=str(data.get("item_id") or _default_item_id(token)),
            institution_id=str(data.get("institution_id", "ins_109508")),
            accounts=tuple(
                Account(
                    account_id=str(a.get("account_id") or f"{_default_item_id(token)}-acct-{i}"),
                    type=str(a["type"]),
                    subtype=str(a["subtype"]),
                    name=str(a.get("name", "")),
                )
                for i, a in enumerate(data.get("accounts") or [{"type": "depository", "subtype": "checking"}])
            ),
            products=tuple(str(p) for p in data.get("products", ("transactions",))),
            webhook=data.get("webhook"),
            changes=str(data.get("changes", "static")),
            error=data.get("error"),
            knobs=Knobs(**knobs),
        )


def _default_item_id(token: str) -> str:
    return "item-" + token.split("-", 2)[-1]


def _accounts(*specs: tuple[str, str, str]) -> tuple[Account, ...]:
    return tuple(Account(account_id=aid, type=t, subtype=s, name=s.title()) for aid, t, s in specs)


# Built-in sandbox tokens. Readable on purpose: they are documented in docs/server.md and used by the
# contract tests of other parts of this project.
TOKEN_HEALTHY: Final = "access-sandbox-healthy"  # noqa: S105
TOKEN_USER_GOOD: Final = "access-sandbox-user-good"  # noqa: S105
TOKEN_TRANSACTIONS_DYNAMIC: Final = "access-sandbox-user-transactions-dynamic"  # noqa: S105
TOKEN_CAPITAL_ONE_CREDIT: Final = "access-sandbox-capital-one-credit"  # noqa: S105
TOKEN_NO_TRANSACTIONS: Final = "access-sandbox-no-transactions"  # noqa: S105
TOKEN_ITEM_LOGIN_REQUIRED: Final = "access-sandbox-item-login-required"  # noqa: S105
TOKEN_INSTITUTION_DOWN: Final = "access-sandbox-institution-down"  # noqa: S105

_CHECKING_SAVINGS = _accounts(
    ("acc-checking", "depository", "checking"), ("acc-savings", "depository", "savings")
)


def builtin_items(environment: str = "sandbox") -> tuple[Item, ...]:
    """The built-in Items. Their tokens carry `sandbox`; under another environment they are renamed
    `access-<environment>-...` so each server has a working set of its own."""
    items = (
        Item(
            TOKEN_HEALTHY,
            "item-healthy",
            "ins_109508",
            (*_CHECKING_SAVINGS, Account("acc-card", "credit", "credit card", "Credit Card")),
        ),
        Item(TOKEN_USER_GOOD, "item-user-good", "ins_109508", _CHECKING_SAVINGS),
        Item(
            TOKEN_TRANSACTIONS_DYNAMIC,
            "item-user-transactions-dynamic",
            "ins_109508",
            _CHECKING_SAVINGS,
            changes="dynamic",
        ),
        Item(
            TOKEN_CAPITAL_ONE_CREDIT,
            "item-capital-one-credit",
            CAPITAL_ONE,
            _accounts(("acc-card", "credit", "credit card"), ("acc-auto", "loan", "auto")),
        ),
        Item(
            TOKEN_NO_TRANSACTIONS,
            "item-no-transactions",
            "ins_109508",
            _CHECKING_SAVINGS,
            products=("auth", "identity"),
        ),
        Item(
            TOKEN_ITEM_LOGIN_REQUIRED,
            "item-login-required",
            "ins_109508",
            _CHECKING_SAVINGS,
            error="ITEM_LOGIN_REQUIRED",
        ),
        Item(
            TOKEN_INSTITUTION_DOWN,
            "item-institution-down",
            "ins_109511",
            _CHECKING_SAVINGS,
            error="INSTITUTION_DOWN",
        ),
    )
    if environment == "sandbox":
        return items
    return tuple(
        attrs.evolve(
            item, access_token=item.access_token.replace("access-sandbox-", f"access-{environment}-", 1)
        )
        for item in items
    )


_RATE = {"type": "number", "minimum": 0, "maximum": 1}
_ITEMS_FILE_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["items"],
    "properties": {
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["access_token"],
                "properties": {
                    "access_token": {"type": "string", "pattern": TOKEN_PATTERN.pattern},
                    "item_id": {"type": "string", "minLength": 1, "maxLength": 256},
                    "institution_id": {"type": "string", "minLength": 1, "maxLength": 64},
                    "accounts": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["type", "subtype"],
                            "properties": {
                                "account_id": {"type": "string", "minLength": 1},
                                "type": {"enum": sorted(ACCOUNT_SUBTYPES)},
                                "subtype": {"type": "string"},
                                "name": {"type": "string"},
                            },
                        },
                    },
                    "products": {"type": "array", "items": {"type": "string"}},
                    "webhook": {"type": ["string", "null"], "pattern": "^https?://"},
                    "changes": {"enum": list(CHANGE_MODES)},
                    "error": {"type": ["string", "null"]},
                    "latency": {"type": "number", "minimum": 0, "maximum": 600},
                    "latency_random": {"type": "boolean"},
                    "error_rate": _RATE,
                    "maintenance_rate": _RATE,
                },
            },
        }
    },
}
_ITEMS_FILE_VALIDATOR = Draft202012Validator(_ITEMS_FILE_SCHEMA)


def _where(error: jsonschema.ValidationError) -> str:
    return (
        "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
        or "top level"
    )


# jsonschema's messages quote the offending value; an Items file error stays one short line.
MAX_MESSAGE_CHARS: Final = 300
_KNOB_NUMBERS: Final = ("latency", "error_rate", "maintenance_rate")


def parse_items(data: Any, source: str) -> tuple[Item, ...]:
    """Items from parsed YAML/JSON; every problem raises ItemsFileError naming `source`."""
    if _too_deep(data, MAX_ITEMS_DEPTH):  # jsonschema's messages repr() the value: that recurses too
        raise ItemsFileError(f"{source}: nested more than {MAX_ITEMS_DEPTH} levels deep")
    errors = sorted(_ITEMS_FILE_VALIDATOR.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        first = errors[0]
        message = first.message
        if len(message) > MAX_MESSAGE_CHARS:
            message = message[:MAX_MESSAGE_CHARS] + "..."
        if first.validator == "pattern" and "access_token" in first.absolute_path:
            message = "access_token must look like access-<environment>-<id> (letters, digits, - and _)"
        raise ItemsFileError(f"{source}: {_where(first)}: {message}")
    items: list[Item] = []
    for index, entry in enumerate(data["items"]):
        for knob in _KNOB_NUMBERS:
            value = entry.get(knob)
            if isinstance(value, float) and not math.isfinite(value):  # the schema's bounds let NaN through
                raise ItemsFileError(f"{source}: items[{index}].{knob}: must be a finite number, got {value}")
        item = Item.from_dict(entry)
        for account in item.accounts:
            if account.subtype not in ACCOUNT_SUBTYPES[account.type]:
                allowed = ", ".join(sorted(ACCOUNT_SUBTYPES[account.type]))
                raise ItemsFileError(
                    f"{source}: items[{index}].accounts: subtype {account.subtype!r} is not a {account.type} "
                    f"subtype (one of: {allowed})"
                )
        if item.error is not None and item.error not in KNOWN_CODES:
            raise ItemsFileError(f"{source}: items[{index}].error: unknown error code {item.error!r}")
        items.append(item)
    _check_unique(items, source)
    return tuple(items)


def _check_unique(items: Iterable[Item], source: str) -> None:
    tokens: set[str] = set()
    ids: set[str] = set()
    for index, item in enumerate(items):
        if item.access_token in tokens:
            raise ItemsFileError(f"{source}: items[{index}]: access_token appears twice")
        if item.item_id in ids:
            raise ItemsFileError(f"{source}: items[{index}]: item_id {item.item_id!r} appears twice")
        tokens.add(item.access_token)
        ids.add(item.item_id)


# An Items file is a few KB; these bounds keep a hostile one from exhausting memory or the stack.
MAX_ITEMS_FILE_BYTES: Final = 16 * 1024 * 1024
MAX_ITEMS_DEPTH: Final = 32  # the schema needs 4 levels (items / entry / accounts / account)


def _too_deep(data: Any, limit: int) -> bool:
    """Whether `data` nests containers more than `limit` deep (iterative: no recursion to exhaust)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Iterable[Any] = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def load_items_file(path: Path) -> tuple[Item, ...]:
    """Items from a YAML or JSON file (JSON is YAML; .json files are parsed strictly as JSON)."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_ITEMS_FILE_BYTES + 1)
        if len(raw) > MAX_ITEMS_FILE_BYTES:
            raise ItemsFileError(
                f"{path}: the Items file is larger than {MAX_ITEMS_FILE_BYTES // (1024 * 1024)} MiB"
            )
        text = raw.decode("utf-8")
    except OSError as exc:
        raise ItemsFileError(f"{path}: cannot read the Items file: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ItemsFileError(f"{path}: the Items file is not valid UTF-8") from None
    except MemoryError:
        raise ItemsFileError(f"{path}: not enough memory to read the Items file") from None
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
        else:
            data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except _DuplicateKeyError as exc:
        raise ItemsFileError(f"{path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ItemsFileError(
            f"{path}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise ItemsFileError(f"{path}: not valid YAML: {str(problem)[:MAX_MESSAGE_CHARS]}{where}") from None
    except RecursionError:  # both parsers recurse once per level: thousands of [[[... exhaust the stack
        raise ItemsFileError(f"{path}: nested more than {MAX_ITEMS_DEPTH} levels deep") from None
    except MemoryError:
        raise ItemsFileError(f"{path}: not enough memory to parse the Items file") from None
    return parse_items(data, str(path))


class _DuplicateKeyError(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(
                f"key {key[:64]!r} appears twice in one object (the first would be lost)"
            )
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise _DuplicateKeyError(f"{name} is not a JSON number")


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (PyYAML keeps the last silently) and aliases (an alias bomb
    of a few hundred bytes expands to millions of nodes; an Items file has no need of them)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "YAML aliases (*name) are not allowed in an Items file", event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                mark = key_node.start_mark
                raise _DuplicateKeyError(
                    f"not valid YAML: key {str(key)[:64]!r} appears twice in one mapping "
                    f"(the first would be lost) at line {mark.line + 1}, column {mark.column + 1}"
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)
