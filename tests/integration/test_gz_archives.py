"""Gate.io's candle archive and Bybit's trade archive end to end: a real worker on both
queues, the simulator serving both archive hosts beside the REST venues, every stored row
compared with the ground truth; missing and corrupt files in auto mode."""

from __future__ import annotations

import hashlib
import json
import urllib.request
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

TRADES_PER_DAY = 5_000
KLINE_VALUES = ["open_time", "open", "high", "low", "close", "close_time", "quote_volume"]
GATE_REACH_MS = 9_900 * 60_000  # what the adapter plans with for 1m (10,000 less a margin)


@pytest.fixture
def cluster(make_cluster):
    cluster = make_cluster("--trades-per-day", str(TRADES_PER_DAY))
    cluster.start_worker("archives", queue="gateio,bybit")
    return cluster


def enqueue(cluster, exchange: str, *args: str, ok: bool = True) -> str:
    result = run_producer(
        cluster.env,
        *("enqueue", "--exchange", exchange, "--symbol", "BTCUSDT", *args),
        *("--wait", "--timeout", "120"),
    )
    assert (result.returncode == 0) is ok, result.stdout + result.stderr
    return " ".join(result.stdout.split())


def set_faults(cluster, omit: tuple[str, ...] = (), corrupt: tuple[str, ...] = ()) -> None:
    body = json.dumps({"omit": list(omit), "corrupt": list(corrupt)}).encode()
    request = urllib.request.Request(cluster.sim.url + "/_sim/archive", data=body, method="POST")
    urllib.request.urlopen(request, timeout=10).close()


def served_sha256(cluster, path: str) -> str:
    with urllib.request.urlopen(cluster.sim.url + path, timeout=60) as response:
        return hashlib.sha256(response.read()).hexdigest()


def check_gate_klines(cluster, shard: Shard, rest_from_ms: int | None = None) -> pd.DataFrame:
    """Rows equal the ground truth; base volume is null where the archive served them."""
    stored = stored_frame(cluster.data_dir, shard)
    end_ms = int(stored["open_time"].iloc[-1]) + 60_000
    truth = market.klines("BTCUSDT", "spot", "1m", shard.start_ms, min(shard.end_ms, end_ms))
    assert len(stored) == len(truth) > 0, shard.key
    pd.testing.assert_frame_equal(
        stored[KLINE_VALUES], truth[KLINE_VALUES], check_dtype=False, check_exact=True
    )
    from_rest = stored["open_time"] >= (rest_from_ms or shard.end_ms)
    assert stored.loc[~from_rest, "volume"].isna().all(), "the archive has no base volume"
    assert np.array_equal(stored.loc[from_rest, "volume"], truth.loc[from_rest, "volume"])
    assert stored[["trades", "taker_buy_base", "taker_buy_quote"]].isna().all().all()
    return stored


def test_gate_1m_month_older_than_rest_reaches_comes_from_the_archive(cluster) -> None:
    window = [
        "--data",
        "klines",
        "--interval",
        "1m",
        "--start",
        "2024-02-01",
        "--end",
        "2024-03-01",
    ]
    dry = run_producer(
        cluster.env,
        *("enqueue", "--exchange", "gateio", "--symbol", "BTCUSDT", *window, "--dry-run"),
    )
    plan = " ".join(dry.stdout.split())
    assert dry.returncode == 0 and "skipping" not in plan, plan
    assert "│ archive │ 1 │ 2024-02 │ 2024-02 │" in plan and "│ 29 │" in plan, plan
    assert "which has no volume (REST cannot serve them whole): stored null" in plan
    enqueue(cluster, "gateio", *window)

    shard = Shard("gateio", "spot", "klines", "BTCUSDT", "2024-02", "1m")
    assert len(check_gate_klines(cluster, shard)) == 29 * 1440
    meta = file_metadata(shard_path(cluster.data_dir, shard))
    names, hashes = meta["archive_files"].split(","), meta["archive_sha256"].split(",")
    assert meta["source"] == "archive" and len(names) == len(hashes) == 29
    assert names[14] == "BTC_USDT-20240215.csv.gz"
    assert hashes[14] == served_sha256(
        cluster, "/gatedata/spot/candlesticks_1m/202402/BTC_USDT-20240215.csv.gz"
    ), "the ledger and the file say which bytes were used"
    assert json.loads(cluster.redis.hget(cluster.keys.files, shard.key))[
        "archive_sha256"
    ] == ",".join(hashes)
    requests = cluster.sim.stats()["requests"]
    assert requests["/gatedata (archive)"] == 29 + 1  # + the check above
    assert requests["/api/v4/spot/candlesticks"] == 1, "the listing check only: no REST page"
    verify = run_producer(cluster.env, "verify", "--exchange", "gateio", "--json")
    assert verify.returncode == 0 and json.loads(verify.stdout)["problems"] == 0, verify.stdout


def bybit_truth(day: str) -> pd.DataFrame:
    start = to_ms(datetime.fromisoformat(day).replace(tzinfo=UTC))
    truth = market.aggtrades(
        "BTCUSDT", "spot", start, start + 86_400_000, trades_per_day=TRADES_PER_DAY
    )
    ids = np.arange(1, len(truth) + 1)  # Bybit's archive ids restart every day
    return truth.assign(agg_id=ids, first_id=ids, last_id=ids)


def test_bybit_closed_days_come_from_the_archive_reading_its_directory_once(cluster) -> None:
    # No daily file for the 15th: the month's dump is read for it instead.
    set_faults(cluster, omit=("BTCUSDT_2024-03-15.csv.gz",))
    enqueue(cluster, "bybit", "--data", "aggtrades", "--start", "2024-03-14", "--end", "2024-03-17")
    for day, name in (
        ("2024-03-14", "BTCUSDT_2024-03-14.csv.gz"),
        ("2024-03-15", "BTCUSDT_2024-03.csv.gz"),
        ("2024-03-16", "BTCUSDT_2024-03-16.csv.gz"),
    ):
        shard = Shard("bybit", "spot", "aggtrades", "BTCUSDT", day)
        stored, truth = stored_frame(cluster.data_dir, shard), bybit_truth(day)
        assert len(stored) == len(truth) > 0, day
        pd.testing.assert_frame_equal(stored, truth, check_dtype=False, check_exact=True)
        meta = file_metadata(shard_path(cluster.data_dir, shard))
        assert (meta["source"], meta["archive_files"]) == ("archive", name), day
        assert meta["trade_ids"] == "sparse"
        assert (
            len(json.loads(cluster.redis.hget(cluster.keys.files, shard.key))["archive_sha256"])
            == 64
        )
    requests = cluster.sim.stats()["requests"]
    assert requests["/bybit-public (listing)"] == 1, "one page for every day of the symbol"
    assert requests["/bybit-public (archive)"] == 3
    assert "/v5/market/recent-trade" not in requests
    verify = run_producer(cluster.env, "verify", "--exchange", "bybit", "--json")
    assert verify.returncode == 0 and json.loads(verify.stdout)["problems"] == 0, verify.stdout


def test_missing_or_corrupt_files_fail_the_shard_with_the_reason_where_rest_cannot_serve(
    cluster,
) -> None:
    set_faults(
        cluster,
        omit=("BTC_USDT-20240210.csv.gz", "BTCUSDT_2024-03-15.csv.gz", "BTCUSDT_2024-03.csv.gz"),
        corrupt=("BTC_USDT-20240120.csv.gz", "BTCUSDT_2024-03-16.csv.gz"),
    )
    months = [
        "--data",
        "klines",
        "--interval",
        "1m",
        "--start",
        "2024-01-01",
        "--end",
        "2024-03-01",
    ]
    gate = enqueue(cluster, "gateio", *months, ok=False)
    assert "finished: 0 stored, 2 failed" in gate, gate
    assert (
        "failed gateio:spot:klines:1m:BTCUSDT:2024-01: BTC_USDT-20240120.csv.gz does not decode "
        "as gzip" in gate
    )
    assert "(after 3 attempts), and REST cannot serve it from 2024-01-20 00:00 UTC" in gate
    assert "archive file BTC_USDT-20240210.csv.gz is missing (HTTP 404)" in gate
    assert "REST cannot serve it from 2024-02-10 00:00 UTC either" in gate
    assert "latest 10,000 1m candles" in gate
    days = ["--data", "aggtrades", "--start", "2024-03-15", "--end", "2024-03-17"]
    bybit = enqueue(cluster, "bybit", *days, ok=False)
    assert "lists no file for BTCUSDT from 2024-03-15 00:00 UTC" in bybit, bybit
    assert "BTCUSDT_2024-03-16.csv.gz does not decode as gzip" in bybit
    assert "Bybit's REST API serves only its latest 1,000 trades" in bybit
    requests = cluster.sim.stats()["requests"]
    assert requests["/api/v4/spot/candlesticks"] == 1, "the listing check: REST was not tried"
    assert "/v5/market/recent-trade" not in requests
    assert not list(cluster.data_dir.rglob("*.parquet")), "nothing of a failed shard is stored"


def _straddling_day(now: datetime) -> date | None:
    """A closed day REST still reaches whose month starts before REST's reach; None on the
    few hours a month when no month straddles the reach."""
    reach_ms = to_ms(now) - GATE_REACH_MS - 3_600_000  # an hour's slack for the run itself
    today = now.date()
    for day in (today - timedelta(days=1), today.replace(day=1) - timedelta(days=1)):
        day_ms = to_ms(datetime(day.year, day.month, day.day, tzinfo=UTC))
        month_ms = to_ms(datetime(day.year, day.month, 1, tzinfo=UTC))
        if month_ms < reach_ms <= day_ms:
            return day
    return None


def test_a_missing_day_rest_still_reaches_is_taken_from_rest(cluster) -> None:
    now = datetime.now(UTC)
    day = _straddling_day(now)
    if day is None:
        pytest.skip("no month straddles Gate's 1m REST reach right now (6th/7th of a month)")
    set_faults(cluster, omit=(f"BTC_USDT-{day:%Y%m%d}.csv.gz",))
    month = day.replace(day=1)
    end = (month + timedelta(days=32)).replace(day=1)
    window = [
        "--start",
        month.isoformat(),
        "--end",
        min(end, now.date() + timedelta(1)).isoformat(),
    ]
    enqueue(cluster, "gateio", "--data", "klines", "--interval", "1m", *window)

    shard = Shard("gateio", "spot", "klines", "BTCUSDT", f"{month:%Y-%m}", "1m")
    rest_from_ms = to_ms(datetime(day.year, day.month, day.day, tzinfo=UTC))
    check_gate_klines(cluster, shard, rest_from_ms)
    meta = file_metadata(shard_path(cluster.data_dir, shard))
    assert meta["source"] == "archive+rest"
    assert len(meta["archive_files"].split(",")) == day.day - 1, "the days before the missing one"
    assert cluster.sim.stats()["requests"]["/api/v4/spot/candlesticks"] > 1, "REST pages"
