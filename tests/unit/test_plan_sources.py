"""Planning with archives: the source each shard comes from, and warnings only for what
neither the archive nor REST can serve (producer/reach.py, the dry-run table)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from producer import job as job_module
from producer.job import Job, run_enqueue
from producer.plan import plan, window_from
from producer.reach import split_sources, unreachable_warning
from storage.shards import Shard, to_ms
from workers.archive import planned_files, source_label
from workers.settings import Settings

NOW = datetime(2024, 6, 15, 13, 45, tzinfo=UTC)
NOW_MS = to_ms(NOW)
SETTINGS = Settings.from_env({})  # the real hosts, so every archive is configured


def shards(exchange: str, dtype: str, interval: str | None = None, **window) -> tuple[Shard, ...]:
    adapter = SETTINGS.adapter(exchange)
    return plan(
        exchange=exchange,
        market=adapter.markets[dtype],
        dtype=dtype,
        symbol="BTCUSDT",
        interval=interval,
        window=window_from(now=NOW, **window),
        first_data=datetime(2017, 8, 17, tzinfo=UTC),
        now=NOW,
    ).shards


def sources(exchange: str, planned: tuple[Shard, ...], source: str = "auto") -> dict[str, str]:
    adapter = SETTINGS.adapter(exchange)
    return {
        s.period: source_label(planned_files(adapter, s, NOW_MS, source), min(s.end_ms, NOW_MS))
        for s in planned
    }


def test_gate_1m_months_older_than_rest_reaches_come_from_the_archive() -> None:
    planned = shards("gateio", "klines", "1m", years=2)
    split = split_sources(SETTINGS.adapter("gateio"), planned, NOW_MS, "auto")
    assert split.beyond == () and split.served == planned, "nothing skipped any more"
    by_period = sources("gateio", planned)
    assert set(list(by_period.values())[:-1]) == {"archive"}
    assert by_period["2024-06"] == "archive+rest", "closed days, then today from REST"
    assert split.nulls == {("volume",): list(planned)}


def test_gate_1m_over_rest_only_is_still_skipped_with_the_reason() -> None:
    planned = shards("gateio", "klines", "1m", years=2)
    split = split_sources(SETTINGS.adapter("gateio"), planned, NOW_MS, "rest")
    assert split.served == () and split.beyond == planned
    line = unreachable_warning("gateio", split.beyond, split.reach)
    assert "latest 10,000 1m candles" in line and "archive" not in line


def test_gate_1h_reads_old_months_from_the_archive_and_the_rest_from_rest() -> None:
    planned = shards("gateio", "klines", "1h", years=2)
    split = split_sources(SETTINGS.adapter("gateio"), planned, NOW_MS, "auto")
    assert split.beyond == ()
    by_period = sources("gateio", planned)
    # 9,900 hours before 2024-06-15 13:45 is 2023-04-29 21:45: April starts before it
    assert [p for p, label in by_period.items() if label == "archive"][-1] == "2023-04"
    assert all(label == "rest" for p, label in by_period.items() if p >= "2023-05")
    assert [s.period for s in split.nulls[("volume",)]] == [
        p for p, label in by_period.items() if label == "archive"
    ], "the note names exactly the shards stored without base volume"


def test_gate_15m_is_not_archived_so_only_old_months_are_skipped() -> None:
    planned = shards("gateio", "klines", "15m", years=2)
    split = split_sources(SETTINGS.adapter("gateio"), planned, NOW_MS, "auto")
    assert [s.period for s in split.served] == ["2024-04", "2024-05", "2024-06"]
    assert split.beyond == planned[:-3] and split.nulls == {}
    line = " ".join(unreachable_warning("gateio", split.beyond, split.reach, True).split())
    assert "skipping 22 gateio klines 15m BTCUSDT shard(s) 2022-06 .. 2024-03" in line
    assert "the archive has no file for them" in line and "latest 10,000 15m candles" in line


def test_bybit_closed_days_come_from_the_archive_and_today_is_skipped() -> None:
    planned = shards("bybit", "aggtrades", days=3)
    split = split_sources(SETTINGS.adapter("bybit"), planned, NOW_MS, "auto")
    assert [s.period for s in split.served] == ["2024-06-13", "2024-06-14"]
    assert [s.period for s in split.beyond] == ["2024-06-15"]
    assert set(sources("bybit", split.served).values()) == {"archive"}
    assert split.nulls == {}, "the trade archive has every column"
    line = unreachable_warning("bybit", split.beyond, split.reach, True)
    assert "skipping 1 bybit aggtrades BTCUSDT shard(s) 2024-06-15" in line
    assert "closed periods only" in line and "latest 1,000 trades" in line


def test_bybit_trades_over_rest_only_are_all_skipped() -> None:
    planned = shards("bybit", "aggtrades", days=3)
    split = split_sources(SETTINGS.adapter("bybit"), planned, NOW_MS, "rest")
    assert split.served == () and split.beyond == planned


def test_archive_only_plans_every_shard_and_the_plan_says_which_will_fail() -> None:
    planned = shards("bybit", "aggtrades", days=3)
    split = split_sources(SETTINGS.adapter("bybit"), planned, NOW_MS, "archive")
    assert split.served == planned and split.beyond == ()
    funding = shards("binance", "funding", start="2024-01-01", end="2024-03-01")
    split = split_sources(SETTINGS.adapter("binance"), funding, NOW_MS, "archive")
    assert split.nulls == {("mark_price",): list(funding)}


def test_binance_funding_stays_on_rest_in_auto_so_mark_price_is_kept() -> None:
    funding = shards("binance", "funding", start="2024-01-01", end="2024-03-01")
    split = split_sources(SETTINGS.adapter("binance"), funding, NOW_MS, "auto")
    assert split.served == funding and split.nulls == {}
    assert set(sources("binance", funding).values()) == {"rest"}


@pytest.fixture
def dry_run(monkeypatch, ledger, capsys):
    """dry_run(exchange, dtype, interval, **window) -> the printed plan, on fixed shards."""

    def run(exchange: str, dtype: str, interval: str = "1m", **window) -> str:
        job = Job.from_options(
            symbols=["BTCUSDT"],
            exchange=exchange,
            dtypes=[dtype],
            interval=interval,
            now=NOW,
            **window,
        )
        planned = shards(exchange, dtype, interval if dtype == "klines" else None, **window)
        monkeypatch.setattr(
            job_module, "make_plans", lambda job, settings: [job_module.Plan(planned, None)]
        )
        assert run_enqueue(job, SETTINGS, ledger, dry_run=True, block=False, timeout_s=None) == 0
        return " ".join(capsys.readouterr().out.split())

    return run


def test_dry_run_shows_the_source_per_group_and_the_null_column(dry_run) -> None:
    text = dry_run("gateio", "klines", "1m", years=2)
    assert "skipping" not in text
    assert "│ archive │ 24 │ 2022-06 │ 2024-05 │" in text
    assert "│ archive+rest │ 1 │ 2024-06 │ 2024-06 │" in text
    assert "25 gateio klines 1m BTCUSDT shard(s) 2022-06 .. 2024-06 come from the archive" in text
    assert "which has no volume: stored null (REST cannot serve them whole)" in text


def test_dry_run_warns_only_about_what_neither_source_serves(dry_run) -> None:
    text = dry_run("bybit", "aggtrades", days=3)
    assert "skipping 1 bybit aggtrades BTCUSDT shard(s) 2024-06-15" in text
    assert "│ archive │ 2 │ 2024-06-13 │ 2024-06-14 │" in text
    assert "stored null" not in text
