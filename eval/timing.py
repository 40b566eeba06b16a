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


def matmul_peak_flops(n: int = 2048, reps: int = 5) -> float:
    """Best float32 n x n matmul FLOP/s on this machine now (torch's default thread count): the
    peak the speed benchmarks report their fraction of."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    return 2 * n**3 / best_seconds(lambda: torch.mm(a, b), reps)
