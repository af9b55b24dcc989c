"""The rate-limit answer to one request: a ban or Retry-After in force, or the budget's verdict."""

from collections.abc import Mapping
from dataclasses import dataclass

from simulator.bans import Ban, Bans
from simulator.limits import Limits
from simulator.venue import Venue


@dataclass(frozen=True)
class Refusal:
    """Answer `status` with `body` and a Retry-After of `wait_s`."""

    status: int
    wait_s: float
    body: Mapping[str, object]


class Throttle:
    """Applies each venue's limit rules to per-IP budgets and bans."""

    def __init__(self, limits: Limits, bans: Bans) -> None:
        self.limits = limits
        self.bans = bans

    def in_force(
        self, venue: Venue, budget: str, ip: str, now_s: float, now_ms: int
    ) -> Refusal | None:
        """A refusal the IP has earned already: its ban, or a Retry-After it was given.

        Under a venue's ban policy, each request sent during a Retry-After (after its grace)
        is a violation, and one too many starts a ban.
        """
        ban = self.bans.active(venue.name, ip, now_s)
        if ban is not None:
            return self._banned(venue, budget, ban, now_s)
        left_s = self.bans.retry_left_s(venue.name, ip, budget, now_s)
        if left_s <= 0:
            return None
        policy = venue.ban_policy
        told_s = self.bans.told_s(venue.name, ip, budget)
        if policy is not None and now_s - told_s >= policy.grace_s:
            ban = self.bans.violate(venue.name, ip, policy, now_s, now_ms)
            if ban is not None:
                return self._banned(venue, budget, ban, now_s)
        return self._over(venue, budget, ip, left_s)

    def charge(
        self,
        venue: Venue,
        budget: str,
        ip: str,
        weight: int,
        now_s: float,
        now_ms: int,
        forced_s: float | None = None,
    ) -> Refusal | None:
        """Spend `weight`, or refuse as over budget. `forced_s` refuses without spending,
        as if the budget had said to wait that long."""
        if forced_s is None:
            wait_s = self.limits.budget(ip, budget).spend(weight, now_s)
        else:
            wait_s = forced_s
        if wait_s <= 0:
            return None
        if venue.ban_s > 0:
            ban = self.bans.ban(venue.name, ip, venue.ban_s, now_s, now_ms)
            return self._banned(venue, budget, ban, now_s)
        self.bans.hold(venue.name, ip, budget, now_s + wait_s, now_s)
        return self._over(venue, budget, ip, wait_s)

    def _over(self, venue: Venue, budget: str, ip: str, wait_s: float) -> Refusal:
        body = venue.too_many_requests(ip, self.limits.specs[budget])
        return Refusal(venue.limit_status, wait_s, body)

    def _banned(self, venue: Venue, budget: str, ban: Ban, now_s: float) -> Refusal:
        if venue.banned is None:  # a venue whose ban looks like its over-budget answer (Bybit)
            return self._over(venue, budget, ban.ip, ban.until_s - now_s)
        return Refusal(venue.ban_status, ban.until_s - now_s, venue.banned(ban.ip, ban.until_ms))
