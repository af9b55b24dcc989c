"""Injected faults: random 5xx answers, truncated bodies, dropped connections and poisoned pages
(a field of the wrong type) at set rates, routes that are down, and 429s forced on a venue.
One seeded RNG decides, one draw per request at arrival, so a seed and an order of requests
replay the same faults."""

import json
import random
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass

RATE_KINDS = ("5xx", "truncate", "reset", "poison")
KINDS = (*RATE_KINDS, "down", "forced_429")
ERROR_STATUS = 503
ERROR_BODY = (
    b'{"code":-1001,"msg":"Internal error; unable to process your request. Please try again."}'
)


class FaultSettingError(ValueError):
    """A fault setting the simulator refuses; nothing of that update is applied."""


@dataclass(frozen=True)
class Fault:
    """What one request gets instead of its normal answer.

    `status` is what the client sees: 503 for "5xx", the route's status for "down", 200 for
    "truncate" and 0 for "reset" (no response at all). `cut` in [0, 1) places a truncation.
    """

    kind: str
    status: int
    cut: float = 0.0

    def truncate(self, body: bytes) -> bytes:
        """The body cut past its first byte and before its last."""
        if len(body) < 2:
            return b""
        return body[: 1 + int(self.cut * (len(body) - 1))]

    def alter(self, body: bytes) -> bytes:
        """The body a "truncate" or "poison" fault answers 200 with."""
        return poisoned(body) if self.kind == "poison" else self.truncate(body)


#: An integer too large for 64 bits, where the exchange sends a decimal string or a 64-bit
#: number: an answer whose field changed type and range.
POISON = 10**30


def poisoned(body: bytes) -> bytes:
    """A JSON body whose first row has its second field replaced by POISON; other bodies as
    they are."""
    try:
        doc = json.loads(body)
    except ValueError:
        return body
    row = _first_row(doc)
    if row is None or len(row) < 2:
        return body
    row[1 if isinstance(row, list) else list(row)[1]] = POISON
    return json.dumps(doc, separators=(",", ":")).encode()


def _first_row(doc: object) -> list | dict | None:
    """Depth first, the first list or object of scalars that sits in a list."""
    items = doc if isinstance(doc, list) else doc.values() if isinstance(doc, dict) else []
    for item in items:
        if isinstance(doc, list) and isinstance(item, list | dict):
            values = item if isinstance(item, list) else item.values()
            if not any(isinstance(v, list | dict) for v in values):
                return item
        found = _first_row(item)
        if found is not None:
            return found
    return None


@dataclass(frozen=True)
class Forced:
    """The next `count` requests to `venue` that reach its budget are refused for
    `retry_after_s`."""

    venue: str
    count: int
    retry_after_s: float


def _number(value: object, key: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise FaultSettingError(f"{key} must be a number from {low:g} to {high:g}, not {value!r}")
    return float(value)


def _down(value: object) -> dict[str, int]:
    if not isinstance(value, dict):
        raise FaultSettingError('down must map paths to statuses, like {"/api/v3/klines": 503}')
    for path, status in value.items():
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise FaultSettingError(f"down[{path!r}] must be an HTTP status, not {status!r}")
    return dict(value)


def _forced(value: object, venues: Collection[str]) -> Forced | None:
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("venue") not in venues:
        raise FaultSettingError(f"force_429 needs a venue, one of {sorted(venues)}")
    unknown = set(value) - {"venue", "count", "retry_after_s"}
    if unknown:
        raise FaultSettingError(f"force_429 takes venue, count, retry_after_s, not {unknown}")
    count = value.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise FaultSettingError(f"force_429 count must be a whole number >= 0, not {count!r}")
    retry_after_s = _number(value.get("retry_after_s", 1), "retry_after_s", 0.001, 1e9)
    return Forced(value["venue"], count, retry_after_s) if count else None


class Faults:
    """The fault settings of one simulator, what they decide, and how often each kind struck."""

    def __init__(
        self, seed: int = 0, rates: Mapping[str, float] | None = None, latency_ms: float = 0.0
    ) -> None:
        self.seed = seed
        self._rng = random.Random(seed)
        self.rates = dict.fromkeys(RATE_KINDS, 0.0)
        self.latency_ms = latency_ms
        self.down: dict[str, int] = {}
        self.forced: Forced | None = None
        self.counts: Counter[str] = Counter()
        self.update(dict(rates or {}), venues=())

    def update(self, changes: Mapping[str, object], venues: Collection[str]) -> None:
        """Apply the keys given (rates, "latency_ms", "down", "force_429"); others keep their
        value. Rates must add up to at most 1, so each kind strikes at its own rate."""
        unknown = set(changes) - {*RATE_KINDS, "latency_ms", "down", "force_429"}
        if unknown:
            raise FaultSettingError(f"unknown fault settings: {sorted(unknown)}")
        rates = dict(self.rates)
        for kind in RATE_KINDS:
            if kind in changes:
                rates[kind] = _number(changes[kind], kind, 0.0, 1.0)
        if sum(rates.values()) > 1.0:
            raise FaultSettingError(f"fault rates add up to more than 1: {rates}")
        latency_ms = self.latency_ms
        if "latency_ms" in changes:
            latency_ms = _number(changes["latency_ms"], "latency_ms", 0.0, 3_600_000.0)
        down = _down(changes["down"]) if "down" in changes else self.down
        forced = _forced(changes["force_429"], venues) if "force_429" in changes else self.forced
        self.rates, self.latency_ms, self.down, self.forced = rates, latency_ms, down, forced

    def state(self) -> dict[str, object]:
        forced = self.forced
        return {
            **self.rates,
            "latency_ms": self.latency_ms,
            "down": dict(self.down),
            "force_429": None
            if forced is None
            else {
                "venue": forced.venue,
                "count": forced.count,
                "retry_after_s": forced.retry_after_s,
            },
        }

    def decide(self, *paths: str) -> Fault | None:
        """The fault for a request to any of `paths` (its route and its own path), or None."""
        draw = self._rng.random()  # drawn even when no rate is set, to keep the sequence
        for path in paths:
            if path in self.down:
                self.counts["down"] += 1
                return Fault("down", self.down[path])
        low = 0.0
        for kind in RATE_KINDS:
            low += self.rates[kind]
            if draw < low:
                self.counts[kind] += 1
                if kind == "5xx":
                    return Fault(kind, ERROR_STATUS)
                if kind == "truncate":
                    return Fault(kind, 200, self._rng.random())
                if kind == "poison":
                    return Fault(kind, 200)
                return Fault(kind, 0)
        return None

    def take_forced(self, venue: str) -> float | None:
        """The wait of a forced 429 for this request to `venue`, using one up; None if none."""
        forced = self.forced
        if forced is None or forced.venue != venue:
            return None
        self.counts["forced_429"] += 1
        remaining = forced.count - 1
        self.forced = Forced(venue, remaining, forced.retry_after_s) if remaining else None
        return forced.retry_after_s

    def reset(self) -> None:
        """Zero the counts and replay the seed's sequence; the settings stay."""
        self.counts.clear()
        self._rng = random.Random(self.seed)
