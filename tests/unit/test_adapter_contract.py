"""The contract every adapter in the registry keeps: a new exchange is picked up here."""

from __future__ import annotations

import time

import pytest

from storage.shards import DTYPES, Shard
from workers.exchanges import ADAPTERS
from workers.exchanges.base import PageRequest, RestReach
from workers.settings import Budget, url_var


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_adapter_declares_what_the_cluster_needs(name: str) -> None:
    cls = ADAPTERS[name]
    assert cls.name == name
    assert cls.base_urls
    for url in cls.base_urls.values():
        assert url.startswith("https://")
        assert not url.endswith("/")
    assert cls.rate_limits
    for group, text in cls.rate_limits.items():
        assert Budget.parse(text, group).weight > 0
    assert set(cls.markets) == set(DTYPES)
    # a market has its own base URL, or the exchange has one host for all ("" market)
    assert all(m in cls.base_urls or "" in cls.base_urls for m in cls.markets.values())
    assert "1m" in cls.intervals


@pytest.mark.parametrize("name", sorted(ADAPTERS))
@pytest.mark.parametrize("dtype", DTYPES)
def test_adapter_requests_are_charged_to_a_declared_budget(name: str, dtype: str) -> None:
    cls = ADAPTERS[name]
    adapter = cls(cls.base_urls)
    market = cls.markets[dtype]
    if dtype == "klines":
        shard = Shard(name, market, dtype, "BTCUSDT", "2024-01", "1m")
    elif dtype == "aggtrades":
        shard = Shard(name, market, dtype, "BTCUSDT", "2024-01-15")
    else:
        shard = Shard(name, market, dtype, "BTCUSDT", "2024-01")
    reach = adapter.rest_reach(dtype, shard.interval, shard.end_ms)
    if reach is not None and reach.since_ms >= shard.end_ms:
        return  # REST serves none of it; the plan skips such shards before queueing
    requests = adapter.requests(shard, shard.end_ms)
    assert requests
    for request in requests:
        assert isinstance(request, PageRequest)
        assert request.url.startswith(cls.base_urls.get(market) or cls.base_urls[""])
        assert request.group in cls.rate_limits
        budget = Budget.parse(cls.rate_limits[request.group])
        assert 0 < request.weight <= budget.weight
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in request.params)


@pytest.mark.parametrize("name", sorted(ADAPTERS))
@pytest.mark.parametrize("dtype", DTYPES)
def test_a_rest_tail_after_archive_files_starts_where_asked(name: str, dtype: str) -> None:
    """Every adapter takes `start_ms`, so the archive seam can hand any of them a REST tail."""
    cls = ADAPTERS[name]
    adapter = cls(cls.base_urls)
    market = cls.markets[dtype]
    period = "2024-01-15" if dtype == "aggtrades" else "2024-01"
    shard = Shard(name, market, dtype, "BTCUSDT", period, "1m" if dtype == "klines" else None)
    assert adapter.archive is None or hasattr(adapter.archive, "files")
    reach = adapter.rest_reach(dtype, shard.interval, shard.end_ms)
    if reach is not None and reach.since_ms >= shard.end_ms:
        return
    tail_ms = shard.start_ms + (shard.end_ms - shard.start_ms) // 2
    whole = adapter.requests(shard, shard.end_ms)
    tail = adapter.requests(shard, shard.end_ms, tail_ms)
    assert tail and len(tail) <= len(whole)
    for request in tail:
        times = [int(v) for k, v in request.params if k in ("startTime", "start", "from")]
        assert all(t in (tail_ms, tail_ms // 1000) or t > tail_ms // 1000 for t in times)


@pytest.mark.parametrize("name", sorted(ADAPTERS))
@pytest.mark.parametrize("dtype", DTYPES)
def test_rest_reach_is_pure_and_explained(name: str, dtype: str) -> None:
    cls = ADAPTERS[name]
    adapter = cls(cls.base_urls)
    now_ms = int(time.time() * 1000)
    interval = "1h" if dtype == "klines" else None
    reach = adapter.rest_reach(dtype, interval, now_ms)
    assert reach == adapter.rest_reach(dtype, interval, now_ms)
    if reach is not None:
        assert isinstance(reach, RestReach)
        assert reach.since_ms <= now_ms and reach.why


@pytest.mark.parametrize(
    ("exchange", "market", "var"),
    [
        ("binance", "spot", "BINANCE_SPOT_URL"),
        ("binance", "usdm", "BINANCE_USDM_URL"),
        ("mexc", "spot", "MEXC_SPOT_URL"),
        ("mexc", "contract", "MEXC_CONTRACT_URL"),
        ("gateio", "", "GATEIO_URL"),
        ("bybit", "", "BYBIT_URL"),
    ],
)
def test_base_url_variables_are_the_documented_names(exchange, market, var) -> None:
    assert market in ADAPTERS[exchange].base_urls
    assert url_var(exchange, market) == var


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_adapter_says_whether_its_trade_ids_count_up(name: str) -> None:
    assert ADAPTERS[name].trade_ids in ("contiguous", "sparse", "none")


@pytest.mark.parametrize(("trade_ids", "gaps"), [("contiguous", [[11, 20]]), ("sparse", [])])
def test_id_gaps_are_tracked_only_for_contiguous_ids(tmp_path, trade_ids, gaps) -> None:
    import json

    import pyarrow as pa

    from storage.integrity import check_rows
    from storage.parquet import ShardWriter, file_metadata
    from storage.schemas import SCHEMAS

    shard = Shard("gateio", "spot", "aggtrades", "BTCUSDT", "2024-01-15")
    ids = [10, 20, 21]
    rows = [
        {"agg_id": i, "price": 1.0, "qty": 1.0, "first_id": i, "last_id": i,
         "time": shard.start_ms + i, "is_buyer_maker": False}
        for i in ids
    ]  # fmt: skip
    batch = pa.RecordBatch.from_pylist(rows, schema=SCHEMAS["aggtrades"])
    with ShardWriter(tmp_path, shard, {"complete": "true", "trade_ids": trade_ids}) as writer:
        writer.write(batch)
        stored = writer.commit()
    assert json.loads(file_metadata(stored.path)["source_gaps"]) == gaps
    found = check_rows(
        shard, pa.Table.from_batches([batch]), complete=True, source_gaps=set(),
        trade_ids=trade_ids,
    )  # fmt: skip
    assert [f.kind for f in found if f.kind == "gap"] == (["gap"] if gaps else [])
