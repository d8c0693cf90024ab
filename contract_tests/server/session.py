"""The state one pytest session of the server suite shares: its target and its statistics.

conftest.py opens the target before the test modules are imported (they build their schemas at import
time), so a misconfigured environment stops the run with a usage error before anything is collected.
"""

from __future__ import annotations

import contextlib

from contract_tests.server.summary import RunStats
from contract_tests.server.target import Target, open_target

_STACK = contextlib.ExitStack()
_TARGET: Target | None = None
_STATS: RunStats | None = None


def start() -> Target:
    """Open the target the environment describes (idempotent). Raises TargetError."""
    global _TARGET, _STATS
    if _TARGET is None:
        _TARGET = _STACK.enter_context(open_target())
        _STATS = RunStats(target=_TARGET.name, secrets=_TARGET.secrets)
    return _TARGET


def stop() -> None:
    global _TARGET, _STATS
    _STACK.close()
    _TARGET = None
    _STATS = None


def target() -> Target:
    return start()


def stats() -> RunStats:
    start()
    assert _STATS is not None
    return _STATS
