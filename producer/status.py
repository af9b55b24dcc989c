"""What the ledger knows, per exchange / market / dtype / symbol: counts, rows, bytes, failures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from rich.console import Console
from rich.table import Table

from storage.custody import Custody
from storage.ledger import Ledger, ShardState
from storage.shards import Shard

STATES = ("done", "partial", "running", "queued", "failed", "missing")
#: counted beside the states: stored (done or partial) with part of the period unreachable
COLUMNS = (*STATES[:2], "incomplete", *STATES[2:])


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

    def as_dict(self) -> dict:
        totals = {
            name: sum(getattr(g, name) for g in self.groups)
            for name in ("planned", *COLUMNS, "rows", "bytes")
        }
        return {
            "dataset": None if self.dataset is None else asdict(self.dataset),
            "groups": [asdict(g) for g in self.groups],
            "failures": self.failures,
            "incomplete": self.incomplete,
            "totals": totals,
        }


def report(states: Sequence[ShardState]) -> Report:
    groups: dict[tuple, Group] = {}
    out = Report()
    for st in sorted(states, key=lambda s: s.shard):
        s = st.shard
        key = (s.exchange, s.market, s.dtype, s.symbol, s.interval)
        group = groups.setdefault(key, Group(*key, first_period=s.period))
        group.planned += 1
        setattr(group, st.state, getattr(group, st.state) + 1)
        group.rows += st.rows
        group.bytes += st.bytes
        group.last_period = s.period
        if st.state == "failed":
            out.failures.append({"shard": s.key, "reason": st.reason or ""})
        if st.incomplete and st.state in ("done", "partial"):
            group.incomplete += 1
            out.incomplete.append({"shard": s.key, "reason": st.incomplete})
    out.groups = list(groups.values())
    return out


def collect(ledger: Ledger, shards: Sequence[Shard] | None = None) -> Report:
    return report(ledger.states(ledger.planned() if shards is None else list(shards)))


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def dataset_of(custody: Custody, data_dir: str) -> Dataset:
    return Dataset(data_dir, custody.keys.namespace, len(custody.alive()), custody.healed())


def render(rep: Report, console: Console) -> None:
    if rep.dataset is not None:
        d = rep.dataset
        console.print(
            f"dataset {d.data_dir} (ledger namespace {d.namespace}): {d.workers_alive} workers "
            f"alive, {d.resent} shards re-sent by healing"
        )
    if not rep.groups:
        console.print("Nothing planned yet: run `producer enqueue --symbol BTCUSDT --years 2`.")
        return
    table = Table(title="shardfetch status")
    for col in ("exchange", "market", "dtype", "symbol", "periods", *COLUMNS, "rows", "size"):
        table.add_column(col, justify="right" if col in (*COLUMNS, "rows", "size") else "left")
    for g in rep.groups:
        name = f"{g.dtype} {g.interval}" if g.interval else g.dtype
        table.add_row(
            g.exchange,
            g.market,
            name,
            g.symbol,
            f"{g.first_period} .. {g.last_period}",
            *(str(getattr(g, s)) for s in COLUMNS),
            f"{g.rows:,}",
            _size(g.bytes),
        )
    console.print(table)
    for failure in rep.failures:
        console.print(f"[red]failed[/red] {failure['shard']}: {failure['reason']}")
    for shard in rep.incomplete:
        console.print(f"[yellow]incomplete[/yellow] {shard['shard']}: {shard['reason']}")
    if rep.incomplete:
        console.print(
            "incomplete shards hold what the exchange still serves; those of closed periods "
            "count as done (`producer retry-failed --incomplete` fetches them again)"
        )
