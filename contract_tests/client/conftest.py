"""Client contract suite: the hypothesis profile is registered in harness.py (so the modules also
import outside pytest); importing harness here registers it before any test module is collected."""

from __future__ import annotations

from hypothesis import settings

from contract_tests.client import harness

assert harness.ContractViolation
PROFILE = settings.get_profile("client-contract")
