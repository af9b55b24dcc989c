"""Who may not send yet: Retry-After periods per IP and budget, and bans per IP and venue.

Times are caller-supplied seconds (monotonic in the server), so tests drive the clock.
"""

from collections import Counter
from dataclasses import dataclass

MAX_BAN_S = 259_200.0  # Binance's longest ban: 3 days


@dataclass(frozen=True)
class BanPolicy:
    """Binance's escalation: more than `after` requests sent while a Retry-After is in force
    start a ban of `first_s`; each further ban of the same IP lasts twice the one before,
    up to `max_s`. Requests that arrive within `grace_s` of the Retry-After being given were
    on their way before the client could know of it: they are refused, but not held against
    the IP (a client cannot call back what it already sent)."""

    first_s: float = 120.0
    after: int = 10
    max_s: float = MAX_BAN_S
    grace_s: float = 1.0

    def seconds(self, earlier_bans: int) -> float:
        return min(self.first_s * 2.0 ** min(earlier_bans, 64), self.max_s)


@dataclass(frozen=True)
class Ban:
    venue: str
    ip: str
    seconds: float
    until_s: float  # on the caller's clock
    until_ms: int  # wall clock, for the exchange's message


class Bans:
    """The refusals each IP has earned at each venue, beyond what its budgets say."""

    def __init__(self) -> None:
        self._retry_until_s: dict[tuple[str, str, str], float] = {}  # (venue, ip, budget)
        self._told_s: dict[tuple[str, str, str], float] = {}  # when that Retry-After began
        self._violations: Counter[tuple[str, str]] = Counter()  # (venue, ip)
        self._ban_count: Counter[tuple[str, str]] = Counter()
        self._latest: dict[tuple[str, str], Ban] = {}
        self.started: list[Ban] = []

    def active(self, venue: str, ip: str, now_s: float) -> Ban | None:
        ban = self._latest.get((venue, ip))
        return ban if ban is not None and ban.until_s > now_s else None

    def retry_left_s(self, venue: str, ip: str, budget: str, now_s: float) -> float:
        """Seconds left of the Retry-After this IP was given for this budget; 0 if none."""
        return max(0.0, self._retry_until_s.get((venue, ip, budget), 0.0) - now_s)

    def hold(self, venue: str, ip: str, budget: str, until_s: float, now_s: float) -> None:
        """Start (or lengthen) a Retry-After period: the IP was told to wait until `until_s`."""
        key = (venue, ip, budget)
        if self.retry_left_s(venue, ip, budget, now_s) <= 0:
            self._told_s[key] = now_s
        self._retry_until_s[key] = max(self._retry_until_s.get(key, 0.0), until_s)

    def told_s(self, venue: str, ip: str, budget: str) -> float:
        """When the Retry-After in force for this IP and budget was first given."""
        return self._told_s.get((venue, ip, budget), float("-inf"))

    def violate(
        self, venue: str, ip: str, policy: BanPolicy, now_s: float, now_ms: int
    ) -> Ban | None:
        """Count one request sent during a Retry-After; the ban it starts, if it is one too many."""
        key = (venue, ip)
        self._violations[key] += 1
        if self._violations[key] <= policy.after:
            return None
        return self.ban(venue, ip, policy.seconds(self._ban_count[key]), now_s, now_ms)

    def ban(self, venue: str, ip: str, seconds: float, now_s: float, now_ms: int) -> Ban:
        """Refuse the IP at this venue for `seconds`; its violations and Retry-Afters end here."""
        key = (venue, ip)
        ban = Ban(venue, ip, seconds, now_s + seconds, now_ms + round(seconds * 1000))
        self._latest[key] = ban
        self._ban_count[key] += 1
        self._violations.pop(key, None)
        for held in [k for k in self._retry_until_s if k[:2] == key]:
            del self._retry_until_s[held]
            self._told_s.pop(held, None)
        self.started.append(ban)
        return ban

    def reset(self) -> None:
        self._retry_until_s.clear()
        self._told_s.clear()
        self._violations.clear()
        self._ban_count.clear()
        self._latest.clear()
        self.started.clear()
