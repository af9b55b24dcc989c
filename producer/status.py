"""What the ledger knows, per exchange / market / data type and per symbol: counts, rows, bytes,
failures; read from the ledger's per-group counters, so it costs O(groups), not O(shards).

The table sums up each exchange x market x data type and names its few slowest and failed
symbols; `--verbose` (or `--symbol`) gives one row per symbol, `--json` both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

from rich.console import Console
from rich.table import Table

from storage.custody import Custody
from storage.ledger import Ledger
from storage.shards import Shard
from storage.states import Count

STATES = ("done", "partial", "running", "queued", "failed", "missing")
#: counted beside the states: stored (done or partial) with part of the period unreachable
COLUMNS = (*STATES[:2], "incomplete", *STATES[2:])
NUMBERS = ("planned", *COLUMNS, "rows", "bytes")
FEW = 3  # symbols named per summary line (slowest, failed)
LISTED = 10  # failed / incomplete shards printed without --verbose


@dataclass
class Group:
    exchange: str
    market: str
    dtype: str
    symbol: str
    interval: str | None
    planned: int = 0
    done: int = 0
    partial: int = 0
    running: int = 0
    queued: int = 0
    failed: int = 0
    missing: int = 0
    incomplete: int = 0
    rows: int = 0
    bytes: int = 0
    first_period: str = ""
    last_period: str = ""

    @property
    def data(self) -> str:
        return f"{self.dtype} {self.interval}" if self.interval else self.dtype

    @property
    def finished(self) -> int:
        return self.done + self.partial + self.failed

    def sample(self) -> Shard:
        """One shard of the group, for selectors written for shards."""
        return Shard(
            self.exchange, self.market, self.dtype, self.symbol, self.first_period, self.interval
        )


def group_of(count: Count) -> Group:
    parts = count.group.split(":")
    exchange, market, dtype = parts[:3]
    interval = parts[3] if len(parts) == 5 else None
    numbers = {name: getattr(count, name) for name in NUMBERS}
    return Group(exchange, market, dtype, parts[-1], interval, **numbers,
                 first_period=count.first, last_period=count.last)  # fmt: skip


@dataclass
class Line:
    """One exchange x market x data type: its groups summed, and the symbols to look at."""

    exchange: str
    market: str
    data: str
    symbols: int = 0
    planned: int = 0
    done: int = 0
    partial: int = 0
    running: int = 0
    queued: int = 0
    failed: int = 0
    missing: int = 0
    incomplete: int = 0
    rows: int = 0
    bytes: int = 0
    first_period: str = ""
    last_period: str = ""
    #: the few symbols furthest from finished: "SYMBOL finished/planned"
    slowest: list[str] = field(default_factory=list)
    #: the few symbols with the most failed shards: "SYMBOL (n)"
    failing: list[str] = field(default_factory=list)

    @property
    def finished(self) -> int:
        return self.done + self.partial + self.failed


def summarise(groups: Iterable[Group]) -> list[Line]:
    by: dict[tuple[str, str, str], list[Group]] = {}
    for g in groups:
        by.setdefault((g.exchange, g.market, g.data), []).append(g)
    out = []
    for (exchange, market, data), members in sorted(by.items()):
        line = Line(exchange, market, data, symbols=len(members))
        for name in NUMBERS:
            setattr(line, name, sum(getattr(g, name) for g in members))
        line.first_period = min(g.first_period for g in members)
        line.last_period = max(g.last_period for g in members)
        behind = sorted(
            (g for g in members if g.finished < g.planned),
            key=lambda g: (g.finished / g.planned, g.symbol),
        )
        line.slowest = [f"{g.symbol} {g.finished}/{g.planned}" for g in behind[:FEW]]
        failing = sorted((g for g in members if g.failed), key=lambda g: (-g.failed, g.symbol))
        line.failing = [f"{g.symbol} ({g.failed})" for g in failing[:FEW]]
        out.append(line)
    return out


@dataclass
class Dataset:
    """Which dataset the ledger describes, and how its cluster is doing."""

    data_dir: str
    namespace: str
    workers_alive: int = 0
    resent: int = 0  # shards re-sent without a person (orphans, shards handed back)


@dataclass
class Report:
    groups: list[Group] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)
    dataset: Dataset | None = None
    #: shards stored incomplete: {"shard", "reason"}
    incomplete: list[dict[str, str]] = field(default_factory=list)

    @property
    def lines(self) -> list[Line]:
        return summarise(self.groups)

    def as_dict(self) -> dict:
        totals = {name: sum(getattr(g, name) for g in self.groups) for name in NUMBERS}
        return {
            "dataset": None if self.dataset is None else asdict(self.dataset),
            "summary": [asdict(line) for line in self.lines],
            "groups": [asdict(g) for g in self.groups],
            "failures": self.failures,
            "incomplete": self.incomplete,
            "totals": totals,
        }


def collect(ledger: Ledger, keep: Callable[[Shard], bool] | None = None) -> Report:
    """The report of the groups `keep` keeps (all by default): the counters of each group,
    and the failed and incomplete shards of those groups with their reasons."""
    groups = sorted(
        (group_of(c) for c in ledger.counts().values()),
        key=lambda g: (g.exchange, g.market, g.dtype, g.interval or "", g.symbol),
    )
    if keep is not None:
        groups = [g for g in groups if keep(g.sample())]
    ids = {g.sample().key.rsplit(":", 1)[0] for g in groups}
    out = Report(groups)
    if any(g.failed for g in groups):
        failed = ledger.failed_of(ids)
        out.failures = [{"shard": k, "reason": why} for k, why in sorted(failed.items())]
    if any(g.incomplete for g in groups):
        partly = ledger.incomplete_of(ids)
        out.incomplete = [{"shard": k, "reason": why} for k, why in sorted(partly.items())]
    return out


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def dataset_of(custody: Custody, data_dir: str) -> Dataset:
    return Dataset(data_dir, custody.keys.namespace, len(custody.alive()), custody.healed())


def render(rep: Report, console: Console, *, verbose: bool = False) -> None:
    """The summary table (one row per exchange x market x data type), or with `verbose` one
    row per symbol; then the failed and incomplete shards (the first few unless verbose)."""
    if rep.dataset is not None:
        d = rep.dataset
        console.print(
            f"dataset {d.data_dir} (ledger namespace {d.namespace}): {d.workers_alive} workers "
            f"alive, {d.resent} shards re-sent by healing"
        )
    if not rep.groups:
        console.print("Nothing planned yet: run `producer enqueue --symbol BTCUSDT --years 2`.")
        return
    console.print(_per_symbol(rep.groups) if verbose else _summary(rep.lines))
    _listed(console, "red", "failed", rep.failures, verbose)
    _listed(console, "yellow", "incomplete", rep.incomplete, verbose)
    if rep.incomplete:
        console.print(
            "incomplete shards hold what the exchange still serves; those of closed periods "
            "count as done (`producer retry-failed --incomplete` fetches them again)"
        )


def _numbers(x: Group | Line) -> list[str]:
    return [*(str(getattr(x, s)) for s in COLUMNS), f"{x.rows:,}", _size(x.bytes)]


def _summary(lines: list[Line]) -> Table:
    table = Table(title="shardfetch status")
    for col in ("exchange", "market", "data", "symbols", "periods", *COLUMNS, "rows", "size"):
        right = col in (*COLUMNS, "symbols", "rows", "size")
        table.add_column(col, justify="right" if right else "left")
    table.add_column("slowest / failed symbols")
    for x in lines:
        notes = []
        if x.failing:
            notes.append("failed " + ", ".join(x.failing))
        if x.slowest:
            notes.append("slowest " + ", ".join(x.slowest))
        periods = f"{x.first_period} .. {x.last_period}"
        table.add_row(x.exchange, x.market, x.data, str(x.symbols), periods, *_numbers(x),
                      "; ".join(notes))  # fmt: skip
    if len(lines) > 1:
        total = Line("total", "", "", symbols=sum(x.symbols for x in lines))
        for name in NUMBERS:
            setattr(total, name, sum(getattr(x, name) for x in lines))
        table.add_row("total", "", "", str(total.symbols), "", *_numbers(total), "")
    return table


def _per_symbol(groups: list[Group]) -> Table:
    table = Table(title="shardfetch status")
    for col in ("exchange", "market", "dtype", "symbol", "periods", *COLUMNS, "rows", "size"):
        table.add_column(col, justify="right" if col in (*COLUMNS, "rows", "size") else "left")
    for g in groups:
        periods = f"{g.first_period} .. {g.last_period}"
        table.add_row(g.exchange, g.market, g.data, g.symbol, periods, *_numbers(g))
    return table


def _listed(console: Console, colour: str, what: str, items: list[dict], verbose: bool) -> None:
    shown = items if verbose else items[:LISTED]
    for item in shown:
        console.print(f"[{colour}]{what}[/{colour}] {item['shard']}: {item['reason']}")
    if len(items) > len(shown):
        console.print(
            f"... and {len(items) - len(shown)} more {what} shards "
            "(`producer status --verbose` or `--json` lists them all)"
        )
