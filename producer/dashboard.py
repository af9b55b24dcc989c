"""The live view of a job: per exchange and data type, progress, pace, queues and rate limits.

`producer status --watch` and `enqueue --wait` on a terminal redraw it about once a second.
Each frame costs a few pipelined Redis round trips, however many shards there are.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rich.console import Group as Stack
from rich.console import RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from storage.ledger import Ledger, ShardState
from storage.shards import Shard
from workers.ratelimit import Budget, cooldowns, usage

FINISHED = ("done", "partial", "failed")


@dataclass
class Line:
    exchange: str
    market: str
    data: str
    planned: int = 0
    done: int = 0
    queued: int = 0
    running: int = 0
    failed: int = 0
    rows: int = 0

    @property
    def finished(self) -> int:
        return self.done + self.failed


@dataclass
class Snapshot:
    at_s: float
    states: list[ShardState]
    lines: list[Line]
    queues: dict[str, int]
    #: weight spent in the current window per (exchange, endpoint group)
    limits: dict[tuple[str, str], int]
    #: seconds left per (exchange, host) told to stay away
    cooldowns: dict[tuple[str, str], float] = field(default_factory=dict)


def snapshot(
    ledger: Ledger,
    shards: Sequence[Shard],
    budgets: Mapping[tuple[str, str], Budget],
    limit_key: str = "",
) -> Snapshot:
    states = ledger.states(shards)
    lines: dict[tuple, Line] = {}
    for st in states:
        s = st.shard
        data = f"{s.dtype} {s.interval}" if s.interval else s.dtype
        line = lines.setdefault((s.exchange, s.market, data), Line(s.exchange, s.market, data))
        line.planned += 1
        line.rows += st.rows
        if st.state in ("done", "partial"):
            line.done += 1
        elif st.state in ("queued", "running", "failed"):
            setattr(line, st.state, getattr(line, st.state) + 1)
    exchanges = sorted({line.exchange for line in lines.values()})
    pipe = ledger.client.pipeline(transaction=False)
    for name in exchanges:
        pipe.llen(ledger.keys.queue(name))  # the dataset's Celery queue of the exchange
    queues = dict(zip(exchanges, pipe.execute(), strict=True))
    mine = {k: v for k, v in budgets.items() if k[0] in exchanges}
    limits = usage(ledger.client, mine, limit_key=limit_key) if mine else {}
    cooling = cooldowns(ledger.client, exchanges)
    return Snapshot(time.monotonic(), states, list(lines.values()), queues, limits, cooling)


@dataclass
class Pace:
    """Rows per second and ETA measured since watching began."""

    first: Snapshot | None = None
    by_line: dict[tuple, tuple[int, int]] = field(default_factory=dict)

    def see(self, snap: Snapshot) -> None:
        if self.first is None:
            self.first = snap
            self.by_line = {
                (x.exchange, x.market, x.data): (x.rows, x.finished) for x in snap.lines
            }

    def rates(self, snap: Snapshot, line: Line) -> tuple[str, str]:
        assert self.first is not None
        elapsed = snap.at_s - self.first.at_s
        rows0, finished0 = self.by_line.get((line.exchange, line.market, line.data), (0, 0))
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
    for col in ("exchange", "data", "progress", "done", "queued", "running", "failed"):
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
            ProgressBar(total=max(line.planned, 1), completed=line.finished, width=24),
            f"{line.done}/{line.planned}",
            str(line.queued),
            str(line.running),
            Text(str(line.failed), style="red" if line.failed else ""),
            f"{line.rows:,}",
            rows_s,
            eta,
        )
    parts: list[RenderableType] = [table]
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
    return all(st.state in FINISHED for st in snap.states)
