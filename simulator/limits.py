"""Rolling-window weight budgets per client IP, which accept or refuse each request."""

import math
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class BudgetSpec:
    """At most `limit` weight accepted within any `seconds`-long window."""

    limit: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> "BudgetSpec":
        """Parse "6000/60" (weight per seconds)."""
        limit, _, seconds = text.partition("/")
        spec = cls(int(limit), int(seconds))
        if spec.limit < 1 or spec.seconds < 1:
            raise ValueError(f"budget must be positive weight/seconds, not {text!r}")
        return spec


class RollingBudget:
    """One budget's log of accepted (time, weight): a rolling sum, not fixed minute buckets.

    Times are caller-supplied seconds (monotonic in the server), so tests can drive it. A
    refused request spends nothing.
    """

    def __init__(self, spec: BudgetSpec) -> None:
        self.spec = spec
        self._log: deque[tuple[float, int]] = deque()
        self._used = 0
        self.spent = 0  # total accepted weight since creation
        self.peak = 0  # largest rolling sum seen at any acceptance

    def _expire(self, now_s: float) -> None:
        horizon_s = now_s - self.spec.seconds
        while self._log and self._log[0][0] <= horizon_s:
            self._used -= self._log.popleft()[1]

    def used(self, now_s: float) -> int:
        """Weight accepted in the window ending now."""
        self._expire(now_s)
        return self._used

    def spend(self, weight: int, now_s: float) -> float:
        """Accept the weight and return 0.0, or refuse it and return seconds until it would fit."""
        self._expire(now_s)
        if self._used + weight <= self.spec.limit:
            if weight:
                self._log.append((now_s, weight))
                self._used += weight
                self.spent += weight
                self.peak = max(self.peak, self._used)
            return 0.0
        if weight > self.spec.limit:
            return float(self.spec.seconds)
        # Walk the log from the oldest entry until enough weight would have left the window.
        excess = self._used + weight - self.spec.limit
        for at_s, logged in self._log:
            excess -= logged
            if excess <= 0:
                return at_s + self.spec.seconds - now_s
        return float(self.spec.seconds)  # unreachable: the whole log covers any excess


def window_label(seconds: int) -> str:
    """The window in its largest whole unit, Binance-style: 5 -> "5S", 60 -> "1M", 3600 -> "1H"."""
    for letter, unit_s in (("D", 86_400), ("H", 3_600), ("M", 60)):
        if seconds % unit_s == 0:
            return f"{seconds // unit_s}{letter}"
    return f"{seconds}S"


def retry_after_header(wait_s: float) -> str:
    """Retry-After value: whole seconds, rounded up, at least 1."""
    return str(max(1, math.ceil(wait_s)))


class Limits:
    """Named budgets, each kept separately for every client IP."""

    def __init__(self, specs: dict[str, BudgetSpec]) -> None:
        self.specs = dict(specs)
        self._by_ip: dict[str, dict[str, RollingBudget]] = {}

    def budget(self, ip: str, name: str) -> RollingBudget:
        budgets = self._by_ip.get(ip)
        if budgets is None:
            budgets = {key: RollingBudget(spec) for key, spec in self.specs.items()}
            self._by_ip[ip] = budgets
        return budgets[name]

    def spent(self) -> dict[str, int]:
        """Total accepted weight per budget name, over all IPs."""
        return {
            name: sum(budgets[name].spent for budgets in self._by_ip.values())
            for name in self.specs
        }

    def peaks(self) -> dict[str, int]:
        """Largest rolling-window weight any single IP reached, per budget name."""
        return {
            name: max((budgets[name].peak for budgets in self._by_ip.values()), default=0)
            for name in self.specs
        }

    def reset(self) -> None:
        self._by_ip.clear()
