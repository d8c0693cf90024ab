"""Schema-driven tests: every operation of the spec, positive and negative, in phases examples, coverage
and fuzzing.

Each response goes through schemathesis' built-in checks (minus `ignored_auth`, see schema.checks_config) and
the Plaid checks of plaid_checks.py, plus the bad-API-keys replay. Deterministic: the same cases every run.
"""

from __future__ import annotations

from typing import Any

from schemathesis import Case
from schemathesis.core.failures import FailureGroup

from contract_tests.server import session
from contract_tests.server.schema import SuiteSchema, max_examples_from_env

_TARGET = session.target()
_MAX_EXAMPLES = max_examples_from_env()
_LEDGER, _ORACLE = session.ledger(), session.oracle()
positive = SuiteSchema(_TARGET, "positive", max_examples=_MAX_EXAMPLES, ledger=_LEDGER, oracle=_ORACLE)
negative = SuiteSchema(_TARGET, "negative", max_examples=_MAX_EXAMPLES, ledger=_LEDGER, oracle=_ORACLE)
session.stats().checks = positive.check_names()


def _run(suite: SuiteSchema, case: Case[Any], test: str) -> None:
    stats = session.stats()
    stats.record_case(case, suite.mode)
    try:
        suite.call_and_validate(case)
    except FailureGroup as failure:
        stats.record_failure(f"{test}[{case.operation.label}]", str(failure))
        raise
    except Exception as error:  # transport trouble (timeouts, refused connections): still in the summary
        stats.record_failure(f"{test}[{case.operation.label}]", f"- {type(error).__name__}: {error}")
        raise


@positive.schema.parametrize()
def test_positive(case: Case[Any]) -> None:
    _run(positive, case, "test_positive")


@negative.schema.parametrize()
def test_negative(case: Case[Any]) -> None:
    _run(negative, case, "test_negative")
