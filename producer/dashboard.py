"""The live view of a job: per exchange, market and data type, progress, pace, queues and rate
limits, and the few slowest and failed symbols of each.

`producer status --watch` and `enqueue --wait` on a terminal redraw it. A frame reads the
ledger's per-group counters (one small hash) and a few pipelined keys, however many shards
there are.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

from rich.console import Group as Stack
from rich.console import RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from producer.status import Group, Line, group_of, summarise
from storage.ledger import Ledger
from workers.ratelimit import Budget, cooldowns, usage

#: which groups (`exchange:market:dtype[:interval]:symbol`) a view shows: a set of ids, a
#: test of each group, or None for all
Scope = Collection[str] | Callable[[Group], bool] | None


@dataclass
class Snapshot:
    at_s: float
    lines: list[Line]
    queues: dict[str, int]
    #: weight spent in the current window per (exchange, endpoint group)
    limits: dict[tuple[str, str], int]
    #: seconds left per (exchange, host) told to stay away
    cooldowns: dict[tuple[str, str], float] = field(default_factory=dict)

    @property
    def in_flight(self) -> int:
        """Shards queued or running in the view: 0 once every one has finished."""
        return sum(x.queued + x.running for x in self.lines)


def groups(ledger: Ledger, scope: Scope = None) -> list[Group]:
    """The groups in `scope`, from the ledger's counters."""
    out = [group_of(c) for c in ledger.counts().values()]
    if scope is None:
        return out
    if callable(scope):
        return [g for g in out if scope(g)]
    return [g for g in out if g.sample().key.rsplit(":", 1)[0] in scope]


def snapshot(
    ledger: Ledger,
    scope: Scope,
    budgets: Mapping[tuple[str, str], Budget],
    limit_key: str = "",
) -> Snapshot:
    lines = summarise(groups(ledger, scope))
    exchanges = sorted({line.exchange for line in lines})
    pipe = ledger.client.pipeline(transaction=False)
    for name in exchanges:
        pipe.llen(ledger.keys.queue(name))  # the dataset's Celery queue of the exchange
    queues = dict(zip(exchanges, pipe.execute(), strict=True))
    mine = {k: v for k, v in budgets.items() if k[0] in exchanges}
    limits = usage(ledger.client, mine, limit_key=limit_key) if mine else {}
    cooling = cooldowns(ledger.client, exchanges)
    return Snapshot(time.monotonic(), lines, queues, limits, cooling)


def _id(line: Line) -> tuple[str, str, str]:
    return (line.exchange, line.market, line.data)


@dataclass
class Pace:
    """Rows per second and ETA measured since watching began."""

    first: Snapshot | None = None
    by_line: dict[tuple, tuple[int, int]] = field(default_factory=dict)

    def see(self, snap: Snapshot) -> None:
        if self.first is None:
            self.first = snap
            self.by_line = {_id(x): (x.rows, x.finished) for x in snap.lines}

    def rates(self, snap: Snapshot, line: Line) -> tuple[str, str]:
        assert self.first is not None
        elapsed = snap.at_s - self.first.at_s
        rows0, finished0 = self.by_line.get(_id(line), (0, 0))
        if elapsed <= 0 or line.finished <= finished0:
            return "-", "-" if line.finished < line.planned else "done"
        rows_s = (line.rows - rows0) / elapsed
        per_shard_s = elapsed / (line.finished - finished0)
        left = line.planned - line.finished
        return f"{rows_s:,.0f}", (_duration(left * per_shard_s) if left else "done")


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def render(snap: Snapshot, pace: Pace, budgets: Mapping[tuple[str, str], Budget]):
    table = Table(title="shardfetch: live", expand=False)
    for col in ("exchange", "data", "symbols", "progress", "done", "queued", "running", "failed"):
        table.add_column(
            col, justify="left" if col in ("exchange", "data", "progress") else "right"
        )
    for col in ("rows", "rows/s", "ETA"):
        table.add_column(col, justify="right")
    for line in snap.lines:
        rows_s, eta = pace.rates(snap, line)
        table.add_row(
            f"{line.exchange} {line.market}",
            line.data,
            str(line.symbols),
            ProgressBar(total=max(line.planned, 1), completed=line.finished, width=24),
            f"{line.done + line.partial}/{line.planned}",
            str(line.queued),
            str(line.running),
            Text(str(line.failed), style="red" if line.failed else ""),
            f"{line.rows:,}",
            rows_s,
            eta,
        )
    parts: list[RenderableType] = [table]
    for line in snap.lines:
        name = f"{line.exchange} {line.market} {line.data}"
        if line.failing:
            parts.append(Text(f"{name}: failed {', '.join(line.failing)}", "red"))
        if line.slowest and line.queued + line.running:
            parts.append(Text(f"{name}: slowest {', '.join(line.slowest)}"))
    queues = "  ".join(f"{name}: {depth}" for name, depth in snap.queues.items())
    parts.append(Text(f"queue depth  {queues or '-'}"))
    for (exchange, group), used in sorted(snap.limits.items()):
        budget = budgets[(exchange, group)]
        share = used / budget.weight
        parts.append(
            Text(
                f"limiter {exchange} {group}: {used:,}/{budget.weight:,} per {budget.seconds:g}s "
                f"({share:.0%})"
            )
        )
    for (exchange, host), left_s in sorted(snap.cooldowns.items()):
        parts.append(
            Text(f"{exchange} {host}: cooling down {left_s:.0f}s (the exchange said so)", "yellow")
        )
    return Stack(*parts)


def all_finished(snap: Snapshot) -> bool:
    return snap.in_flight == 0
