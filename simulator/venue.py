"""What an exchange module gives the server: endpoints with their costs, and its error shapes."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from multidict import MultiMapping

from simulator.bans import BanPolicy
from simulator.limits import BudgetSpec, window_label

Query = MultiMapping[str]


class ApiError(Exception):
    """A request the exchange refuses; the server sends `body` as JSON with `status`."""

    def __init__(self, status: int, body: Mapping[str, object]) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


@dataclass(frozen=True)
class Context:
    """What a handler may read besides the query: the data settings and the clock."""

    seed: int
    trades_per_day: int
    now_ms: int
    budgets: Mapping[str, BudgetSpec]


@dataclass(frozen=True)
class Endpoint:
    """One GET route. Its cost is charged to `budget` before the handler runs.

    `weight` sees only the query (Binance prices futures klines by `limit`); `usage_budget`
    names the budget whose rolling use the usage header reports.
    """

    path: str
    budget: str
    weight: Callable[[Query], int]
    usage_budget: str
    handler: Callable[[Query, Context], bytes]


@dataclass(frozen=True)
class Venue:
    """An exchange as the server mounts it.

    A request over budget is answered with `limit_status` (429 for most, 403 for Bybit) and
    a Retry-After that the IP must honour for that budget. With `ban_s` > 0 the breach
    itself bans the IP for `ban_s` seconds (Bybit). With a `ban_policy`, requests sent
    during a Retry-After lead to escalating bans answered `ban_status` with the body
    `banned(ip, until_ms)` (Binance's 418).
    `usage_header` may hold `{window}`, filled per endpoint from its usage budget's window.
    Path parameters (`/kline/{symbol}`) reach handlers as query parameters.
    """

    name: str
    endpoints: tuple[Endpoint, ...]
    budgets: Mapping[str, BudgetSpec]
    usage_header: str
    too_many_requests: Callable[[str, BudgetSpec], Mapping[str, object]]
    limit_status: int = 429
    ban_s: float = 0.0
    ban_policy: BanPolicy | None = None
    banned: Callable[[str, int], Mapping[str, object]] | None = None
    ban_status: int = 418

    def usage_header_name(self, spec: BudgetSpec) -> str:
        """`usage_header` with any `{window}` filled from the budget's window ("1M", "5S")."""
        return self.usage_header.format(window=window_label(spec.seconds))
