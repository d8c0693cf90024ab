"""Imported first by plaid_refresh.server: names the [server] extra when its dependencies are missing."""

from plaid_refresh.extras import require

require("server", "plaid_refresh.server (the reference server)")
