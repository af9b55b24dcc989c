"""One enqueue job: validate it, ask the exchange about each symbol, plan, send, wait."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from producer.enqueue import enqueue
from producer.listing import FirstDataCache, first_data
from producer.plan import Plan, Window, plan, window_from
from producer.sources import print_plan, report, sort_plans
from producer.terminal import make_console
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

__all__ = ["Job", "make_plans", "run_enqueue"]

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
        **window: object,
    ) -> Job:
        if exchange not in ADAPTERS:
            raise InputError(f"unknown exchange {exchange!r}: choose one of {', '.join(ADAPTERS)}")
        if not symbols:
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
        )

    def market_of(self, dtype: str) -> str:
        """The dataset market (spot, usdm, linear, ...) the job reads `dtype` from: the one
        `--market` names, or the perpetual market for its own series (funding, ...)."""
        return ADAPTERS[self.exchange].capabilities.market_for(self.market, dtype).name


async def _first_data(job: Job, rt: Runtime, symbol: str, dtype: str) -> datetime | None:
    cache = FirstDataCache(rt.redis, rt.ledger.keys)
    where = (job.exchange, job.market_of(dtype), dtype, symbol)
    first = cache.get(*where)
    if first is None:
        first = await first_data(rt.http, rt.adapter(job.exchange), *where[1:])
        if first is not None:
            cache.put(*where, first)
    return first


async def _plans(job: Job, rt: Runtime) -> list[Plan]:
    pairs = [(symbol, dtype) for symbol in job.symbols for dtype in job.dtypes]
    firsts = await asyncio.gather(*(_first_data(job, rt, s, d) for s, d in pairs))
    return [
        plan(
            exchange=job.exchange,
            market=job.market_of(dtype),
            dtype=dtype,
            symbol=symbol,
            interval=job.interval if DTYPES[dtype].interval else None,
            window=job.window,
            first_data=first,
            now=job.now,
        )
        for (symbol, dtype), first in zip(pairs, firsts, strict=True)
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
) -> int:
    """Returns the process exit code: 0 when everything asked for is (or was sent to be) done."""
    adapter = settings.adapter(job.exchange)
    if job.mode == "archive" and adapter.archive is None:
        raise InputError(
            f"--source archive: no archive is configured for {job.exchange} (set "
            f"{url_var(job.exchange, ARCHIVE)} if it has one); use --source auto or rest"
        )
    plans = make_plans(job, settings)
    shards: list[Shard] = []
    source_plans = []
    for p, (symbol, dtype) in zip(
        plans, [(s, d) for s in job.symbols for d in job.dtypes], strict=True
    ):
        if not p.shards:
            out.print(
                f"[yellow]note[/yellow]: {job.exchange} has no {dtype} for {symbol} in "
                "this window (before its listing?); nothing to fetch"
            )
        sorted_ = sort_plans(adapter, p.shards, _ms(job.now), job.mode)
        report(out, sorted_)
        source_plans.extend(sorted_.plans)
        shards.extend(sorted_.served)
    if dry_run:
        done = ledger.is_done(shards)
        print_plan(out, job.exchange, job.mode, source_plans, done, settings)
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
