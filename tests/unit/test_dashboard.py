"""The live dashboard: what one frame shows, read from the ledger, the queue and the limiter."""

from __future__ import annotations

import asyncio
from pathlib import Path

import fakeredis
from rich.console import Console

from producer.dashboard import Pace, render, snapshot
from producer.wait import watch
from storage.ledger import Ledger
from storage.parquet import StoredFile
from storage.shards import Shard
from storage.states import group_of
from workers.ratelimit import Budget, Limiter

BUDGETS = {("binance", "spot"): Budget(6000, 60), ("binance", "usdm"): Budget(2400, 60)}
MONTHS = [Shard("binance", "spot", "klines", "BTCUSDT", f"2024-0{m}", "1m") for m in range(1, 6)]
FUND = Shard("binance", "usdm", "funding", "BTCUSDT", "2024-01")
ALL = {group_of(s.key) for s in [*MONTHS, FUND]}


def busy_ledger(ledger: Ledger, server: fakeredis.FakeServer) -> None:
    ledger.claim([*MONTHS, FUND], stale_ms=3_600_000)
    ledger.mark_stored(MONTHS[0], StoredFile(Path("x"), 44_640, 1000), complete=True, source="r")
    ledger.mark_stored(FUND, StoredFile(Path("x"), 93, 100), complete=True, source="r")
    ledger.mark_failed(MONTHS[1], "HTTP 400")
    assert ledger.lock(MONTHS[2], "token", 60_000)
    ledger.client.rpush(ledger.keys.queue("binance"), "message-1", "message-2")
    limiter = Limiter(fakeredis.FakeAsyncRedis(server=server), BUDGETS)
    asyncio.run(limiter.acquire("binance", "spot", 1500))
    asyncio.run(limiter.cool_down("binance", "fapi.binance.com", 30))


def frame_text(ledger: Ledger) -> str:
    snap = snapshot(ledger, ALL, BUDGETS)
    pace = Pace()
    pace.see(snap)
    console = Console(record=True, width=160, force_terminal=False)
    console.print(render(snap, pace, BUDGETS))
    return console.export_text()


def test_a_frame_counts_shards_per_exchange_and_data_type(
    ledger: Ledger, redis_server: fakeredis.FakeServer
) -> None:
    busy_ledger(ledger, redis_server)
    snap = snapshot(ledger, ALL, BUDGETS)
    lines = {line.data: line for line in snap.lines}
    klines = lines["klines 1m"]
    assert (klines.planned, klines.done, klines.failed, klines.running, klines.queued) == (
        5,
        1,
        1,
        1,
        2,
    )
    assert klines.rows == 44_640 and lines["funding"].done == 1
    assert snap.queues == {"binance": 2}
    assert snap.limits == {("binance", "spot"): 1500, ("binance", "usdm"): 0}
    assert list(snap.cooldowns) == [("binance", "fapi.binance.com")]
    assert 25 < snap.cooldowns[("binance", "fapi.binance.com")] <= 30


def test_the_frame_shows_counts_queue_depth_and_limiter_use(
    ledger: Ledger, redis_server: fakeredis.FakeServer
) -> None:
    busy_ledger(ledger, redis_server)
    text = frame_text(ledger)
    assert "1/5" in text and "44,640" in text
    assert "queue depth  binance: 2" in text
    assert "limiter binance spot: 1,500/6,000 per 60s (25%)" in text
    assert "binance fapi.binance.com: cooling down 30s" in text


def test_pace_gives_rows_per_second_and_eta_from_shards_finished_while_watching(
    ledger: Ledger,
) -> None:
    ledger.claim(MONTHS, stale_ms=3_600_000)
    pace = Pace()
    first = snapshot(ledger, ALL, BUDGETS)
    pace.see(first)
    ledger.mark_stored(MONTHS[0], StoredFile(Path("x"), 1000, 10), complete=True, source="r")
    later = snapshot(ledger, ALL, BUDGETS)
    later.at_s = first.at_s + 10.0  # ten seconds on: 1000 rows, one shard of five
    (line,) = later.lines
    assert pace.rates(later, line) == ("100", "40s")


def test_watch_draws_the_frames_it_is_asked_for_and_returns(ledger: Ledger) -> None:
    ledger.claim(MONTHS, stale_ms=3_600_000)
    console = Console(record=True, width=160, force_terminal=False)
    watch(ledger, lambda s: True, console, budgets=BUDGETS, poll_s=0.01, frames=2)
    assert "0/5" in console.export_text()


def test_a_host_with_its_own_limit_key_sees_its_own_budget(ledger: Ledger, redis_server) -> None:
    ledger.claim(MONTHS, stale_ms=3_600_000)
    limiter = Limiter(fakeredis.FakeAsyncRedis(server=redis_server), BUDGETS, limit_key="eu-1")
    asyncio.run(limiter.acquire("binance", "spot", 700))
    assert snapshot(ledger, ALL, BUDGETS, "eu-1").limits[("binance", "spot")] == 700
    assert snapshot(ledger, ALL, BUDGETS).limits[("binance", "spot")] == 0
