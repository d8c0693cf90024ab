"""The README's front door stays true: its tokens, targets and order match the code."""

from __future__ import annotations

import re

from plaid_refresh.server import BUILTIN_TOKENS
from tests.spec_loader import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")


def test_every_builtin_token_is_documented_with_its_answer() -> None:
    for token, code in BUILTIN_TOKENS.items():
        row = next((line for line in README.splitlines() if f"`{token}`" in line), None)
        assert row is not None, f"{token} missing from README"
        assert (code or "200") in row, f"README row for {token} does not say {code or '200'}"


def test_every_make_target_the_readme_names_exists() -> None:
    named = set(re.findall(r"make ([a-z][a-z-]+)", README))
    defined = set(re.findall(r"^([a-z][a-z-]+):", MAKEFILE, flags=re.MULTILINE))
    assert named, "the README names no make target"
    assert named <= defined, f"README names undefined targets: {sorted(named - defined)}"


def test_sections_in_the_promised_order() -> None:
    headings = [line for line in README.splitlines() if line.startswith("## ")]
    numbered = [h for h in headings if re.match(r"## \d\. ", h)]
    assert [h[3] for h in numbered] == ["1", "2", "3", "4", "5"], numbered
    assert "make test" in README.split("## 2.")[0]
    assert "make contract" in README.split("## 2.")[0]


def test_the_readme_quick_start_is_the_tested_snippet() -> None:
    # tests/client/test_docs_snippet.py runs docs/client.md's snippet in a fresh venv; the README must
    # show that same code, byte for byte.
    from tests.client.test_docs_snippet import quickstart

    assert f"```python\n{quickstart()}```" in README
