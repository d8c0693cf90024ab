"""Which extra each optional part of `plaid_refresh` needs, and one clear error when it is not installed.

A plain install is the runtime client only (docs/publishing.md): importing `plaid_refresh.server` or
`plaid_refresh.webhooks` without their extra says which extra to install instead of failing deep inside an
import with `No module named 'orjson'`.
"""

from __future__ import annotations

import importlib.util

DISTRIBUTION = "unofficial-plaid-refresh"
MODULES_BY_EXTRA: dict[str, tuple[str, ...]] = {
    "webhooks": ("jwt", "cryptography"),
    "server": ("uvicorn", "httptools", "uvloop", "orjson", "jwt", "cryptography"),
}


class MissingExtra(ImportError):
    """A part of plaid_refresh was imported without the extra that installs its dependencies."""


def require(extra: str, part: str) -> None:
    """Raise MissingExtra naming the extra when one of its modules cannot be found."""
    missing = [name for name in MODULES_BY_EXTRA[extra] if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingExtra(
            f"{part} needs the [{extra}] extra (missing: {', '.join(missing)}): "
            f"pip install '{DISTRIBUTION}[{extra}]' from the source you installed {DISTRIBUTION} from "
            "(docs/publishing.md)"
        )
