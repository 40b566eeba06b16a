"""Wall-clock timing shared by the benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_seconds(fn: Callable[[], object], repeats: int = 5, warmup: bool = True) -> float:
    """Best of `repeats` wall-clock runs of fn() (after one untimed warm-up run): the least noisy
    estimate on a shared machine."""
    if warmup:
        fn()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best
