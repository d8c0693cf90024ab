"""Small statistics used by every benchmark: medians, percentiles and ratios."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def median(values: Sequence[float]) -> float:
    """The median; NaN for no values, so a missing figure shows as 'n/a' instead of crashing a run."""
    if not values:
        return math.nan
    return float(statistics.median(values))


def percentile(values: Sequence[float], pct: float) -> float:
    """The pct-th percentile by linear interpolation between closest ranks (numpy's default method)."""
    if not 0.0 <= pct <= 100.0:
        raise ValueError(f"percentile must be within [0, 100], got {pct}")
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100.0
    low = math.floor(rank)
    high = math.ceil(rank)
    if low == high:
        return float(ordered[low])
    return float(ordered[low] + (ordered[high] - ordered[low]) * (rank - low))


def ratio(value: float, reference: float) -> float:
    """value / reference; NaN when either side is missing or the reference is zero."""
    if math.isnan(value) or math.isnan(reference) or reference == 0:
        return math.nan
    return value / reference


def paired_ratio(values: Sequence[float], references: Sequence[float]) -> float:
    """Median of the per-round ratios values[i] / references[i].

    Rounds are interleaved, so round i of both series saw the same machine load; the median of
    per-round ratios cancels slow drift that a ratio of two medians would keep.
    """
    if len(values) != len(references):
        raise ValueError(f"series differ in length: {len(values)} vs {len(references)}")
    per_round = [ratio(v, r) for v, r in zip(values, references, strict=True)]
    return median([x for x in per_round if not math.isnan(x)])
