"""Hooks for `schemathesis run` (contract_tests/schemathesis-cli.toml loads this module with `hooks = ...`).

The CLI gets the same map_case hook and the same Plaid checks as the pytest suite. The target's credentials
and working access token come from the environment, as for the pytest suite's live targets:
PLAID_CLIENT_ID, PLAID_SECRET, PLAID_ACCESS_TOKEN (and PLAID_WEBHOOK_KEY_ID, optional). Against the local
reference server (`make serve`), use its documented defaults (docs/server.md).
"""

from __future__ import annotations

import os

import schemathesis

from contract_tests.server.plaid_checks import PLAID_CHECKS
from contract_tests.server.schema import make_bad_keys_check, make_before_add_examples, make_map_case
from contract_tests.server.target import LIVE_REQUIRED_ENV

_missing = [name for name in LIVE_REQUIRED_ENV if not os.environ.get(name, "").strip()]
if _missing:
    raise SystemExit(
        f"contract_tests.server.cli_hooks: set {', '.join(_missing)} in the environment "
        "(the target's credentials and an access token that refreshes successfully)"
    )

_values = {"access_token": os.environ["PLAID_ACCESS_TOKEN"].strip()}
if os.environ.get("PLAID_WEBHOOK_KEY_ID", "").strip():
    _values["key_id"] = os.environ["PLAID_WEBHOOK_KEY_ID"].strip()
_headers = {
    "PLAID-CLIENT-ID": os.environ["PLAID_CLIENT_ID"].strip(),
    "PLAID-SECRET": os.environ["PLAID_SECRET"].strip(),
}

schemathesis.hook("map_case")(make_map_case(_values))
schemathesis.hook("before_add_examples")(make_before_add_examples(_values))
for _check in (*PLAID_CHECKS, make_bad_keys_check(_headers)):
    schemathesis.check(_check)
