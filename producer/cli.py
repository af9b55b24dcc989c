"""The `producer` command line: enqueue, status, retry-failed, verify, reconcile, coverage.

Expected failures print one line and exit 2 (refused input) or 1.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any

import click
import redis

from producer.terminal import make_console
from storage.dtypes import DTYPES
from storage.errors import InputError, ShardfetchError
from storage.ledger import Ledger
from storage.shards import Shard, clean_symbol
from workers.credentials import mask
from workers.exchanges import EXCHANGES
from workers.redisconn import redis_client
from workers.settings import Settings


def expected_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Print a ShardfetchError as one line: exit 2 for refused input, 1 for the rest."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except InputError as exc:
            click.echo(f"error: {mask(str(exc))}", err=True)
            sys.exit(2)
        except ShardfetchError as exc:
            click.echo(f"error: {mask(str(exc))}", err=True)
            sys.exit(1)

    return wrapper


def connect(settings: Settings) -> Ledger:
    """A ledger on a Redis that answers, or an InputError that says how to get one."""
    client = redis_client(settings.redis_url)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise InputError(
            f"cannot reach Redis at {mask(settings.redis_url)} ({mask(str(exc))}); start "
            "redis-server or point REDIS_URL at a running one"
        ) from None
    return Ledger(client, settings.namespace)


def selector(
    exchange: str | None, symbol: str | None, dtype: str | None
) -> Callable[[Shard], bool]:
    """Keep the shards of one exchange / symbol / data type; None keeps all."""
    name = None if symbol is None else clean_symbol(symbol)

    def keep(shard: Shard) -> bool:
        return (
            (exchange is None or shard.exchange == exchange)
            and (name is None or shard.symbol == name)
            and (dtype is None or shard.dtype == dtype)
        )

    return keep


def filters(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option(
        "--data", "dtype", type=click.Choice(list(DTYPES)), help="Only this data type."
    )(func)
    func = click.option("--symbol", help="Only this symbol.")(func)
    return click.option("--exchange", help="Only this exchange.")(func)


def split_list(values: tuple[str, ...]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Backfill crypto market history into Parquet with a Celery cluster."""


@main.command()
@click.option(
    "--symbol",
    "symbols",
    multiple=True,
    help="Symbol as the user writes it (BTCUSDT); repeat or comma-separate. `all`: every "
    "symbol the exchange lists for --quote on the market the job reads.",
)
@click.option(
    "--quote", default="USDT", show_default=True, help="With --symbol all: the quote currency."
)
@click.option(
    "--top",
    type=int,
    help="Only the N symbols with the largest 24 h quote volume (of --symbol all when no "
    "symbol is named).",
)
@click.option(
    "--symbols-file",
    type=click.Path(dir_okay=False),
    help="Read symbols from FILE, one a line (`#` starts a comment).",
)
@click.option(
    "--include-delisted",
    is_flag=True,
    help="With --symbol all: also the symbols that stopped trading (each up to its last day).",
)
@click.option(
    "--exchange", default="binance", show_default=True, help=f"One of: {', '.join(EXCHANGES)}."
)
@click.option(
    "--data",
    "data",
    default="klines,aggtrades,funding",
    show_default=True,
    help=f"Comma list of {', '.join(DTYPES)}.",
)
@click.option(
    "--market",
    type=click.Choice(["spot", "perp"]),
    default="spot",
    show_default=True,
    help="Where klines and aggtrades come from: spot, or the exchange's perpetual market "
    "(stored as usdm, linear, futures, contract); funding, mark/index/premium klines and "
    "open interest are always the perpetual's.",
)
@click.option(
    "--interval", default="1m", show_default=True, help="Candle interval of the kline types."
)
@click.option("--years", type=int, help="Look back N years from today.")
@click.option("--days", type=int, help="Look back N days, today included.")
@click.option("--start", help="First day, YYYY-MM-DD (UTC).")
@click.option("--end", help="Day after the last, YYYY-MM-DD (UTC, exclusive); default now.")
@click.option(
    "--source",
    type=click.Choice(["auto", "archive", "rest"]),
    default="auto",
    show_default=True,
    help="auto: the exchange's checksummed archive for closed periods, REST for the open "
    "tail and anything the archive lacks; archive: archive only (else the shard fails); "
    "rest: REST only.",
)
@click.option("--dry-run", is_flag=True, help="Print the plan; enqueue nothing.")
@click.option("--verbose", is_flag=True, help="With --dry-run: one row per symbol, not per group.")
@click.option(
    "--wait",
    "wait_",
    is_flag=True,
    help="Block with a progress bar until every shard is done or failed.",
)
@click.option("--timeout", type=float, help="With --wait: give up after this many seconds.")
@expected_errors
def enqueue(
    symbols: tuple[str, ...],
    quote: str,
    top: int | None,
    symbols_file: str | None,
    include_delisted: bool,
    exchange: str,
    data: str,
    market: str,
    interval: str,
    years: int | None,
    days: int | None,
    start: str | None,
    end: str | None,
    source: str,
    dry_run: bool,
    verbose: bool,
    wait_: bool,
    timeout: float | None,
) -> None:
    """Plan a window into shards and queue the ones not done yet."""
    from producer.job import Job, run_enqueue
    from producer.universe import Choice

    now = datetime.now(UTC)
    choice = Choice.from_options(
        split_list(symbols),
        symbols_file=symbols_file,
        quote=quote,
        top=top,
        include_delisted=include_delisted,
    )
    job = Job.from_options(
        symbols=list(choice.named),
        choice=choice,
        exchange=exchange.strip().lower(),
        dtypes=split_list((data,)),
        interval=interval.strip(),
        years=years,
        days=days,
        start=start,
        end=end,
        now=now,
        mode=source,
        market=market,
    )
    settings = Settings.from_env()
    ledger = connect(settings)
    settings.store().check()
    code = run_enqueue(
        job, settings, ledger, dry_run=dry_run, block=wait_, timeout_s=timeout, verbose=verbose
    )
    sys.exit(code)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option("--watch", is_flag=True, help="Redraw a live view every second until Ctrl-C.")
@click.option("--verbose", "-v", is_flag=True, help="One row per symbol (also with --symbol).")
@filters
@expected_errors
def status(
    as_json: bool,
    watch: bool,
    verbose: bool,
    exchange: str | None,
    symbol: str | None,
    dtype: str | None,
) -> None:
    """Shards planned, done, partial, queued, running and failed, with rows and bytes stored:
    per exchange, market and data type, or per symbol with --verbose or --symbol."""
    from producer.status import collect, dataset_of, render
    from storage.custody import Custody

    settings = Settings.from_env()
    ledger = connect(settings)
    keep = selector(exchange, symbol, dtype)
    if watch:
        from producer.job import healer_for
        from producer.wait import watch as watch_live

        watch_live(
            ledger,
            keep,
            make_console(),
            budgets=settings.budgets,
            limit_key=settings.limit_key,
            heal=healer_for(ledger, settings).heal,
        )
        return
    rep = collect(ledger, keep)
    rep.dataset = dataset_of(Custody(ledger.client, ledger.namespace), str(settings.data_dir))
    if as_json:
        click.echo(json.dumps(rep.as_dict(), indent=2))
    else:
        render(rep, make_console(), verbose=verbose or symbol is not None)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@filters
@expected_errors
def verify(as_json: bool, exchange: str | None, symbol: str | None, dtype: str | None) -> None:
    """Check the stored files (gaps, duplicates, bad candles, ...) and the ledger; exit 1 on
    problems."""
    from producer.audit import audit, render

    settings = Settings.from_env()
    rep = audit(settings.store(), connect(settings), selector(exchange, symbol, dtype))
    if as_json:
        click.echo(json.dumps(rep.as_dict(), indent=2))
    else:
        render(rep, make_console())
    sys.exit(1 if rep.problems else 0)


@main.command("retry-failed")
@filters
@click.option(
    "--source",
    type=click.Choice(["auto", "archive", "rest"]),
    default="auto",
    show_default=True,
    help="Where the shards are read from this time (as for enqueue).",
)
@click.option(
    "--incomplete",
    is_flag=True,
    help="Also fetch again the shards stored incomplete (part of their period unreachable).",
)
@click.option("--dry-run", is_flag=True, help="List the failed shards and their reasons only.")
@click.option("--wait", "wait_", is_flag=True, help="Block with a progress bar until they finish.")
@click.option("--timeout", type=float, help="With --wait: give up after this many seconds.")
@expected_errors
def retry_failed(
    exchange: str | None,
    symbol: str | None,
    dtype: str | None,
    source: str,
    incomplete: bool,
    dry_run: bool,
    wait_: bool,
    timeout: float | None,
) -> None:
    """Send the shards that failed (see `producer status`) to their queues again."""
    from producer.job import out, wait_and_report
    from producer.retry import failed_shards, incomplete_shards, resend_failed

    settings = Settings.from_env()
    ledger = connect(settings)
    keep = selector(exchange, symbol, dtype)
    failures = failed_shards(ledger, keep)
    partial = incomplete_shards(ledger, keep) if incomplete else {}
    if not failures and not partial:
        what = "failed or incomplete" if incomplete else "failed"
        out.print(f"no {what} shards in this selection: nothing to retry")
        return
    for shard, reason in failures.items():
        out.print(f"[red]failed[/red] {shard.key}: {reason}")
    for shard, why in partial.items():
        out.print(f"[yellow]incomplete[/yellow] {shard.key}: {why}")
    if dry_run:
        return
    ledger.reopen(list(partial))
    failures |= partial
    rep = resend_failed(ledger, list(failures), settings, source)
    out.print(
        f"{len(rep.sent)} failed shards sent again, {len(rep.already_done)} done meanwhile, "
        f"{len(rep.in_progress)} already queued or running"
    )
    if wait_:
        sys.exit(wait_and_report(ledger, list(failures), settings, timeout))


@main.command()
@expected_errors
def reconcile() -> None:
    """Rebuild the ledger from the files under DATA_DIR (after Redis lost it), and remove what
    killed writers left (temp files, incomplete uploads)."""
    from producer.reconcile import reconcile as run

    settings = Settings.from_env()
    done = run(connect(settings), settings.store())
    rebuilt = done.rebuilt
    click.echo(
        f"ledger rebuilt from {settings.data_dir}: {rebuilt.done} done, {rebuilt.partial} "
        f"partial ({rebuilt.restored} restored), {rebuilt.dropped} entries without a file dropped"
    )
    click.echo(
        f"{done.removed} leftovers of interrupted writes removed (temp files, incomplete "
        f"uploads); {len(done.busy)} shards being written now keep theirs"
    )


@main.command()
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True),
    default="coverage.png",
    show_default=True,
    help="PNG file to write.",
)
@filters
@expected_errors
def coverage(out: str, exchange: str | None, symbol: str | None, dtype: str | None) -> None:
    """Draw what is stored as calendar strips: done, partial, empty, failed, missing."""
    from pathlib import Path

    from producer.coverage import draw, strips

    settings = Settings.from_env()
    rows = strips(connect(settings), settings.store(), selector(exchange, symbol, dtype))
    if not rows:
        raise InputError("nothing planned or stored for this selection: nothing to draw")
    counts = draw(rows, Path(out))
    summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    click.echo(f"wrote {out}: {len(rows)} strips; cells {summary}")
