"""An example consumer of the installed distributions: refresh each access token given on the command line.

The consumer test (`make consumer-test`) copies this file into an empty folder, type-checks it with
`mypy --strict` against a clean venv that holds only the built wheels, and runs it against
`plaid-refresh serve`. Credentials and the server come from PLAID_BASE_URL (or PLAID_ENV),
PLAID_CLIENT_ID and PLAID_SECRET.
"""

from __future__ import annotations

import sys

from plaid_refresh_client.models import TransactionsRefreshResponse

from plaid_refresh import (
    ItemLoginRequired,
    PlaidError,
    PlaidErrorResponse,
    PlaidRefreshClient,
    RateLimitError,
    RetryPolicy,
)


def request_id_of(result: TransactionsRefreshResponse) -> str:
    # Under --strict, returning an Any here would be an error: the installed types must be real.
    return result.request_id


def refresh(client: PlaidRefreshClient, access_token: str) -> str:
    """One line saying what the service should do next."""
    try:
        return f"refreshed {request_id_of(client.refresh(access_token))}"
    except ItemLoginRequired as error:
        code: str = error.error_code
        return f"relink needed: {code}"
    except RateLimitError as error:
        return f"slow down: {error.error_code}"
    except PlaidErrorResponse as error:
        return f"plaid said {error.error_type}/{error.error_code}"
    except PlaidError as error:
        return f"failed: {type(error).__name__}"


def main(argv: list[str]) -> int:
    with PlaidRefreshClient.from_env(retries=RetryPolicy(max_attempts=2)) as client:
        for token in argv[1:]:
            print(refresh(client, token), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
