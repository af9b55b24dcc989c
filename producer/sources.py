"""The source plans of a job as the user sees them, before anything is queued: which shards
neither source can serve at all (skipped, with a warning), which will be stored incomplete
and why, which columns stay null, and the `--dry-run` table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table

from storage.shards import Shard
from workers.archive import planned_files
from workers.exchanges.base import Adapter
from workers.settings import Settings
from workers.sourceplan import SourcePlan, plan_sources


@dataclass(frozen=True)
class Sorted:
    """One data type's shards of a job, by what their source plans say."""

    #: shards to queue, with their plans
    plans: tuple[SourcePlan, ...] = ()
    #: shards neither source can serve any part of: skipped
    skipped: tuple[SourcePlan, ...] = ()
    #: (columns the exchange leaves null, columns the archive lacks) -> the queued shards
    #: that store them null
    nulls: dict[tuple[tuple[str, ...], tuple[str, ...]], list[Shard]] = field(default_factory=dict)
    #: whether an archive was asked too (so the warning says it has no file either)
    archived: bool = False
    mode: str = "auto"

    @property
    def served(self) -> tuple[Shard, ...]:
        return tuple(p.shard for p in self.plans)

    @property
    def incomplete(self) -> tuple[SourcePlan, ...]:
        return tuple(p for p in self.plans if p.incomplete)


#: a job's plans by (market, dtype, interval, period): one job shares one adapter, now and mode
PlanMemo = dict[tuple[str, str, str | None, str], SourcePlan]


def sort_plans(
    adapter: Adapter,
    shards: Sequence[Shard],
    now_ms: int,
    mode: str,
    memo: PlanMemo | None = None,
) -> Sorted:
    """Plan each shard's sources (mode auto|archive|rest) and sort them.

    A shard of which nothing can be read is skipped; `--source archive` never skips: a
    shard the archive cannot cover is planned anyway and fails with the reason. `memo`, one
    per job, plans each period once for all the symbols of a universe (a plan depends on the
    symbol only through the shard it names).
    """
    plans, skipped, nulls = [], [], {}
    for shard in shards:
        plan = _plan(adapter, shard, now_ms, mode, memo)
        if plan.fetches_nothing:
            skipped.append(plan)
            continue
        plans.append(plan)
        if plan.nulls or plan.archive_lacks:
            nulls.setdefault((plan.nulls, plan.archive_lacks), []).append(shard)
    archived = adapter.archive is not None and mode != "rest"
    return Sorted(tuple(plans), tuple(skipped), nulls, archived, mode)


def _plan(
    adapter: Adapter, shard: Shard, now_ms: int, mode: str, memo: PlanMemo | None
) -> SourcePlan:
    market = adapter.capabilities.market(shard.market)
    if memo is None:
        return plan_sources(shard, market, now_ms, mode)
    key = (shard.market, shard.dtype, shard.interval, shard.period)
    like = memo.get(key)
    if like is None:
        memo[key] = plan = plan_sources(shard, market, now_ms, mode)
        return plan
    if like.fails is not None:  # its reason names the shard
        return plan_sources(shard, market, now_ms, mode)
    return like.of(shard)


def _utc(ms: int) -> str:
    return f"{datetime.fromtimestamp(ms / 1000, UTC):%Y-%m-%d %H:%M} UTC"


#: symbols named in a summary line before "and N more"
NAMED = 5


def names(symbols: Sequence[str], most: int = NAMED) -> str:
    """A few of `symbols`, then how many more: `AUSDT, BUSDT, CUSDT and 12 more`."""
    unique = list(dict.fromkeys(symbols))
    shown = ", ".join(unique[:most])
    return shown if len(unique) <= most else f"{shown} and {len(unique) - most} more"


def _what(shards: Sequence[Shard]) -> str:
    first = shards[0]
    what = f"{first.dtype} {first.interval}" if first.interval else first.dtype
    symbols = list(dict.fromkeys(s.symbol for s in shards))
    if len(symbols) == 1:
        span = first.period if len(shards) == 1 else f"{first.period} .. {shards[-1].period}"
        return (
            f"{len(shards)} {first.exchange} {first.market} {what} {first.symbol} shard(s) {span}"
        )
    periods = sorted(s.period for s in shards)
    span = f"{periods[0]} .. {periods[-1]}"
    who = f"of {len(symbols)} symbols ({names(symbols)})"
    return f"{len(shards)} {first.exchange} {first.market} {what} shard(s) {who} {span}"


def nothing_note(exchange: str, dtype: str, symbols: Sequence[str]) -> str:
    """One line for the symbols that have no `dtype` in the window at all."""
    if len(symbols) == 1:
        return (
            f"[yellow]note[/yellow]: {exchange} has no {dtype} for {symbols[0]} in this window "
            "(before its listing?); nothing to fetch"
        )
    return (
        f"[yellow]note[/yellow]: {exchange} has no {dtype} in this window for {len(symbols)} "
        f"symbols (listed later, or not on this market): {names(symbols)}; nothing to fetch"
    )


def unreachable_warning(skipped: Sequence[SourcePlan], archived: bool = False) -> str:
    """One line naming the shards skipped because neither REST nor (when `archived`) the
    archive serves any part of them, with the reason."""
    last = skipped[-1]
    since = _utc(last.rest_since_ms if last.rest_since_ms is not None else last.until_ms)
    if archived:
        why = (
            "neither source has them: the archive has no file for them (it holds closed "
            "periods only, and not every data type or interval), and REST reaches back only "
            f"to {since} ({last.reach})"
        )
    else:
        why = f"they start before {since} and {last.reach}"
    what = _what([p.shard for p in skipped])
    return f"[yellow]warning[/yellow]: skipping {what}: {why}; nothing was queued for them"


def incomplete_note(plans: Sequence[SourcePlan]) -> str:
    """One line per group: the shards stored incomplete, the span they lack and why."""
    first = plans[0]
    lost = first.unreachable or (first.shard.start_ms, first.shard.start_ms)
    span = f"{_utc(lost[0])} .. {_utc(lost[1])}" if len(plans) == 1 else "their start"
    return (
        f"[yellow]note[/yellow]: {_what([p.shard for p in plans])} will be stored incomplete "
        f"(recorded so; `producer verify` reports the gap as unreachable): {span} cannot be "
        f"read: {first.why}"
    )


def null_note(
    shards: Sequence[Shard], nulls: tuple[str, ...], lacks: tuple[str, ...], mode: str
) -> str:
    """One line saying which columns the shards store as null, and why."""
    parts = []
    if nulls:
        parts.append(f"{shards[0].exchange} gives no {', '.join(nulls)}")
    if lacks:
        why = "--source archive" if mode == "archive" else "REST cannot serve them whole"
        parts.append(f"they come from the archive, which has no {', '.join(lacks)} ({why})")
    return f"[yellow]note[/yellow]: {_what(shards)}: {'; '.join(parts)}: stored null"


def report(out: Console, sorted_: Sorted) -> None:
    """Print the warning, incomplete and null notes of one data type's plans."""
    if sorted_.skipped:
        out.print(unreachable_warning(sorted_.skipped, sorted_.archived))
    if sorted_.incomplete:
        out.print(incomplete_note(sorted_.incomplete))
    for (nulls, lacks), shards in sorted_.nulls.items():
        out.print(null_note(shards, nulls, lacks, sorted_.mode))


def merge(sorteds: Sequence[Sorted]) -> list[Sorted]:
    """The sorted plans of many symbols, one per market, data type and interval, so each
    warning and note is printed once for the group."""
    groups: dict[tuple, list[Sorted]] = {}
    for one in sorteds:
        every = one.plans + one.skipped
        if not every:
            continue
        s = every[0].shard
        groups.setdefault((s.market, s.dtype, s.interval), []).append(one)
    merged = []
    for group in groups.values():
        nulls: dict[tuple[tuple[str, ...], tuple[str, ...]], list[Shard]] = {}
        for one in group:
            for key, shards in one.nulls.items():
                nulls.setdefault(key, []).extend(shards)
        merged.append(
            Sorted(
                tuple(p for one in group for p in one.plans),
                tuple(p for one in group for p in one.skipped),
                nulls,
                group[0].archived,
                group[0].mode,
            )
        )
    return merged


def report_all(out: Console, sorteds: Sequence[Sorted]) -> None:
    """`report` once per market, data type and interval of a job, whatever its symbols."""
    for one in merge(sorteds):
        report(out, one)


def print_plan(
    out: Console,
    exchange: str,
    mode: str,
    plans: Sequence[SourcePlan],
    done: Sequence[bool],
    settings: Settings,
    *,
    verbose: bool = False,
) -> None:
    """The dry-run table: per market, data type and source (per symbol too when `verbose`,
    or when the job has one symbol) where the shards come from (`archive`,
    `archive+rest`, `rest`, `none: fails` for --source archive on what the archive cannot
    have yet; `, incomplete` where a part is unreachable), how many are done, the archive
    files, and the request weight and time at the budget."""
    adapter = settings.adapter(exchange)
    table = Table(title=f"plan for {exchange}, source {mode} (dry run: nothing enqueued)")
    for col in (
        "market", "dtype", "symbol", "source", "shards", "first", "last", "done",
        "to fetch", "archive files", "est. weight", "at budget",
    ):  # fmt: skip
        table.add_column(col)
    groups: dict[tuple, list[tuple[SourcePlan, bool]]] = {}
    for plan, is_done in zip(plans, done, strict=True):
        s = plan.shard
        origin = "none: fails" if plan.fails else plan.origin
        origin += ", incomplete" if plan.incomplete else ""
        symbol = s.symbol if verbose else ""
        groups.setdefault((s.market, s.dtype, symbol, s.interval, origin), []).append(
            (plan, is_done)
        )
    totals = [0, 0, 0, 0, 0, 0.0]  # shards, done, to fetch, files, weight, seconds
    for (market, dtype, symbol, interval, origin), group in groups.items():
        todo = [plan for plan, is_done in group if not is_done]
        requests = [
            r
            for p in todo
            if p.rest_from_ms is not None
            for r in adapter.requests(p.shard, p.until_ms, p.rest_from_ms)
        ]
        downloads = [f for p in todo for f in planned_files(adapter, p)]
        weight = sum(r.weight for r in requests)
        seconds = 0.0
        if requests:
            budget = settings.budgets[(exchange, requests[0].group)]
            seconds += weight / budget.weight * budget.seconds
        if downloads:
            budget = settings.budgets[(exchange, downloads[0].group)]
            seconds += sum(f.weight for f in downloads) / budget.weight * budget.seconds
        cursor = "≥" if dtype == "aggtrades" and requests else ""  # later cursor pages unknown
        symbols = list(dict.fromkeys(p.shard.symbol for p, _ in group))
        periods = sorted(p.shard.period for p, _ in group)
        for i, n in enumerate((len(group), len(group) - len(todo), len(todo), len(downloads))):
            totals[i] += n
        totals[4] += weight
        totals[5] += seconds
        table.add_row(
            market,
            f"{dtype} {interval}" if interval else dtype,
            symbol or (symbols[0] if len(symbols) == 1 else f"{len(symbols)} symbols"),
            origin,
            f"{len(group):,}",
            periods[0],
            periods[-1],
            f"{len(group) - len(todo):,}",
            f"{len(todo):,}",
            f"{len(downloads):,}",
            f"{cursor}{weight:,}",
            f"{cursor}{seconds:,.0f} s",
        )
    if len(groups) > 1:
        shards, done_, todo_, files, weight, seconds = totals
        table.add_section()
        table.add_row(
            "total", "", f"{len({p.shard.symbol for p in plans})} symbols", "",
            f"{shards:,}", "", "", f"{done_:,}", f"{todo_:,}", f"{files:,}",
            f"{weight:,}", f"{seconds:,.0f} s",
        )  # fmt: skip
    out.print(table)
