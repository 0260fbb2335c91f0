"""Where the rule functions of every level register: `@check` on a function named after its
rule code (`def obs94(p: Pkg) -> Iterator[Hit]`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from archa.transfer.nsesss.model import Hit, Pkg

CheckFn = Callable[[Pkg], Iterable[Hit]]
CHECKS: dict[str, CheckFn] = {}


def check(fn: CheckFn) -> CheckFn:
    CHECKS[fn.__name__] = fn
    return fn
