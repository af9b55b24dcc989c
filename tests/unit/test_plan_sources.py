"""Planning with archives: what the user is told before anything is queued (producer/sources.py):
warnings only for what neither the archive nor REST can serve, shards stored incomplete, the
columns left null, and the dry-run table."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from producer import job as job_module
from producer.job import Job, run_enqueue
from producer.plan import plan, window_from
from producer.sources import Sorted, sort_plans, unreachable_warning
from storage.shards import Shard, to_ms
from workers.settings import Settings

NOW = datetime(2024, 6, 15, 13, 45, tzinfo=UTC)
NOW_MS = to_ms(NOW)
SETTINGS = Settings.from_env({})  # the real hosts, so every archive is configured
REST_ONLY = Settings.from_env({"GATEIO_URL": "https://mirror.test/api/v4"})


def shards(exchange: str, dtype: str, interval: str | None = None, **window) -> tuple[Shard, ...]:
    caps = SETTINGS.adapter(exchange).capabilities
    return plan(
        exchange=exchange,
        market=caps.market_for("spot", dtype).name,
        dtype=dtype,
        symbol="BTCUSDT",
        interval=interval,
        window=window_from(now=NOW, **window),
        first_data=datetime(2017, 8, 17, tzinfo=UTC),
        now=NOW,
    ).shards


def sort(exchange: str, planned, mode: str = "auto", settings=SETTINGS) -> Sorted:
    return sort_plans(settings.adapter(exchange), planned, NOW_MS, mode)


def origins(sorted_: Sorted) -> dict[str, str]:
    return {p.shard.period: p.origin for p in sorted_.plans}


def test_gate_1m_months_older_than_rest_reaches_come_from_the_archive() -> None:
    planned = shards("gateio", "klines", "1m", years=2)
    sorted_ = sort("gateio", planned)
    assert sorted_.skipped == () and sorted_.served == planned, "nothing skipped any more"
    by_period = origins(sorted_)
    assert set(list(by_period.values())[:-1]) == {"archive"}
    assert by_period["2024-06"] == "archive+rest", "closed days, then today from REST"
    no_taker = ("trades", "taker_buy_base", "taker_buy_quote")
    assert sorted_.nulls == {(no_taker, ("volume",)): list(planned)}


def test_gate_1m_over_rest_only_stores_the_reachable_days_of_this_month() -> None:
    planned = shards("gateio", "klines", "1m", years=2)
    sorted_ = sort("gateio", planned, "rest")
    assert [s.period for s in sorted_.served] == ["2024-06"]
    (june,) = sorted_.incomplete
    assert june.unreachable[0] == june.shard.start_ms and june.rest_from_ms == june.unreachable[1]
    assert [p.shard for p in sorted_.skipped] == list(planned[:-1])
    line = unreachable_warning(sorted_.skipped, sorted_.archived)
    assert "latest 10,000 1m candles" in line and "archive" not in line


def test_no_archive_url_means_rest_only_as_configured() -> None:
    planned = shards("gateio", "klines", "1m", years=2)
    assert origins(sort("gateio", planned, settings=REST_ONLY)) == {"2024-06": "rest"}


def test_gate_1h_reads_old_months_from_the_archive_and_the_rest_from_rest() -> None:
    planned = shards("gateio", "klines", "1h", years=2)
    sorted_ = sort("gateio", planned)
    assert sorted_.skipped == () and sorted_.incomplete == ()
    by_period = origins(sorted_)
    # 9,900 hours before 2024-06-15 13:45 is 2023-04-29 21:45: April starts before it
    assert [p for p, label in by_period.items() if label == "archive"][-1] == "2023-04"
    assert all(label == "rest" for p, label in by_period.items() if p >= "2023-05")
    (archived,) = [v for (_, lacks), v in sorted_.nulls.items() if lacks == ("volume",)]
    assert [s.period for s in archived] == [
        p for p, label in by_period.items() if label == "archive"
    ], "the note names exactly the shards stored without base volume"


def test_gate_15m_is_not_archived_so_old_months_are_skipped_and_one_is_incomplete() -> None:
    planned = shards("gateio", "klines", "15m", years=2)
    sorted_ = sort("gateio", planned)
    assert [s.period for s in sorted_.served] == ["2024-03", "2024-04", "2024-05", "2024-06"]
    assert [p.shard.period for p in sorted_.incomplete] == ["2024-03"]
    assert [p.shard for p in sorted_.skipped] == list(planned[:-4])
    line = " ".join(unreachable_warning(sorted_.skipped, sorted_.archived).split())
    assert "skipping 21 gateio spot klines 15m BTCUSDT shard(s) 2022-06 .. 2024-02" in line
    assert "the archive has no file for them" in line and "latest 10,000 15m candles" in line


def test_bybit_closed_days_come_from_the_archive_and_today_is_skipped() -> None:
    planned = shards("bybit", "aggtrades", days=3)
    sorted_ = sort("bybit", planned)
    assert [s.period for s in sorted_.served] == ["2024-06-13", "2024-06-14"]
    assert [p.shard.period for p in sorted_.skipped] == ["2024-06-15"]
    assert set(origins(sorted_).values()) == {"archive"}
    assert sorted_.nulls == {}, "the trade archive has every column"
    line = unreachable_warning(sorted_.skipped, sorted_.archived)
    assert "skipping 1 bybit spot aggtrades BTCUSDT shard(s) 2024-06-15" in line
    assert "closed periods only" in line and "latest 1,000 trades" in line


def test_bybit_trades_over_rest_only_are_all_skipped() -> None:
    planned = shards("bybit", "aggtrades", days=3)
    sorted_ = sort("bybit", planned, "rest")
    assert sorted_.served == () and [p.shard for p in sorted_.skipped] == list(planned)


def test_archive_only_plans_every_shard_and_the_plan_says_which_will_fail() -> None:
    planned = shards("bybit", "aggtrades", days=3)
    sorted_ = sort("bybit", planned, "archive")
    assert sorted_.served == planned and sorted_.skipped == ()
    assert [p.fails is not None for p in sorted_.plans] == [False, False, True]
    funding = shards("binance", "funding", start="2024-01-01", end="2024-03-01")
    assert sort("binance", funding, "archive").nulls == {((), ("mark_price",)): list(funding)}


def test_binance_funding_stays_on_rest_in_auto_so_mark_price_is_kept() -> None:
    funding = shards("binance", "funding", start="2024-01-01", end="2024-03-01")
    sorted_ = sort("binance", funding)
    assert sorted_.served == funding and sorted_.nulls == {}
    assert set(origins(sorted_).values()) == {"rest"}


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
    assert "25 gateio spot klines 1m BTCUSDT shard(s) 2022-06 .. 2024-06: gateio gives no" in text
    assert (
        "taker_buy_quote; they come from the archive, which has no volume (REST cannot serve "
        "them whole): stored null" in text
    )


def test_dry_run_shows_which_shards_will_be_incomplete_and_why(dry_run) -> None:
    text = dry_run("gateio", "klines", "15m", years=2)
    assert "│ rest, incomplete │ 1 │ 2024-03 │ 2024-03 │" in text
    assert "│ rest │ 3 │ 2024-04 │ 2024-06 │" in text
    assert "1 gateio spot klines 15m BTCUSDT shard(s) 2024-03 will be stored incomplete" in text
    assert "2024-03-01 00:00 UTC .. 2024-03-04 10:45 UTC cannot be read" in text
    assert "latest 10,000 15m candles" in text


def test_dry_run_warns_only_about_what_neither_source_serves(dry_run) -> None:
    text = dry_run("bybit", "aggtrades", days=3)
    assert "skipping 1 bybit spot aggtrades BTCUSDT shard(s) 2024-06-15" in text
    assert "│ archive │ 2 │ 2024-06-13 │ 2024-06-14 │" in text
    assert "stored null" not in text


@pytest.mark.parametrize(
    ("exchange", "perp"),
    [("binance", "usdm"), ("bybit", "linear"), ("gateio", "futures"), ("mexc", "contract")],
)
def test_market_perp_reads_klines_and_trades_from_the_perpetual_under_its_name(exchange, perp):
    def job(market: str, dtypes: list[str], interval: str = "1h") -> Job:
        return Job.from_options(
            symbols=["BTCUSDT"], exchange=exchange, dtypes=dtypes, interval=interval,
            now=NOW, market=market, days=2,
        )  # fmt: skip

    spot = job("spot", ["klines", "aggtrades", "funding"])
    assert [spot.market_of(d) for d in spot.dtypes] == ["spot", "spot", perp]
    futures = job("perp", ["klines", "aggtrades", "funding", "markklines", "indexklines"])
    assert {futures.market_of(d) for d in futures.dtypes} == {perp}
    assert job("spot", ["indexklines"]).market_of("indexklines") == perp, "always the perpetual's"


def test_what_a_market_does_not_serve_is_refused_before_anything_is_asked() -> None:
    from storage.errors import InputError

    with pytest.raises(InputError, match="interval '1s' is not offered by binance usdm"):
        Job.from_options(
            symbols=["BTCUSDT"], exchange="binance", dtypes=["klines"], interval="1s",
            now=NOW, market="perp", days=1,
        )  # fmt: skip
    with pytest.raises(InputError, match="mexc serves no premiumklines"):
        Job.from_options(
            symbols=["BTCUSDT"], exchange="mexc", dtypes=["premiumklines"], interval="1m",
            now=NOW, days=1,
        )  # fmt: skip


@pytest.mark.parametrize("mode", ["auto", "archive", "rest"])
@pytest.mark.parametrize(
    ("exchange", "dtype", "interval"),
    [("binance", "aggtrades", None), ("binance", "klines", "1m"), ("gateio", "klines", "1m")],
)
def test_a_universe_planned_with_one_memo_gets_each_symbols_own_plans(
    exchange, dtype, interval, mode
) -> None:
    """The memo plans a period once for every symbol: each plan still names its own shard,
    and an archive-mode failure its own key."""
    memo: dict = {}
    adapter = SETTINGS.adapter(exchange)
    for symbol in ("BTCUSDT", "ETHUSDT", "SOLUSDT"):
        planned = [replace(s, symbol=symbol) for s in shards(exchange, dtype, interval, days=40)]
        shared = sort_plans(adapter, planned, NOW_MS, mode, memo)
        alone = sort_plans(adapter, planned, NOW_MS, mode)
        assert shared == alone
        assert [p.shard.symbol for p in (*shared.plans, *shared.skipped)] == [symbol] * len(planned)
        assert all(symbol in p.fails for p in shared.plans if p.fails)
    assert memo, "the periods were planned once and kept"
