"""The shape every benchmark returns: tables of figures, goals checked against them, notes."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

Comparison = Literal["<=", ">="]


@dataclass(frozen=True)
class Goal:
    """One goal from the issue: `measured` (a ratio or a figure) compared with `limit`."""

    figure: str
    measured: float
    comparison: Comparison
    limit: float
    unit: str = "x"

    @property
    def status(self) -> str:
        if math.isnan(self.measured):
            return "not measured"
        met = self.measured <= self.limit if self.comparison == "<=" else self.measured >= self.limit
        return "met" if met else "MISSED"


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)


@dataclass
class Section:
    """The outcome of one benchmark module."""

    key: str
    title: str
    tables: list[Table] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    # Raw numbers, kept in the JSON report for later comparison (before/after a fix).
    raw: dict[str, object] = field(default_factory=dict)


def fmt(value: float, digits: int = 1) -> str:
    """A figure for a table cell: 'n/a' when missing, thousands separated when large."""
    if math.isnan(value):
        return "n/a"
    if abs(value) >= 10_000:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def fmt_ratio(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.2f}x"
