"""What reached the simulator's data routes: counts per route, status and venue, and the log."""

from collections import Counter, deque
from dataclasses import asdict, dataclass

LOG_MAX = 500_000


@dataclass(slots=True)
class Entry:
    """One data request: `t_ms` on arrival (wall clock), the rest once it is answered.

    `weight` is what its budget was charged (0 when refused or faulted); `status` 0 means
    the connection was dropped, None that the answer is still pending.
    """

    t_ms: int
    venue: str
    path: str
    status: int | None = None
    weight: int = 0
    fault: str | None = None


class Traffic:
    """Request counters and the bounded request log, oldest first in arrival order
    (an entry is logged on arrival and completed when its request is answered)."""

    def __init__(self, log_max: int = LOG_MAX) -> None:
        self.requests: Counter[str] = Counter()  # per route
        self.statuses: Counter[int] = Counter()  # per status answered; 0 for a dropped connection
        self.rejected: Counter[str] = Counter()  # rate refusals (429, 418, Bybit's 403) per venue
        self.log: deque[Entry] = deque(maxlen=log_max)

    def arrive(self, venue: str, route: str, path: str, t_ms: int) -> Entry:
        self.requests[route] += 1
        entry = Entry(t_ms, venue, path)
        self.log.append(entry)
        return entry

    def answer(
        self,
        entry: Entry,
        status: int,
        weight: int = 0,
        fault: str | None = None,
        refused: bool = False,
    ) -> None:
        """Complete `entry`; `refused` marks a rate refusal (429, 418, Bybit's 403)."""
        entry.status, entry.weight, entry.fault = status, weight, fault
        self.statuses[status] += 1
        if refused:
            self.rejected[entry.venue] += 1

    def since(self, since_ms: float | None = None) -> list[dict[str, object]]:
        """The logged entries that arrived at or after `since_ms` (all if None), as dicts."""
        low = float("-inf") if since_ms is None else since_ms
        return [asdict(e) for e in self.log if e.t_ms >= low]

    def reset(self) -> None:
        self.requests.clear()
        self.statuses.clear()
        self.rejected.clear()
        self.log.clear()
