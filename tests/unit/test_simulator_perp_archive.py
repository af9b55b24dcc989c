"""The archives' perpetual files equal the ground truth: Binance mark/index/premium klines,
daily metrics (open interest), funding with its interval hours; Bybit's derivatives trades.
No file exists for a day after a delisting."""

from __future__ import annotations

import asyncio
import gzip
import io
import zipfile

import numpy as np
import pandas as pd
import pytest

from simulator import market
from simulator.archive import ArchiveStore, NotFound
from simulator.bybit_archive import BybitArchive
from simulator.catalog import utc_ms
from simulator.universe import SWITCHING, Universe

ANCHOR = utc_ms(2026, 12, 4)
NOW = ANCHOR + 12 * 3_600_000
DAY = "2026-11-20"
DAY_MS = utc_ms(2026, 11, 20)


@pytest.fixture(autouse=True)
def universe():
    yield Universe(20, 3, seed=0, anchor_ms=ANCHOR).activate()
    Universe().activate()


def _csv(zip_bytes: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        (name,) = archive.namelist()
        return archive.read(name).decode().splitlines()


def _get(path: str) -> list[str]:
    return _csv(asyncio.run(ArchiveStore().body(path, NOW)))


@pytest.mark.parametrize(
    ("folder", "kind"),
    [("markPriceKlines", "mark"), ("indexPriceKlines", "index"), ("premiumIndexKlines", "premium")],
)
def test_binance_price_kline_files_equal_the_ground_truth(folder, kind):
    lines = _get(f"/data/futures/um/daily/{folder}/BTCUSDT/1m/BTCUSDT-1m-{DAY}.zip")
    assert lines[0].startswith("open_time,open,high,low,close,volume,close_time")
    rows = pd.read_csv(io.StringIO("\n".join(lines)))
    truth = market.price_klines(kind, "BTCUSDT", "1m", DAY_MS, DAY_MS + 86_400_000)
    assert len(rows) == 1440
    for column in ("open_time", "open", "high", "low", "close", "close_time"):
        assert rows[column].tolist() == truth[column].tolist(), column
    assert set(rows["volume"]) == {0} and set(rows["quote_volume"]) == {0}
    monthly = _get(f"/data/futures/um/monthly/{folder}/BTCUSDT/1h/BTCUSDT-1h-2026-10.zip")
    assert len(monthly) == 1 + 31 * 24


def test_binance_metrics_files_hold_the_open_interest_every_5_minutes():
    lines = _get(f"/data/futures/um/daily/metrics/BTCUSDT/BTCUSDT-metrics-{DAY}.zip")
    rows = pd.read_csv(io.StringIO("\n".join(lines)))
    truth = market.open_interest("BTCUSDT", DAY_MS, DAY_MS + 86_400_000)
    assert list(rows.columns)[:4] == [
        "create_time",
        "symbol",
        "sum_open_interest",
        "sum_open_interest_value",
    ]
    assert rows["create_time"].iloc[0] == f"{DAY} 00:00:00" and len(rows) == 288
    times = [int(pd.Timestamp(t, tz="UTC").timestamp()) * 1000 for t in rows["create_time"]]
    assert times == truth["time"].tolist()
    assert rows["sum_open_interest"].tolist() == truth["open_interest"].tolist()
    assert rows["sum_open_interest_value"].tolist() == truth["open_interest_value"].tolist()


def test_binance_funding_file_gives_each_fundings_interval_hours():
    lines = _get(
        f"/data/futures/um/monthly/fundingRate/{SWITCHING}/{SWITCHING}-fundingRate-2026-11.zip"
    )
    rows = pd.read_csv(io.StringIO("\n".join(lines)))
    truth = market.funding(SWITCHING, utc_ms(2026, 11, 1), utc_ms(2026, 12, 1))
    assert rows["calc_time"].tolist() == truth["funding_time"].tolist()
    gaps_h = np.diff(rows["calc_time"]) // 3_600_000
    assert (rows["funding_interval_hours"].to_numpy()[:-1] == gaps_h).all(), "to the next funding"
    assert set(rows["funding_interval_hours"]) == {8, 4}


def test_no_archive_file_for_days_after_a_delisting():
    gone = next(s for s in market.symbols("usdm") if market.delisted_ms(s, "usdm"))
    end = market.delisted_ms(gone, "usdm")
    last_day = pd.Timestamp(end, unit="ms").strftime("%Y-%m-%d")
    next_day = pd.Timestamp(end + 86_400_000, unit="ms").strftime("%Y-%m-%d")
    lines = _get(f"/data/futures/um/daily/aggTrades/{gone}/{gone}-aggTrades-{last_day}.zip")
    assert int(lines[-1].split(",")[5]) < end, "the delisting day holds the hours before it"
    for kind in ("aggTrades", "metrics"):
        with pytest.raises(NotFound):
            _get(f"/data/futures/um/daily/{kind}/{gone}/{gone}-{kind}-{next_day}.zip")


def test_bybit_derivatives_archive_holds_the_perpetual_trades_with_float_seconds():
    host = BybitArchive(0, 2_000, faults=ArchiveStore())
    page, _ = asyncio.run(host.body("/trading/BTCUSDT/", NOW))
    assert b'href="BTCUSDT2026-12-03.csv.gz"' in page and b"2026-12-04" not in page
    data, kind = asyncio.run(host.body(f"/trading/BTCUSDT/BTCUSDT{DAY}.csv.gz", NOW))
    rows = pd.read_csv(io.BytesIO(gzip.decompress(data)), dtype={"timestamp": str})
    truth = market.aggtrades("BTCUSDT", "linear", DAY_MS, DAY_MS + 86_400_000, trades_per_day=2_000)
    assert kind == "application/gzip" and len(rows) == len(truth) > 0
    assert list(rows.columns)[:6] == [
        "timestamp",
        "symbol",
        "side",
        "size",
        "price",
        "tickDirection",
    ]
    assert rows["RPI"].isin([0, 1]).all()
    assert all(len(t.split(".")[1]) == 4 for t in rows["timestamp"])
    millis = np.rint(rows["timestamp"].astype(float) * 1000).astype(np.int64)
    assert millis.tolist() == truth["time"].tolist()
    assert rows["size"].tolist() == truth["qty"].tolist()
    assert rows["price"].tolist() == truth["price"].tolist()
    assert ((rows["side"] == "Sell") == truth["is_buyer_maker"]).all()
    with pytest.raises(LookupError):
        asyncio.run(host.body("/trading/BTCUSDT/BTCUSDT2026-12-04.csv.gz", NOW))
