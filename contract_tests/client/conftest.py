"""Client contract suite: the hypothesis profile is registered in harness.py (so the modules also
import outside pytest); importing harness here registers it before any test module is collected."""

from __future__ import annotations

import contract_tests.client.harness  # noqa: F401 - registers the "client-contract" profile
