"""`make upstream-check UPSTREAM=path/to/2020-09-14.yml`: this spec against Plaid's own description.

Download Plaid's official OpenAPI file yourself (github.com/plaid/plaid-openapi, `2020-09-14.yml`); nothing
of Plaid's is kept in this repository. The check lists every constraint this spec adds on the messages
Plaid sends (the refresh answer, the error object, the three webhooks, the webhook verification key),
and every constraint Plaid's description puts on a request that this spec lets the client send. It
fails on any that is not in the allow-list (contract_tests/upstream/allowlist.yaml) with a reason.

Exit status: 0 every constraint is allowed; 1 some are not; 2 the files cannot be read or compared.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import yaml

from contract_tests.upstream.compare import Constraint, Document, added_constraints

HERE = Path(__file__).resolve().parent
DEFAULT_SPEC = HERE.parents[1] / "openapi" / "transactions-refresh.yaml"
DEFAULT_ALLOW_LIST = HERE / "allowlist.yaml"

# This spec's schema -> Plaid's schema of the same message (the names of 2020-09-14.yml).
RECEIVED = {
    "TransactionsRefreshResponse": "TransactionsRefreshResponse",
    "PlaidError": "PlaidError",
    "SyncUpdatesAvailableWebhook": "SyncUpdatesAvailableWebhook",
    "DefaultUpdateWebhook": "DefaultUpdateWebhook",
    "TransactionsRemovedWebhook": "TransactionsRemovedWebhook",
    "WebhookVerificationKeyGetResponse": "WebhookVerificationKeyGetResponse",
}
SENT = {
    "TransactionsRefreshRequest": "TransactionsRefreshRequest",
    "WebhookVerificationKeyGetRequest": "WebhookVerificationKeyGetRequest",
}


class CheckError(Exception):
    """A file cannot be read or does not hold what the check needs."""


@attrs.frozen
class Report:
    received: list[Constraint]  # constraints this spec adds on what Plaid sends
    sent: list[Constraint]  # constraints Plaid puts on requests that this spec does not
    allowed: dict[str, str]  # key -> reason
    stale: list[str]  # allow-list entries that matched nothing

    @property
    def refused(self) -> list[Constraint]:
        return [c for c in (*self.received, *self.sent) if c.key not in self.allowed]


def load_yaml(path: Path, what: str) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CheckError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        content = yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise CheckError(f"{path}{where}: {what} is not valid YAML or JSON") from None
    if not isinstance(content, dict):
        raise CheckError(f"{path}: {what} is not a mapping")
    return content


def load_allow_list(path: Path) -> dict[str, str]:
    content = load_yaml(path, "the allow-list")
    entries = content.get("allowed")
    if not isinstance(entries, list):
        raise CheckError(f"{path}: the allow-list needs an `allowed:` list")
    allowed: dict[str, str] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("constraint"), str):
            raise CheckError(f"{path}: allowed[{index}] needs a `constraint:` string")
        reason = entry.get("reason")
        if not isinstance(reason, str) or len(reason.split()) < 4:
            raise CheckError(
                f"{path}: allowed[{index}] ({entry['constraint']}) needs a `reason:` that explains it"
            )
        allowed[entry["constraint"]] = reason
    return allowed


def _documents(
    spec: dict[str, Any], upstream: dict[str, Any], upstream_path: Path
) -> tuple[Document, Document]:
    ours, theirs = Document(spec), Document(upstream)
    if not str(upstream.get("openapi", "")).startswith("3."):
        raise CheckError(f"{upstream_path}: not an OpenAPI 3 document (no `openapi: 3.x` field)")
    missing = [name for name in (*RECEIVED.values(), *SENT.values()) if theirs.schema(name) is None]
    if missing:
        raise CheckError(
            f"{upstream_path}: no components.schemas {', '.join(missing)}: is this Plaid's 2020-09-14.yml?"
        )
    return ours, theirs


def run(spec_path: Path, upstream_path: Path, allow_list_path: Path) -> Report:
    spec = load_yaml(spec_path, "the spec")
    upstream = load_yaml(upstream_path, "Plaid's description")
    allowed = load_allow_list(allow_list_path)
    ours, theirs = _documents(spec, upstream, upstream_path)
    try:
        received = _unique(added_constraints(ours, mine, theirs, plaid) for mine, plaid in RECEIVED.items())
        # Requests: what Plaid's description forbids that this spec lets the client send.
        sent = _unique(added_constraints(theirs, plaid, ours, mine) for mine, plaid in SENT.items())
    except ValueError as exc:
        raise CheckError(f"cannot compare: {exc}") from None
    sent = [attrs.evolve(c, where=f"request {c.where}") for c in sent]
    found = {c.key for c in (*received, *sent)}
    return Report(received, sent, allowed, sorted(set(allowed) - found))


def _unique(groups: Any) -> list[Constraint]:
    unique: dict[str, Constraint] = {}
    for group in groups:
        for constraint in group:
            unique.setdefault(constraint.key, constraint)
    return sorted(unique.values(), key=lambda c: c.key)


def render(report: Report) -> str:
    lines = [f"constraints this spec adds on what Plaid sends: {len(report.received)}"]
    for constraint in report.received:
        status = "allowed" if constraint.key in report.allowed else "NOT ALLOWED"
        lines.append(f"  [{status}] {constraint}")
        if constraint.key in report.allowed:
            lines.append(f"      reason: {report.allowed[constraint.key]}")
    lines.append(
        f"constraints Plaid puts on requests that this spec lets the client send: {len(report.sent)}"
    )
    for constraint in report.sent:
        status = "allowed" if constraint.key in report.allowed else "NOT ALLOWED"
        lines.append(f"  [{status}] {constraint}")
    for key in report.stale:
        lines.append(f"note: allow-list entry {key!r} matches nothing any more; remove it")
    refused = report.refused
    if refused:
        lines.append(
            f"FAIL: {len(refused)} constraint(s) not in the allow-list. Remove each from the spec (receive "
            "liberally), or add it to contract_tests/upstream/allowlist.yaml with its reason:"
        )
        lines.extend(f"  - constraint: {c.key!r}" for c in refused)
    else:
        lines.append("OK: every constraint is in the allow-list with a reason")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make upstream-check UPSTREAM=path/to/2020-09-14.yml",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--upstream", required=True, type=Path, help="Plaid's OpenAPI file (downloaded by you)"
    )
    parser.add_argument(
        "--spec", type=Path, default=DEFAULT_SPEC, help="this project's spec (default: %(default)s)"
    )
    parser.add_argument(
        "--allow-list",
        type=Path,
        default=DEFAULT_ALLOW_LIST,
        help="constraints kept on purpose (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    print(f"==> comparing {args.spec} with {args.upstream} (allow-list {args.allow_list})", flush=True)
    try:
        report = run(args.spec, args.upstream, args.allow_list)
    except CheckError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 2
    print(render(report))
    return 1 if report.refused else 0


if __name__ == "__main__":
    sys.exit(main())
