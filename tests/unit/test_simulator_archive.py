"""The simulator's archive: layout, availability, faults and the real files' quirks."""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
import zipfile

import pytest

from simulator.archive import ArchiveStore, NotFound, parse
from simulator.catalog import utc_ms

NOW = utc_ms(2025, 3, 2, 12)
SPOT_MONTH = "/data/spot/monthly/klines/BTCUSDT/1m/BTCUSDT-1m-2024-01.zip"
SPOT_2025 = "/data/spot/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2025-01.zip"
USDM_OLD = "/data/futures/um/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2021-01.zip"
USDM_NEW = "/data/futures/um/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2024-01.zip"
FUNDING = "/data/futures/um/monthly/fundingRate/BTCUSDT/BTCUSDT-fundingRate-2024-01.zip"
TRADES = "/data/spot/daily/aggTrades/BTCUSDT/BTCUSDT-aggTrades-2024-01-15.zip"


def body(store: ArchiveStore, path: str) -> bytes:
    return asyncio.run(store.body(path, NOW))


def first_lines(zip_bytes: bytes, n: int = 2) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        (name,) = archive.namelist()
        return archive.read(name).decode().splitlines()[:n]


@pytest.mark.parametrize(
    "path",
    [
        "/data/spot/monthly/klines/BTCUSDT/1m/BTCUSDT-1m-2024-01-15.zip",  # daily date, monthly
        "/data/spot/monthly/fundingRate/BTCUSDT/BTCUSDT-fundingRate-2024-01.zip",  # spot funding
        "/data/spot/monthly/klines/BTCUSDT/7m/BTCUSDT-7m-2024-01.zip",
        "/data/spot/monthly/klines/BTCUSDT/1m/ETHUSDT-1m-2024-01.zip",
        "/data/spot/daily/aggTrades/BTCUSDT/BTCUSDT-aggTrades-2024-02-30.zip",
    ],
)
def test_paths_outside_the_layout_are_not_found(path: str) -> None:
    with pytest.raises(NotFound):
        parse(path)


def test_checksum_is_sha256sum_output_of_the_zip() -> None:
    store = ArchiveStore()
    zip_bytes = body(store, TRADES)
    line = body(store, TRADES + ".CHECKSUM").decode()
    assert re.fullmatch(r"[0-9a-f]{64}  BTCUSDT-aggTrades-2024-01-15\.zip\n", line)
    assert line.split()[0] == hashlib.sha256(zip_bytes).hexdigest()


def test_open_periods_unlisted_symbols_and_omitted_files_are_404() -> None:
    store = ArchiveStore(omit=["*-2024-01.zip"])
    for path in (
        "/data/spot/daily/aggTrades/BTCUSDT/BTCUSDT-aggTrades-2025-03-02.zip",  # today
        "/data/spot/monthly/klines/NEWUSDT/1m/NEWUSDT-1m-2024-01.zip",  # before listing
        SPOT_MONTH,
        SPOT_MONTH + ".CHECKSUM",
    ):
        with pytest.raises(NotFound):
            body(store, path)


def test_a_file_is_byte_identical_whenever_it_is_built(monkeypatch) -> None:
    first = body(ArchiveStore(), FUNDING)
    monkeypatch.setattr("time.time", lambda: 2_000_000_000.0)  # what a zip entry's date reads
    monkeypatch.setattr("time.localtime", lambda *_: (2033, 5, 18, 3, 33, 20, 2, 138, 0))
    assert body(ArchiveStore(), FUNDING) == first


def test_corrupted_file_differs_from_its_checksum() -> None:
    good = body(ArchiveStore(), TRADES)
    store = ArchiveStore(corrupt=["BTCUSDT-aggTrades-*"])
    served = body(store, TRADES)
    announced = body(store, TRADES + ".CHECKSUM").split()[0].decode()
    assert len(served) == len(good) and served != good
    assert announced == hashlib.sha256(good).hexdigest() != hashlib.sha256(served).hexdigest()


def test_files_carry_the_real_quirks() -> None:
    store = ArchiveStore()
    spot = first_lines(body(store, SPOT_MONTH))[0].split(",")
    assert len(spot) == 12 and len(spot[0]) == 13, "spot before 2025: no header, ms"
    spot_2025 = first_lines(body(store, SPOT_2025))[0].split(",")
    assert spot_2025[0] == str(utc_ms(2025, 1, 1) * 1000) and spot_2025[6].endswith("999999")
    assert first_lines(body(store, USDM_OLD))[0][0].isdigit(), "old futures files: no header"
    assert first_lines(body(store, USDM_NEW))[0].startswith("open_time,open,high")
    trade = first_lines(body(store, TRADES))[0].split(",")
    assert len(trade) == 8 and trade[6] in ("True", "False") and trade[7] == "True"
    header, row = first_lines(body(store, FUNDING))
    assert header == "calc_time,funding_interval_hours,last_funding_rate"
    assert row.split(",")[:2] == [str(utc_ms(2024, 1, 1)), "8"]
