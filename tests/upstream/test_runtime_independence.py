"""plaid-python is Plaid's contract for the tests only: the toolkit never imports it at run time."""

from __future__ import annotations

import subprocess
import sys

from tests.client.helpers import CLIENT_ID, SECRET
from tests.spec_loader import ROOT


def test_the_toolkit_runs_without_plaid_python() -> None:
    code = (
        "import sys\n"
        "import plaid_refresh, plaid_refresh.client.core, plaid_refresh.webhooks.verification\n"
        "import plaid_refresh.server.app, examples.webhook_receiver\n"
        "from plaid_refresh import PlaidRefreshClient\n"
        f"PlaidRefreshClient.sandbox(client_id={CLIENT_ID!r}, secret={SECRET!r}).close()\n"
        "loaded = sorted(m for m in sys.modules if m == 'plaid' or m.startswith('plaid.'))\n"
        "assert not loaded, loaded\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
