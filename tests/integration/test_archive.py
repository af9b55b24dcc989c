"""The archive path against the simulator over HTTP: same rows as REST, checksums enforced,
missing files fall back to REST in auto mode and fail the shard in archive mode."""

from __future__ import annotations

import hashlib
import json
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from bench.cluster import Simulator, run_producer, sim_env
from storage.layout import shard_path
from storage.parquet import file_metadata
from storage.shards import Shard
from tests.integration.truth import assert_matches_truth
from workers.archive import ArchiveMissing, ChecksumMismatch
from workers.backfill import backfill
from workers.runtime import Runtime
from workers.settings import Settings


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    sim = Simulator(tmp_path_factory.mktemp("archive-sim"))
    yield sim
    sim.stop()


@pytest.fixture
def store(sim: Simulator, redis_url: str, tmp_path: Path):
    """store(shard, source, name) backfills one shard in this process into tmp_path/name."""
    settings = Settings.from_env(
        {
            "REDIS_URL": redis_url,
            **sim_env(sim.url),
        }
    )
    runtimes: list[Runtime] = []
    set_faults(sim)
    sim.reset()

    def run(shard: Shard, source: str, name: str):
        rt = Runtime(replace(settings, data_dir=tmp_path / name))
        runtimes.append(rt)
        rt.redis.flushall()
        return backfill(shard, rt, source), tmp_path / name

    yield run
    for rt in runtimes:
        rt.close()
    set_faults(sim)


def set_faults(sim: Simulator, omit: tuple[str, ...] = (), corrupt: tuple[str, ...] = ()) -> None:
    body = json.dumps({"omit": list(omit), "corrupt": list(corrupt)}).encode()
    request = urllib.request.Request(sim.url + "/_sim/archive", data=body, method="POST")
    urllib.request.urlopen(request, timeout=10).close()


def served_sha256(sim: Simulator, url_path: str) -> str:
    with urllib.request.urlopen(sim.url + url_path, timeout=60) as response:
        return hashlib.sha256(response.read()).hexdigest()


EQUAL = [
    (Shard("binance", "spot", "klines", "BTCUSDT", "2024-02", "1m"), "spot/monthly/klines"),
    (Shard("binance", "spot", "klines", "BTCUSDT", "2025-01", "1m"), "µs, no header"),
    (Shard("binance", "spot", "aggtrades", "BTCUSDT", "2024-03-01"), "True/False"),
    (Shard("binance", "spot", "aggtrades", "BTCUSDT", "2025-03-01"), "µs with sub-ms digits"),
    (Shard("binance", "usdm", "klines", "BTCUSDT", "2021-01", "1m"), "futures, no header"),
    (Shard("binance", "usdm", "aggtrades", "BTCUSDT", "2024-01-02"), "header, true/false"),
]


@pytest.mark.parametrize(("shard", "quirk"), EQUAL, ids=[s.key for s, _ in EQUAL])
def test_archive_stores_the_same_rows_as_rest(store, sim, shard: Shard, quirk: str) -> None:
    from_archive, archive_dir = store(shard, "archive", "archive")
    from_rest, rest_dir = store(shard, "rest", "rest")
    assert (from_archive.source, from_rest.source) == ("archive", "rest")
    archived = pq.read_table(shard_path(archive_dir, shard))
    fetched = pq.read_table(shard_path(rest_dir, shard))
    assert archived.num_rows == fetched.num_rows > 0
    assert archived.equals(fetched), f"{shard.key} ({quirk}): archive rows differ from REST"
    assert_matches_truth(archive_dir, shard)

    meta = file_metadata(shard_path(archive_dir, shard))
    (name,) = meta["archive_files"].split(",")
    market = "spot" if shard.market == "spot" else "futures/um"
    folder = "klines" if shard.dtype == "klines" else "aggTrades"
    sub = f"{shard.symbol}/{shard.interval}" if shard.interval else shard.symbol
    cadence = "monthly" if shard.dtype == "klines" else "daily"
    path = f"/data/{market}/{cadence}/{folder}/{sub}/{name}"
    assert meta["source"] == "archive" and meta["archive_sha256"] == served_sha256(sim, path)


def test_funding_archive_has_the_rates_but_no_mark_price(store) -> None:
    shard = Shard("binance", "usdm", "funding", "BTCUSDT", "2024-01")
    store(shard, "archive", "archive")
    _, rest_dir = store(shard, "rest", "rest")
    archived = pq.read_table(shard_path(rest_dir.parent / "archive", shard))
    fetched = pq.read_table(shard_path(rest_dir, shard))
    assert archived.num_rows == fetched.num_rows == 31 * 3
    for column in ("funding_time", "funding_rate"):
        assert archived.column(column).equals(fetched.column(column)), column
    assert archived.column("mark_price").null_count == archived.num_rows


def test_auto_takes_funding_from_rest_so_mark_price_is_kept(store) -> None:
    shard = Shard("binance", "usdm", "funding", "BTCUSDT", "2024-01")
    outcome, data_dir = store(shard, "auto", "auto")
    assert outcome.source == "rest"
    assert_matches_truth(data_dir, shard)


def test_corrupted_file_is_never_stored_and_auto_falls_back_to_rest(
    store, sim, tmp_path: Path
) -> None:
    shard = Shard("binance", "spot", "aggtrades", "BTCUSDT", "2024-03-01")
    set_faults(sim, corrupt=("BTCUSDT-aggTrades-2024-03-01.zip",))
    with pytest.raises(ChecksumMismatch, match=r"does not match its \.CHECKSUM"):
        store(shard, "archive", "archive")
    assert not list((tmp_path / "archive").rglob("*.parquet"))
    assert not list((tmp_path / "archive").rglob("*.tmp"))
    downloads = sim.stats()["requests"]["/data (archive)"]
    assert downloads == 2 * 3, "zip and .CHECKSUM, three attempts"

    outcome, data_dir = store(shard, "auto", "auto")
    assert outcome.source == "rest" and "CHECKSUM" in outcome.note
    assert_matches_truth(data_dir, shard)


def test_missing_file_auto_uses_rest_and_archive_mode_fails(store, sim) -> None:
    shard = Shard("binance", "spot", "klines", "BTCUSDT", "2024-02", "1m")
    set_faults(sim, omit=("BTCUSDT-1m-2024-02.zip",))
    outcome, data_dir = store(shard, "auto", "auto")
    assert outcome.source == "rest" and "missing" in outcome.note
    assert_matches_truth(data_dir, shard)
    with pytest.raises(ArchiveMissing, match="missing \\(HTTP 404\\)"):
        store(shard, "archive", "archive")


def test_open_month_reads_closed_days_from_daily_files_and_the_rest_from_rest(store) -> None:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    shard = Shard("binance", "spot", "klines", "BTCUSDT", f"{now:%Y-%m}", "1m")
    outcome, data_dir = store(shard, "auto", "auto")
    assert outcome.state == "partial"
    assert outcome.source == ("archive+rest" if now.day > 1 else "rest")
    meta = file_metadata(shard_path(data_dir, shard))
    assert len(meta.get("archive_files", "").split(",")) == now.day - 1 or now.day == 1
    table = pq.read_table(shard_path(data_dir, shard))
    minutes = pc.cast(table.column("open_time"), "int64").to_pylist()
    assert minutes == list(range(shard.start_ms, minutes[-1] + 1, 60_000)), "no gap, no overlap"


def test_cli_archive_mode_fails_a_missing_day_with_the_reason(make_cluster) -> None:
    cluster = make_cluster("--archive-omit", "BTCUSDT-aggTrades-2024-03-02.zip")
    cluster.start_worker("a")
    days = ["--data", "aggtrades", "--start", "2024-03-01", "--end", "2024-03-03"]
    plan = run_producer(cluster.env, "enqueue", "--symbol", "BTCUSDT", *days, "--dry-run")
    assert plan.returncode == 0 and "archive" in plan.stdout, plan.stdout
    result = run_producer(
        cluster.env,
        "enqueue",
        "--symbol",
        "BTCUSDT",
        *days,
        "--source",
        "archive",
        "--wait",
        "--timeout",
        "120",
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "BTCUSDT-aggTrades-2024-03-02.zip is missing (HTTP 404)" in result.stdout
    assert cluster.sim.stats()["requests"].get("/api/v3/aggTrades", 0) == 0, "never REST"
    stored = Shard("binance", "spot", "aggtrades", "BTCUSDT", "2024-03-01")
    info = json.loads(cluster.redis.hget(cluster.keys.files, stored.key))
    assert info["source"] == "archive" and len(info["archive_sha256"]) == 64
