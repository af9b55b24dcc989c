"""Perpetual futures end to end: `--market perp` and the perpetual's own series on every
exchange, real workers on each exchange's queue against the simulator over HTTP, every stored
row compared with the ground truth; and Gate's 1m candles that REST reaches only in part,
stored incomplete and reported unreachable by `verify`."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from bench.cluster import run_producer
from simulator import market
from storage.layout import shard_path
from storage.parquet import file_metadata
from storage.shards import Shard, to_ms
from tests.integration.truth import stored_frame

TRADES_PER_DAY = 3_000
PRICES = ["open_time", "open", "high", "low", "close", "close_time"]
SIZES = ["volume", "quote_volume", "trades", "taker_buy_base", "taker_buy_quote"]
TRADE_COLUMNS = ["price", "qty", "time", "is_buyer_maker"]


@pytest.fixture
def cluster(make_cluster):
    # Eight symbols: the four of today and BAFEUSDT (8 h funding until the 15th of last
    # month, 4 h since), BAROUSDT (hourly) and two more.
    return make_cluster("--trades-per-day", str(TRADES_PER_DAY), "--symbols", "8")


def enqueue(cluster, exchange: str, *args: str, symbol: str = "BTCUSDT") -> str:
    result = run_producer(
        cluster.env,
        *("enqueue", "--exchange", exchange, "--symbol", symbol, *args),
        *("--wait", "--timeout", "150"),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return " ".join(result.stdout.split())


def verify(cluster, exchange: str) -> dict:
    result = run_producer(cluster.env, "verify", "--exchange", exchange, "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["problems"] == 0, result.stdout
    return report


def last_month() -> tuple[str, date, date]:
    this = datetime.now(UTC).date().replace(day=1)
    first = (this - timedelta(days=1)).replace(day=1)
    return first.isoformat()[:7], first, this


def window(first: date, end: date) -> list[str]:
    return ["--start", first.isoformat(), "--end", end.isoformat()]


def stored_until_truth(
    cluster, shard: Shard, truth: pd.DataFrame, key: str, from_first: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The stored rows and the ground truth up to the last one stored (an open period stores
    closed candles only), and with `from_first` from the first one stored (an incomplete
    shard's REST part)."""
    stored = stored_frame(cluster.data_dir, shard)
    keep = truth[key] <= stored[key].iloc[-1]
    if from_first:
        keep &= truth[key] >= stored[key].iloc[0]
    truth = truth[keep].reset_index(drop=True)
    assert len(stored) == len(truth) > 0, shard.key
    return stored, truth


def check_candles(
    cluster, shard: Shard, sized: tuple[str, ...] = (), from_first: bool = False
) -> pd.DataFrame:
    """Prices as the truth; the columns `sized` as the truth too, every other size null."""
    if shard.dtype == "klines":
        truth = market.klines("BTCUSDT", "usdm", shard.interval, shard.start_ms, shard.end_ms)
    else:
        kind = shard.dtype.removesuffix("klines")
        truth = market.price_klines(kind, "BTCUSDT", shard.interval, shard.start_ms, shard.end_ms)
    stored, truth = stored_until_truth(cluster, shard, truth, "open_time", from_first)
    columns = PRICES + list(sized)
    pd.testing.assert_frame_equal(
        stored[columns], truth[columns], check_dtype=False, check_exact=True, obj=shard.key
    )
    assert stored[[c for c in SIZES if c not in sized]].isna().all().all(), shard.key
    return stored


def check_trades(cluster, shard: Shard) -> pd.DataFrame:
    truth = market.aggtrades(
        "BTCUSDT", "usdm", shard.start_ms, shard.end_ms, trades_per_day=TRADES_PER_DAY
    )
    stored = stored_frame(cluster.data_dir, shard)
    assert len(stored) == len(truth) > 0, shard.key
    for column in TRADE_COLUMNS:
        assert (stored[column].to_numpy() == truth[column].to_numpy()).all(), column
    return stored


def check_open_interest(cluster, shard: Shard, value: bool = True) -> pd.DataFrame:
    truth = market.open_interest("BTCUSDT", shard.start_ms, shard.end_ms)
    stored, truth = stored_until_truth(cluster, shard, truth, "time")
    assert np.array_equal(stored["time"], truth["time"])
    assert np.array_equal(stored["open_interest"], truth["open_interest"])
    if value:
        assert np.array_equal(stored["open_interest_value"], truth["open_interest_value"])
    else:
        assert stored["open_interest_value"].isna().all()
    return stored


def origin(cluster, shard: Shard) -> str:
    return file_metadata(shard_path(cluster.data_dir, shard))["source"]


def test_binance_perpetual_series_from_rest_and_from_the_archive(cluster) -> None:
    cluster.start_worker("binance", queue="binance")
    period, first, this = last_month()
    day = this - timedelta(days=1)
    # Perpetual candles and trades: last month's file and yesterday's, from the archive.
    enqueue(cluster, "binance", "--market", "perp", "--data", "klines", "--interval", "1h",
            *window(first, this))  # fmt: skip
    enqueue(cluster, "binance", "--market", "perp", "--data", "aggtrades",
            *window(day, this))  # fmt: skip
    klines = Shard("binance", "usdm", "klines", "BTCUSDT", period, "1h")
    check_candles(cluster, klines, sized=tuple(SIZES))
    trades = Shard("binance", "usdm", "aggtrades", "BTCUSDT", day.isoformat())
    check_trades(cluster, trades)
    assert origin(cluster, klines) == origin(cluster, trades) == "archive"
    # The perpetual's own series: last month from the archive ...
    own = "markklines,indexklines,premiumklines,openinterest"
    enqueue(cluster, "binance", "--data", own, "--interval", "1h", "--source", "archive",
            *window(first, this))  # fmt: skip
    # ... and this month's days from REST (open interest reaches back 30 days).
    enqueue(cluster, "binance", "--data", own, "--interval", "1h", "--source", "rest",
            "--start", this.isoformat())  # fmt: skip
    for month, source in ((period, "archive"), (this.isoformat()[:7], "rest")):
        for dtype in ("markklines", "indexklines", "premiumklines"):
            shard = Shard("binance", "usdm", dtype, "BTCUSDT", month, "1h")
            check_candles(cluster, shard)
            assert origin(cluster, shard) == source, shard.key
        oi = Shard("binance", "usdm", "openinterest", "BTCUSDT", month)
        check_open_interest(cluster, oi)
        assert origin(cluster, oi) == source
    oi_month = Shard("binance", "usdm", "openinterest", "BTCUSDT", period)
    files = file_metadata(shard_path(cluster.data_dir, oi_month))["archive_files"].split(",")
    assert len(files) == (this - first).days, "one metrics file a day"
    # Funding whose interval changes from 8 h to 4 h mid-month passes verify, as a note.
    enqueue(cluster, "binance", "--data", "funding", *window(first, this), symbol="BAFEUSDT")
    report = verify(cluster, "binance")
    (change,) = [f for f in report["findings"] if f["kind"] == "funding_interval"]
    assert change["shard"] == f"binance:usdm:funding:BAFEUSDT:{period}"
    assert f"every 8 h until {period}-15 16:00 UTC, then every 4 h" in change["detail"]


def test_bybit_perpetual_candles_trades_and_its_own_series(cluster) -> None:
    cluster.start_worker("bybit", queue="bybit")
    period, first, this = last_month()
    day = datetime.now(UTC).date() - timedelta(days=2)
    enqueue(cluster, "bybit", "--market", "perp", "--data", "klines,markklines", "--interval",
            "1h", *window(first, this))  # fmt: skip
    out = enqueue(cluster, "bybit", "--market", "perp", "--data", "aggtrades", "--days", "3")
    assert "skipping 1 bybit linear aggtrades BTCUSDT shard(s)" in out, "today: 1,000 trades"
    check_candles(cluster, Shard("bybit", "linear", "klines", "BTCUSDT", period, "1h"),
                  sized=("volume", "quote_volume"))  # fmt: skip
    check_candles(cluster, Shard("bybit", "linear", "markklines", "BTCUSDT", period, "1h"))
    trades = check_trades(cluster, Shard("bybit", "linear", "aggtrades", "BTCUSDT", str(day)))
    assert trades["agg_id"].tolist() == list(range(1, len(trades) + 1)), "rows numbered"
    enqueue(cluster, "bybit", "--data", "openinterest", "--start", this.isoformat())
    check_open_interest(
        cluster, Shard("bybit", "linear", "openinterest", "BTCUSDT", this.isoformat()[:7]), False
    )
    verify(cluster, "bybit")


def test_mexc_perpetual_candles_and_what_it_cannot_serve(cluster) -> None:
    cluster.start_worker("mexc", queue="mexc")
    period, first, this = last_month()
    enqueue(cluster, "mexc", "--market", "perp", "--data", "klines,indexklines",
            "--interval", "1h", *window(first, this))  # fmt: skip
    check_candles(cluster, Shard("mexc", "contract", "klines", "BTCUSDT", period, "1h"),
                  sized=("volume", "quote_volume"))  # fmt: skip
    check_candles(cluster, Shard("mexc", "contract", "indexklines", "BTCUSDT", period, "1h"))
    out = enqueue(cluster, "mexc", "--market", "perp", "--data", "aggtrades", "--days", "1")
    assert "skipping 1 mexc contract aggtrades" in out and "latest 100" in out
    refused = run_producer(
        cluster.env, "enqueue", "--exchange", "mexc", "--symbol", "BTCUSDT", "--data",
        "openinterest", "--days", "1",
    )  # fmt: skip
    assert refused.returncode == 2 and "mexc serves no openinterest" in refused.stderr
    verify(cluster, "mexc")


def test_gate_perpetual_and_1m_candles_rest_reaches_only_in_part(cluster) -> None:
    """Gate's REST candles reach back 10,000 intervals (1m: about a week) and its archive has
    no futures: of a 10-day 1m window, the month REST reaches into is stored from the first
    candle it serves, recorded incomplete with the reason, and `verify` calls the rest
    unreachable; a month wholly beyond reach is skipped with a warning."""
    cluster.start_worker("gateio", queue="gateio")
    period, first, this = last_month()
    day = datetime.now(UTC).date() - timedelta(days=1)
    enqueue(cluster, "gateio", "--market", "perp", "--data", "klines", "--interval", "1h",
            *window(first, this))  # fmt: skip
    enqueue(cluster, "gateio", "--market", "perp", "--data", "aggtrades",
            *window(day, day + timedelta(days=1)))  # fmt: skip
    check_candles(cluster, Shard("gateio", "futures", "klines", "BTCUSDT", period, "1h"),
                  sized=("volume", "quote_volume"))  # fmt: skip
    trades = check_trades(cluster, Shard("gateio", "futures", "aggtrades", "BTCUSDT", str(day)))
    assert (trades["agg_id"] == trades["first_id"]).all()

    now = datetime.now(UTC)
    out = enqueue(cluster, "gateio", "--market", "perp", "--data", "klines", "--interval",
                  "1m", "--days", "10")  # fmt: skip
    reach_ms = to_ms(now) - 9_900 * 60_000
    month = f"{datetime.fromtimestamp(reach_ms / 1000, UTC):%Y-%m}"
    straddled = Shard("gateio", "futures", "klines", "BTCUSDT", month, "1m")
    assert "will be stored incomplete" in out and "latest 10,000 1m candles" in out, out
    stored = check_candles(cluster, straddled, ("volume", "quote_volume"), from_first=True)
    first_ms = int(stored["open_time"].iloc[0])
    assert reach_ms <= first_ms <= reach_ms + 10 * 60_000, "from the first candle REST serves"
    meta = file_metadata(shard_path(cluster.data_dir, straddled))
    assert json.loads(meta["unreachable"]) == [straddled.start_ms, first_ms]
    assert meta["incomplete"] == "Gate's REST API serves only the latest 10,000 1m candles"
    status = json.loads(run_producer(cluster.env, "status", "--json").stdout)
    assert {"shard": straddled.key, "reason": meta["incomplete"]} in status["incomplete"]
    report = verify(cluster, "gateio")
    (unreachable,) = [f for f in report["findings"] if f["kind"] == "unreachable"]
    assert (unreachable["shard"], unreachable["start"], unreachable["end"]) == (
        straddled.key, straddled.start_ms, first_ms,
    )  # fmt: skip
    assert "latest 10,000 1m candles" in unreachable["detail"] and not unreachable["problem"]
    # A re-run fetches nothing more of it unless the period is still open.
    again = enqueue(cluster, "gateio", "--market", "perp", "--data", "klines", "--interval",
                    "1m", "--days", "10")  # fmt: skip
    if straddled.end_ms <= to_ms(datetime.now(UTC)):
        assert "1 already done" in again, again
