"""One enqueue job: validate it, ask the exchange about each symbol, plan, send, wait."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from producer.enqueue import enqueue
from producer.listing import FirstDataCache, bounded, first_data_of
from producer.plan import Plan, Window, plan, window_from
from producer.sources import PlanMemo, nothing_note, print_plan, report_all, sort_plans
from producer.terminal import make_console
from producer.universe import Choice, Lists, choose
from producer.wait import wait
from storage.custody import Custody
from storage.errors import InputError
from storage.ledger import Ledger
from storage.shards import DTYPES, Shard
from workers.exchanges import ADAPTERS
from workers.healer import Healer
from workers.runtime import Runtime
from workers.settings import ARCHIVE, Settings, url_var
from workers.sourceplan import SourcePlan

__all__ = ["Job", "make_plans", "resolve", "run_enqueue"]

out = make_console()


@dataclass(frozen=True)
class Job:
    """What `producer enqueue` was asked: `market` is spot or perp (`--market`), `mode` where
    rows come from (`--source auto|archive|rest`)."""

    exchange: str
    symbols: tuple[str, ...]
    dtypes: tuple[str, ...]
    interval: str
    window: Window
    now: datetime
    mode: str = "auto"
    market: str = "spot"
    #: how the symbols were chosen (`--symbol all`, `--top`, ...); `symbols` holds them
    #: once `resolve` has read the exchange's list
    choice: Choice = field(default_factory=Choice)

    @classmethod
    def from_options(
        cls,
        *,
        symbols: list[str],
        exchange: str,
        dtypes: list[str],
        interval: str,
        now: datetime,
        mode: str = "auto",
        market: str = "spot",
        choice: Choice | None = None,
        **window: object,
    ) -> Job:
        if exchange not in ADAPTERS:
            raise InputError(f"unknown exchange {exchange!r}: choose one of {', '.join(ADAPTERS)}")
        choice = choice or Choice(tuple(symbols))
        symbols = list(choice.named) if choice.every or choice.top else symbols
        if not symbols and not choice.every and choice.top is None:
            raise InputError("give at least one --symbol, e.g. --symbol BTCUSDT")
        unknown = [d for d in dtypes if d not in DTYPES]
        if unknown or not dtypes:
            raise InputError(f"--data {','.join(dtypes)!r}: choose from {', '.join(DTYPES)}")
        if market not in ("spot", "perp"):
            raise InputError(f"--market {market!r}: choose spot or perp")
        caps = ADAPTERS[exchange].capabilities
        for dtype in dtypes:
            served = caps.market_for(market, dtype)
            offered = served.intervals(dtype)
            if DTYPES[dtype].interval and interval not in offered:
                raise InputError(
                    f"interval {interval!r} is not offered by {exchange} {served.name} for "
                    f"{dtype}: choose one of {' '.join(offered)}"
                )
        return cls(
            exchange,
            tuple(dict.fromkeys(symbols)),
            tuple(dict.fromkeys(dtypes)),
            interval,
            window_from(now=now, **window),
            now,
            mode,
            market,
            choice,
        )

    def market_of(self, dtype: str) -> str:
        """The dataset market (spot, usdm, linear, ...) the job reads `dtype` from: the one
        `--market` names, or the perpetual market for its own series (funding, ...)."""
        return ADAPTERS[self.exchange].capabilities.market_for(self.market, dtype).name


def _window_for(job: Job, end_ms: int | None) -> Window:
    """The job's window, ended at the symbol's delisting where the list gives one."""
    if end_ms is None:
        return job.window
    end = datetime.fromtimestamp(end_ms / 1000, UTC)
    return Window(job.window.start, min(job.window.end, end))


def _lists(job: Job, rt: Runtime) -> Lists:
    urls = {m: u for (x, m), u in rt.settings.urls.items() if x == job.exchange}
    return Lists(rt.http, rt.adapter(job.exchange), urls, rt.redis, rt.ledger.keys)


async def _resolve(job: Job, rt: Runtime) -> Job:
    symbols = await choose(job.choice, _lists(job, rt), job.market_of("klines"))
    return replace(job, symbols=symbols)


def resolve(job: Job, settings: Settings) -> Job:
    """The job with its symbols: `--symbol all` and `--top` read the exchange's instrument
    list and tickers (asked once, cached an hour); named symbols are kept as given."""
    if not job.choice.every and job.choice.top is None:
        return job
    rt = Runtime(settings)
    try:
        return rt.run(_resolve(job, rt))
    finally:
        rt.close()


async def _probe(
    rt: Runtime, exchange: str, probe: list[tuple[str, str, str, str]]
) -> dict[tuple[str, str], datetime | None]:
    """(symbol, dtype) -> first data of each (exchange, market, dtype, symbol) in `probe`:
    from the week-long cache, else asked at most CONCURRENCY at a time, one request for the
    types whose probes are the same request."""
    firsts: dict[tuple[str, str], datetime | None] = {}
    cache = FirstDataCache(rt.redis, rt.ledger.keys)
    missing = []
    for where, got in zip(probe, cache.get_many(probe), strict=True):
        firsts[(where[3], where[2])] = got
        if got is None:
            missing.append(where)
    adapter = rt.adapter(exchange)
    # One probe per distinct request: klines and aggTrades of a market often share one.
    asks: dict[tuple, list[tuple[str, str, str, str]]] = {}
    for where in missing:
        request = adapter.listing_request(*where[1:])
        asks.setdefault((request.url, request.params), []).append(where)

    def asker(group: list[tuple[str, str, str, str]]):
        async def one() -> list[datetime | None]:
            _, market, _, symbol = group[0]
            dtypes = [where[2] for where in group]
            return await first_data_of(rt.http, adapter, market, dtypes, symbol)

        return one

    groups = list(asks.values())
    for group, found in zip(groups, await bounded([asker(g) for g in groups]), strict=True):
        for where, first in zip(group, found, strict=True):
            firsts[(where[3], where[2])] = first
            if first is not None:
                cache.put(*where, first)
    return firsts


async def _plans(job: Job, rt: Runtime) -> list[Plan]:
    """One plan per (symbol, dtype), in that order.

    Where a market's instrument list gives listing dates, one list (cached an hour) replaces
    a probe per symbol; the probes left run at most CONCURRENCY at once and are cached a week.
    A symbol picked from the list that a market does not list has no data there; a named
    one is probed, so the exchange says why it refuses it.
    """
    lists = _lists(job, rt)
    pairs = [(symbol, dtype) for symbol in job.symbols for dtype in job.dtypes]
    markets = dict.fromkeys(job.market_of(d) for d in job.dtypes)
    use_list = job.choice.every or len(job.symbols) > 1
    for market in markets:  # `all` read the job's own list already: Redis has it
        if (use_list and lists.dated(market)) or job.choice.every:
            await lists.instruments(market)
    if job.choice.every and job.choice.include_delisted:  # delisting dates lists lack
        for other in ADAPTERS[job.exchange].capabilities.markets:
            if lists.dated(other.name):
                await lists.instruments(other.name)
    firsts: dict[tuple[str, str], datetime | None] = {}
    ends: dict[tuple[str, str], int | None] = {}
    probe: list[tuple[str, str, str, str]] = []
    for symbol, dtype in pairs:
        market = job.market_of(dtype)
        ends[(symbol, market)] = lists.delisting(symbol, market)
        listed = lists.listed(symbol, market)
        if listed is not None and listed.listed_ms is not None:
            firsts[(symbol, dtype)] = datetime.fromtimestamp(listed.listed_ms / 1000, UTC)
        elif listed is None and lists.has(market) and symbol not in job.choice.named:
            firsts[(symbol, dtype)] = None  # not on this market: nothing to fetch
        else:
            probe.append((job.exchange, market, dtype, symbol))
    firsts.update(await _probe(rt, job.exchange, probe))
    return [
        plan(
            exchange=job.exchange,
            market=job.market_of(dtype),
            dtype=dtype,
            symbol=symbol,
            interval=job.interval if DTYPES[dtype].interval else None,
            window=_window_for(job, ends[(symbol, job.market_of(dtype))]),
            first_data=firsts[(symbol, dtype)],
            now=job.now,
        )
        for symbol, dtype in pairs
    ]


def make_plans(job: Job, settings: Settings) -> list[Plan]:
    rt = Runtime(settings)
    try:
        return rt.run(_plans(job, rt))
    finally:
        rt.close()


def run_enqueue(
    job: Job,
    settings: Settings,
    ledger: Ledger,
    *,
    dry_run: bool,
    block: bool,
    timeout_s: float | None,
    verbose: bool = False,
) -> int:
    """Returns the process exit code: 0 when everything asked for is (or was sent to be) done."""
    adapter = settings.adapter(job.exchange)
    if job.mode == "archive" and adapter.archive is None:
        raise InputError(
            f"--source archive: no archive is configured for {job.exchange} (set "
            f"{url_var(job.exchange, ARCHIVE)} if it has one); use --source auto or rest"
        )
    job = resolve(job, settings)
    plans = make_plans(job, settings)
    shards: list[Shard] = []
    source_plans = []
    empty: dict[tuple[str, str], list[str]] = {}
    sorteds = []
    memo: PlanMemo = {}
    for p, (symbol, dtype) in zip(
        plans, [(s, d) for s in job.symbols for d in job.dtypes], strict=True
    ):
        if not p.shards:
            empty.setdefault((job.market_of(dtype), dtype), []).append(symbol)
        sorted_ = sort_plans(adapter, p.shards, _ms(job.now), job.mode, memo)
        sorteds.append(sorted_)
        source_plans.extend(sorted_.plans)
        shards.extend(sorted_.served)
    for (_, dtype), symbols in empty.items():
        out.print(nothing_note(job.exchange, dtype, symbols))
    report_all(out, sorteds)
    if dry_run:
        done = ledger.is_done(shards)
        print_plan(out, job.exchange, job.mode, source_plans, done, settings, verbose=verbose)
        return 0
    from workers.celery import app

    refresh_served_whole(ledger, source_plans)
    stale_ms = int(settings.visibility_timeout_s * 1000)
    rep = enqueue(app, ledger, shards, stale_ms, job.mode)
    out.print(
        f"{len(shards)} shards planned: {len(rep.sent)} sent to queue '{job.exchange}', "
        f"{len(rep.already_done)} already done, {len(rep.in_progress)} already queued or running"
    )
    if not block or not shards:
        return 0
    return wait_and_report(ledger, shards, settings, timeout_s)


def refresh_served_whole(ledger: Ledger, plans: list[SourcePlan]) -> None:
    """Reopen stored incomplete shards that this run's plan can read whole (an archive now
    configured or asked for, say): they are sent again like any shard not done. Incomplete
    shards of closed periods stay done otherwise: what REST could not reach then, it cannot
    reach later either."""
    whole = [p.shard for p in plans if not p.incomplete]
    stale = [s for s, why in zip(whole, ledger.incomplete(whole), strict=True) if why]
    if stale:
        ledger.reopen(stale)
        out.print(
            f"{len(stale)} shard(s) stored incomplete can now be read whole: fetching them again"
        )


def wait_and_report(
    ledger: Ledger, shards: list[Shard], settings: Settings, timeout_s: float | None
) -> int:
    """Wait for `shards` with the live view, then print what was stored and what failed.

    Returns the exit code: 0 if all were stored, 1 if any failed, 130 on Ctrl-C.
    """
    try:
        outcome = wait(
            ledger,
            shards,
            out,
            budgets=settings.budgets,
            limit_key=settings.limit_key,
            timeout_s=timeout_s,
            heal=healer_for(ledger, settings).heal,
        )
    except KeyboardInterrupt:
        out.print("stopped waiting; the shards stay queued: `producer status --watch` shows them")
        return 130
    failed = outcome.failed
    out.print(
        f"finished: {outcome.stored} stored, {len(failed)} failed, "
        f"{outcome.rows:,} rows under {settings.data_dir}"
    )
    for key, reason in sorted(failed.items()):
        out.print(f"[red]failed[/red] {key}: {reason}")
    if failed:
        out.print("fix the cause, then `producer retry-failed` sends the failed shards again")
    return 1 if failed else 0


def healer_for(ledger: Ledger, settings: Settings) -> Healer:
    """A healer of the ledger's dataset, for a producer that waits or watches."""
    from workers.celery import app

    return Healer(app, Custody(ledger.client, ledger.namespace), settings)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
