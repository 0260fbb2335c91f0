"""What the benchmarks share: the best time of a few runs."""

from __future__ import annotations

import time
from collections.abc import Callable


def best(fn: Callable[[], object], rounds: int = 3) -> float:
    """The shortest of `rounds` timed calls of `fn`, in seconds (machines here are noisy)."""
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)
