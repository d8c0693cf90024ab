"""The receiver snippet in docs/webhooks.md runs as written (without touching the network)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def test_the_receiver_snippet_runs_and_rejects_an_unsigned_webhook() -> None:
    snippets = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    (snippet,) = [s for s in snippets if "def handle(" in s]
    namespace: dict[str, Any] = {"client_id": "5f0bd2b1c0c0b2001234abcd", "secret": "doc-secret"}
    exec(compile(snippet, str(DOC), "exec"), namespace)  # our own documentation
    assert namespace["handle"]({}, b"{}") == 401
    assert namespace["handle"]({"Plaid-Verification": "x.y.z"}, b"{}") == 401
