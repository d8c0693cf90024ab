"""The state one pytest session of the server suite shares: its target and its statistics.

conftest.py opens the target before the test modules are imported (they build their schemas at import
time), so a misconfigured environment stops the run with a usage error before anything is collected.
"""

from __future__ import annotations

import contextlib
import os

import httpx

from contract_tests.server import oracle as oracles
from contract_tests.server.ledger import Ledger
from contract_tests.server.summary import RunStats
from contract_tests.server.target import Target, TargetError, open_target

_STACK = contextlib.ExitStack()
_TARGET: Target | None = None
_STATS: RunStats | None = None
_LEDGER: Ledger | None = None
_ORACLE: oracles.Oracle | None = None


def _reachable(target: Target) -> None:
    """One request before anything runs: an unreachable target is one clear error, not a wall of failures."""
    if target.base_url is None:
        return
    try:
        with target.client() as client:
            client.post("/transactions/refresh", content=b"", timeout=min(target.timeout, 15.0))
    except httpx.HTTPError as exc:
        raise TargetError(
            f"cannot reach the target {target.base_url} ({type(exc).__name__}: {exc or 'no answer'}); "
            "nothing was run. Check the URL, that the server is up, and the network between here and it."
        ) from None


def ledger_for(target: Target) -> Ledger:
    known = {target.access_token: "the target's access token"}
    known.update({token: f"the {name} Item's access token" for name, token in target.special_tokens.items()})
    rate = target.special_token("rate_limit")
    # The Item the suite may spend is checked exactly; when it is also the working token, generated cases
    # already spend it in ways the suite does not time, so only the rate-limit scenario's own server is exact.
    rate_tokens = frozenset({rate}) if rate is not None and rate != target.access_token else frozenset()
    return Ledger(secret=target.secret, known_tokens=known, rate_tokens=rate_tokens)


def start() -> Target:
    """Open the target the environment describes (idempotent). Raises TargetError."""
    global _TARGET, _STATS, _LEDGER, _ORACLE
    if _TARGET is None:
        target = _STACK.enter_context(open_target())
        _reachable(target)
        _LEDGER = ledger_for(target)
        if oracles.oracle_wanted(target, os.environ):
            _ORACLE = _STACK.enter_context(oracles.running(target))
        _TARGET = target
        _STATS = RunStats(target=target.name, secrets=target.secrets, variables=target.variables())
        _STATS.oracle = _ORACLE
    return _TARGET


def stop() -> None:
    global _TARGET, _STATS, _LEDGER, _ORACLE
    _STACK.close()
    _TARGET = None
    _STATS = None
    _LEDGER = None
    _ORACLE = None


def ledger() -> Ledger:
    start()
    assert _LEDGER is not None
    return _LEDGER


def oracle() -> oracles.Oracle | None:
    start()
    return _ORACLE


def target() -> Target:
    return start()


def stats() -> RunStats:
    start()
    assert _STATS is not None
    return _STATS
