"""Where a shard's rows come from when archive files fail (workers/archive.py), and the
downloader's verification and listing cache (workers/download.py), over a fake HTTP session.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage.errors import ExchangeUnavailable
from storage.shards import Shard, to_ms
from workers import edge
from workers.archive import ArchiveMissing, Gathered, Undecodable, gather_files, planned_files
from workers.download import Downloader
from workers.exchanges.base import Adapter
from workers.exchanges.bybit import Bybit
from workers.exchanges.gateio import GateIo
from workers.sourceplan import SourcePlan, plan_sources

NOW = to_ms(datetime(2024, 6, 20, 12, tzinfo=UTC))  # Gate 1m REST reaches 2024-06-13 19:00
GATE = GateIo({**GateIo.base_urls, "archive": "https://gate.test"})
BYBIT = Bybit({**Bybit.base_urls, "archive": "https://bybit.test"})
JUNE_1M = Shard("gateio", "spot", "klines", "BTCUSDT", "2024-06", "1m")
BYBIT_DAY = Shard("bybit", "spot", "aggtrades", "BTCUSDT", "2024-06-18")


class Http:
    """Serves `files` by URL (404 otherwise), counts every GET and every limiter charge."""

    def __init__(self, files: dict[str, bytes], failing: tuple[str, ...] = ()) -> None:
        self.files = files
        self.failing = failing  # URLs answered 503, as by a host that is down
        self.gets: list[str] = []
        self.charged: list[tuple[str, str, int]] = []

    async def charge(self, exchange: str, group: str, weight: int, url: str) -> None:
        self.charged.append((exchange, group, weight))

    async def cool_down(self, exchange: str, url: str, exc: Exception) -> None:
        pass

    async def download(self, url: str, sink, *, read_timeout_s: float) -> int:
        self.gets.append(url)
        if url in self.failing:
            return 503
        if url not in self.files:
            return 404
        body = self.files[url]
        for i in range(0, len(body), 1 << 16):
            sink(body[i : i + (1 << 16)])
        return 200


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(edge, "backoff_s", lambda attempt, **kw: 0.0)


def plan_of(adapter: Adapter, shard: Shard, mode: str = "auto") -> SourcePlan:
    return plan_sources(shard, adapter.capabilities.market(shard.market), NOW, mode)


def gate_files(shard: Shard, skip: str = "") -> dict[str, bytes]:
    body = gzip.compress(b"", mtime=0)
    planned = planned_files(GATE, plan_of(GATE, shard))
    return {f.url: body for f in planned if skip not in f.url or not skip}


def run(coro):
    return asyncio.run(coro)


def source(downloader, adapter, shard, tmp: Path, mode: str = "auto") -> Gathered:
    """Read the shard's planned archive files at NOW (`--source mode`)."""
    return run(gather_files(downloader, adapter, plan_of(adapter, shard, mode), tmp))


def test_a_missing_day_that_rest_reaches_is_taken_from_rest(tmp_path: Path) -> None:
    http = Http(gate_files(JUNE_1M, skip="-20240618."))
    out = source(Downloader(http), GATE, JUNE_1M, tmp_path, "auto")
    assert out.plan.origin == "archive+rest"
    assert len(out.files) == 17 and out.plan.rest_from_ms == to_ms(
        datetime(2024, 6, 18, tzinfo=UTC)
    )
    assert "BTC_USDT-20240618.csv.gz is missing (HTTP 404)" in out.note


def test_an_archive_host_that_keeps_failing_hands_the_rest_to_rest_where_it_reaches(tmp_path):
    files = gate_files(JUNE_1M)
    down = next(url for url in files if url.endswith("-20240618.csv.gz"))
    http = Http(files, failing=(down,))
    out = source(Downloader(http), GATE, JUNE_1M, tmp_path, "auto")
    assert out.plan.origin == "archive+rest"
    assert out.plan.rest_from_ms == to_ms(datetime(2024, 6, 18, tzinfo=UTC))
    assert "HTTP 503" in out.note and http.gets.count(down) == 3


def test_an_archive_host_failing_where_rest_cannot_reach_is_retried_later(tmp_path):
    files = gate_files(JUNE_1M)
    down = next(url for url in files if url.endswith("-20240610.csv.gz"))
    with pytest.raises(ExchangeUnavailable, match="HTTP 503"):
        source(Downloader(Http(files, failing=(down,))), GATE, JUNE_1M, tmp_path)


def test_a_missing_day_older_than_rest_reaches_fails_the_shard_with_both_reasons(tmp_path):
    http = Http(gate_files(JUNE_1M, skip="-20240610."))
    with pytest.raises(ArchiveMissing) as failed:
        source(Downloader(http), GATE, JUNE_1M, tmp_path, "auto")
    message = str(failed.value)
    assert "BTC_USDT-20240610.csv.gz is missing (HTTP 404)" in message
    assert "REST cannot serve it from 2024-06-10 00:00 UTC" in message
    assert "latest 10,000 1m candles" in message


def test_a_file_that_never_decodes_is_retried_then_fails_where_rest_cannot_help(tmp_path):
    files = gate_files(JUNE_1M)
    bad = next(url for url in files if url.endswith("-20240605.csv.gz"))
    files[bad] = gzip.compress(b"1718000000,1,1,1,1,1\n")[:-6]  # cut short: no CRC trailer
    http = Http(files)
    with pytest.raises(Undecodable, match=r"does not decode as gzip.*after 3 attempts"):
        source(Downloader(http), GATE, JUNE_1M, tmp_path, "auto")
    assert http.gets.count(bad) == 3


def test_files_without_a_checksum_record_the_sha256_of_their_bytes(tmp_path: Path) -> None:
    files = gate_files(JUNE_1M)
    out = source(Downloader(Http(files)), GATE, JUNE_1M, tmp_path, "auto")
    assert out.plan.origin == "archive+rest" and out.plan.rest_from_ms == to_ms(
        datetime(2024, 6, 20, tzinfo=UTC)
    )
    assert {d.sha256 for d in out.files} == {
        hashlib.sha256(gzip.compress(b"", mtime=0)).hexdigest()
    }


PAGE = '<a href="BTCUSDT_2024-06-17.csv.gz">BTCUSDT_2024-06-17.csv.gz</a>'


def test_a_day_the_directory_does_not_list_fails_with_the_reason(tmp_path: Path) -> None:
    http = Http({"https://bybit.test/spot/BTCUSDT/": PAGE.encode()})
    with pytest.raises(ArchiveMissing) as failed:
        source(Downloader(http), BYBIT, BYBIT_DAY, tmp_path, "auto")
    message = str(failed.value)
    assert "https://bybit.test/spot/BTCUSDT/ lists no file for BTCUSDT from 2024-06-18" in message
    assert "REST cannot serve it" in message and "latest 1,000 trades" in message
    assert http.gets == ["https://bybit.test/spot/BTCUSDT/"], "no name was guessed"


def test_archive_mode_names_what_the_directory_lacks(tmp_path: Path) -> None:
    http = Http({"https://bybit.test/spot/BTCUSDT/": PAGE.encode()})
    with pytest.raises(ArchiveMissing, match="lists no file for BTCUSDT from 2024-06-18"):
        source(Downloader(http), BYBIT, BYBIT_DAY, tmp_path, "archive")


def test_a_symbol_without_a_directory_fails_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(
        ArchiveMissing, match=r"directory https://bybit.test/spot/BTCUSDT/ is missing"
    ):
        source(Downloader(Http({})), BYBIT, BYBIT_DAY, tmp_path, "auto")


def test_the_listing_is_fetched_once_per_symbol_and_charged_to_the_archive_budget(tmp_path):
    listing = "https://bybit.test/spot/BTCUSDT/"
    days = [Shard("bybit", "spot", "aggtrades", "BTCUSDT", f"2024-06-{d}") for d in (16, 17, 18)]
    page = "".join(f'<a href="BTCUSDT_{d.period}.csv.gz">x</a>' for d in days)
    files = {listing: page.encode()}
    files |= {
        f"{listing}BTCUSDT_{d.period}.csv.gz": gzip.compress(b"id,timestamp,price,volume,side\n")
        for d in days
    }
    http = Http(files)
    downloader = Downloader(http)

    async def all_days() -> list:
        return await asyncio.gather(
            *(gather_files(downloader, BYBIT, plan_of(BYBIT, d), tmp_path / d.period) for d in days)
        )

    for d in days:
        (tmp_path / d.period).mkdir()
    outs = run(all_days())
    assert [o.plan.origin for o in outs] == ["archive"] * 3
    assert http.gets.count(listing) == 1
    assert http.charged.count(("bybit", "archive", 1)) == 4, "the page and three files"


def test_a_stale_listing_is_fetched_again(tmp_path: Path) -> None:
    listing = "https://bybit.test/spot/BTCUSDT/"
    http = Http({listing: b""})
    downloader = Downloader(http, listing_ttl_s=1e-9)

    async def twice() -> None:
        for _ in range(2):
            await downloader.listing("bybit", "archive", listing, "k")

    run(twice())
    assert http.gets.count(listing) == 2
