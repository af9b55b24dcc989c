"""The simulator's Gate.io candle archive and Bybit trade archive: layouts, ground truth,
availability and faults, and the two served under their prefixes over HTTP."""

from __future__ import annotations

import asyncio
import gzip
import io
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from aiohttp.test_utils import TestClient, TestServer

from simulator import market
from simulator.archive_host import NotFound
from simulator.bybit_archive import BybitArchive
from simulator.catalog import utc_ms
from simulator.gate_archive import GateArchive, parse
from simulator.server import SimConfig, make_app
from workers.exchanges.bybit_archive import listed_names

NOW = utc_ms(2025, 8, 2, 12)
TRADES_PER_DAY = 2_000


def faults(omit: tuple[str, ...] = (), corrupt: tuple[str, ...] = ()) -> SimpleNamespace:
    return SimpleNamespace(omit=list(omit), corrupt=list(corrupt))


def gate(**kw) -> GateArchive:
    return GateArchive(0, faults(**kw))


def bybit(**kw) -> BybitArchive:
    return BybitArchive(0, TRADES_PER_DAY, faults(**kw))


def body(store, path: str) -> bytes:
    data, _ = asyncio.run(store.body(path, NOW))
    return data


def csv(data: bytes, header: bool) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(gzip.decompress(data)), header=0 if header else None, dtype=str)


GATE_DAY = "/spot/candlesticks_1m/202401/BTC_USDT-20240115.csv.gz"


@pytest.mark.parametrize(
    "path",
    [
        "/spot/candlesticks_1m/202401/BTC_USDT-202401.csv.gz",  # 1m is daily
        "/spot/candlesticks_1h/202401/BTC_USDT-20240115.csv.gz",  # 1h is monthly
        "/spot/candlesticks_15m/202401/BTC_USDT-202401.csv.gz",  # not archived
        "/spot/candlesticks_1m/202402/BTC_USDT-20240115.csv.gz",  # day outside its folder
        "/spot/candlesticks_1m/202402/BTC_USDT-20240230.csv.gz",
        "/spot/candlesticks_1m/202401/BTCUSDT-20240115.csv.gz",  # Gate spells BTC_USDT
    ],
)
def test_gate_paths_outside_the_layout_are_not_found(path: str) -> None:
    with pytest.raises(NotFound):
        parse(path)


def test_gate_day_is_the_ground_truth_in_gates_columns_without_header() -> None:
    rows = csv(body(gate(), GATE_DAY), header=False)
    truth = market.klines("BTCUSDT", "spot", "1m", utc_ms(2024, 1, 15), utc_ms(2024, 1, 16))
    assert len(rows) == len(truth) == 1440 and rows.shape[1] == 6
    assert (rows[0].astype(np.int64) * 1000 == truth["open_time"]).all(), "seconds"
    for i, name in enumerate(["quote_volume", "close", "high", "low", "open"], start=1):
        assert (rows[i].astype(float) == truth[name]).all(), name


def test_gate_monthly_files_per_interval() -> None:
    for interval, per_month in (("5m", 31 * 288), ("1h", 31 * 24), ("4h", 31 * 6), ("1d", 31)):
        path = f"/spot/candlesticks_{interval}/202401/BTC_USDT-202401.csv.gz"
        assert len(csv(body(gate(), path), header=False)) == per_month, interval


def test_gate_files_exist_only_for_ended_periods_of_listed_pairs_and_faults_apply() -> None:
    for path in (
        "/spot/candlesticks_1m/202508/BTC_USDT-20250802.csv.gz",  # today
        "/spot/candlesticks_1h/202508/BTC_USDT-202508.csv.gz",  # this month
        "/spot/candlesticks_1m/202401/NEW_USDT-20240115.csv.gz",  # before its listing
        "/spot/candlesticks_1m/202401/NOPE_USDT-20240115.csv.gz",
    ):
        with pytest.raises(NotFound):
            body(gate(), path)
    with pytest.raises(NotFound):
        body(gate(omit=("BTC_USDT-20240115.csv.gz",)), GATE_DAY)
    corrupt = body(gate(corrupt=("BTC_USDT-2024011?.csv.gz",)), GATE_DAY)
    assert len(corrupt) == len(body(gate(), GATE_DAY))
    with pytest.raises((OSError, EOFError, ValueError)):
        gzip.decompress(corrupt)


LISTING = "/spot/BTCUSDT/"


def test_bybit_directory_lists_closed_days_and_months_as_links() -> None:
    page = body(bybit(), LISTING).decode()
    names = listed_names(page)  # read back with the worker's own parser
    assert "BTCUSDT_2025-08-01.csv.gz" in names and "BTCUSDT_2025-08-02.csv.gz" not in names
    assert "BTCUSDT_2025-07.csv.gz" in names and "BTCUSDT_2025-08.csv.gz" not in names
    assert "BTCUSDT_2017-08-17.csv.gz" in names, "from the listing day on"
    assert "BTCUSDT_2017-08-16.csv.gz" not in names
    omitted = listed_names(body(bybit(omit=("BTCUSDT_2024-03-1?.csv.gz",)), LISTING).decode())
    assert "BTCUSDT_2024-03-15.csv.gz" not in omitted and "BTCUSDT_2024-03.csv.gz" in omitted
    assert "BTCUSDT/" in body(bybit(), "/spot/").decode()
    with pytest.raises(NotFound):
        body(bybit(), "/spot/NOPEUSDT/")


def trades_of(day: str) -> pd.DataFrame:
    start = utc_ms(*map(int, day.split("-")))
    return market.aggtrades(
        "BTCUSDT", "spot", start, start + 86_400_000, trades_per_day=TRADES_PER_DAY
    )


def test_bybit_day_is_the_ground_truth_one_trade_per_row_ids_from_one() -> None:
    rows = csv(body(bybit(), "/spot/BTCUSDT/BTCUSDT_2024-03-15.csv.gz"), header=True)
    truth = trades_of("2024-03-15")
    assert list(rows.columns) == ["id", "timestamp", "price", "volume", "side"]
    assert len(rows) == len(truth) > 0
    assert rows["id"].astype(int).tolist() == list(range(1, len(truth) + 1))
    assert (rows["timestamp"].astype(np.int64) == truth["time"]).all(), "ms"
    assert (rows["price"].astype(float) == truth["price"]).all()
    assert (rows["volume"].astype(float) == truth["qty"]).all()
    assert ((rows["side"] == "sell") == truth["is_buyer_maker"]).all(), "the taker's side"


def test_bybit_month_dump_is_its_days_with_ids_restarting_daily() -> None:
    month = csv(body(bybit(), "/spot/BTCUSDT/BTCUSDT_2024-02.csv.gz"), header=True)
    day = csv(body(bybit(), "/spot/BTCUSDT/BTCUSDT_2024-02-10.csv.gz"), header=True)
    times = month["timestamp"].astype(np.int64)
    inside = month[(times >= utc_ms(2024, 2, 10)) & (times < utc_ms(2024, 2, 11))]
    pd.testing.assert_frame_equal(inside.reset_index(drop=True), day)
    assert (month["id"] == "1").sum() == 29, "one id 1 per day of February 2024"


def test_bybit_newer_files_have_an_rpi_column() -> None:
    rows = csv(body(bybit(), "/spot/BTCUSDT/BTCUSDT_2025-07-15.csv.gz"), header=True)
    assert list(rows.columns) == ["id", "timestamp", "price", "volume", "side", "rpi"]


def test_bybit_missing_and_corrupt_files() -> None:
    for path in ("/spot/BTCUSDT/BTCUSDT_2025-08-02.csv.gz", "/spot/BTCUSDT/BTCUSDT_2025-08.csv.gz"):
        with pytest.raises(NotFound):
            body(bybit(), path)
    with pytest.raises(NotFound):
        body(bybit(omit=("*_2024-03-15.csv.gz",)), "/spot/BTCUSDT/BTCUSDT_2024-03-15.csv.gz")
    corrupt = body(
        bybit(corrupt=("*_2024-03-15.csv.gz",)), "/spot/BTCUSDT/BTCUSDT_2024-03-15.csv.gz"
    )
    with pytest.raises((OSError, EOFError, ValueError)):
        gzip.decompress(corrupt)


def test_both_hosts_are_served_under_their_prefixes_with_the_shared_faults() -> None:
    async def scenario(client: TestClient) -> None:
        response = await client.get("/gatedata" + GATE_DAY)
        assert response.status == 200 and gzip.decompress(await response.read())
        response = await client.get("/bybit-public" + LISTING)
        assert response.status == 200 and "text/html" in response.headers["Content-Type"]
        names = listed_names(await response.text())
        yesterday = sorted(n for n in names if len(n) == len("BTCUSDT_2024-03-15.csv.gz"))[-1]
        response = await client.get(f"/bybit-public/spot/BTCUSDT/{yesterday}")
        assert response.status == 200
        faults = {"omit": ["BTC_USDT-20240115.csv.gz"], "corrupt": []}
        assert (await client.post("/_sim/archive", json=faults)).status == 200
        assert (await client.get("/gatedata" + GATE_DAY)).status == 404
        stats = await (await client.get("/_sim/stats")).json()
        assert stats["requests"]["/gatedata (archive)"] == 2
        assert stats["requests"]["/bybit-public (listing)"] == 1
        assert stats["requests"]["/bybit-public (archive)"] == 1
        assert stats["archive_faults"]["omit"] == ["BTC_USDT-20240115.csv.gz"]

    async def main() -> None:
        async with TestClient(TestServer(make_app(SimConfig(trades_per_day=TRADES_PER_DAY)))) as c:
            await scenario(c)

    asyncio.run(main())
