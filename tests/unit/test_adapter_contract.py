"""The contract every adapter in the registry keeps: a new exchange is picked up here."""

from __future__ import annotations

import time

import pytest

from storage.shards import DTYPES, Shard
from workers.exchanges import ADAPTERS
from workers.exchanges.base import PageRequest
from workers.settings import Budget, url_var
from workers.sourceplan import capability_of, plan_sources


def declared() -> list[tuple[str, str, str, str | None]]:
    """(exchange, market, dtype, interval) of every capability in every table: one interval
    of each capability that has them."""
    return [
        (name, market.name, cap.dtype, cap.intervals[0] if cap.intervals else None)
        for name, cls in sorted(ADAPTERS.items())
        for market in cls.capabilities.markets
        for cap in market.capabilities
    ]


def shard_of(exchange: str, market: str, dtype: str, interval: str | None) -> Shard:
    period = "2024-01-15" if DTYPES[dtype].period == "day" else "2024-01"
    return Shard(exchange, market, dtype, "BTCUSDT", period, interval)


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_adapter_declares_what_the_cluster_needs(name: str) -> None:
    cls = ADAPTERS[name]
    assert cls.name == name == cls.capabilities.exchange
    assert cls.base_urls
    for url in cls.base_urls.values():
        assert url.startswith("https://")
        assert not url.endswith("/")
    assert cls.rate_limits
    for group, text in cls.rate_limits.items():
        assert Budget.parse(text, group).weight > 0
    kinds = [m.kind for m in cls.capabilities.markets]
    assert sorted(kinds) == ["perp", "spot"], "one spot and one perpetual market"
    for market in cls.capabilities.markets:
        # a market has its own base URL, or the exchange has one host for all ("" market)
        assert market.name in cls.base_urls or "" in cls.base_urls
        assert market.exchange == name and market.dtypes
        for cap in market.capabilities:
            assert cap.dtype in DTYPES and bool(cap.intervals) == DTYPES[cap.dtype].interval
            assert set(cap.nulls) <= set(DTYPES[cap.dtype].schema.names)
            if cap.rest is not None:
                assert cap.rest.group in cls.rate_limits and cap.rest.page > 0
                assert cap.rest.reach.kind == "all" or cap.rest.reach.why
            if cap.archive is not None:
                assert set(cap.archive.lacks) <= set(DTYPES[cap.dtype].schema.names)
    assert "1m" in cls.capabilities.market_for("spot", "klines").intervals("klines")


@pytest.mark.parametrize(("name", "market", "dtype", "interval"), declared())
def test_adapter_requests_are_charged_to_a_declared_budget(name, market, dtype, interval) -> None:
    cls = ADAPTERS[name]
    adapter = cls(cls.base_urls)
    shard = shard_of(name, market, dtype, interval)
    plan = plan_sources(shard, adapter.capabilities.market(market), shard.end_ms, "rest")
    if plan.rest_from_ms is None:
        return  # REST serves none of it; the plan skips such shards before queueing
    requests = adapter.requests(shard, shard.end_ms, plan.rest_from_ms)
    assert requests
    rest = capability_of(shard, adapter.capabilities.market(market)).rest
    for request in requests:
        assert isinstance(request, PageRequest)
        assert request.url.startswith(cls.base_urls.get(market) or cls.base_urls[""])
        assert request.group in cls.rate_limits
        budget = Budget.parse(cls.rate_limits[request.group])
        assert 0 < request.weight <= budget.weight
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in request.params)
    path = rest.path.split("{")[0]  # MEXC names the contract in the path
    pages = [r for r in requests if path in r.url]
    # A chain may first ask for a fact its pages need (Gate's contract size): then its
    # pages follow from that answer.
    assert all(r.weight == rest.weight for r in pages) and (
        pages or all(dict(r.context).get("from_ms") for r in requests)
    ), "the table says which endpoint serves the type and what a page costs"


@pytest.mark.parametrize(("name", "market", "dtype", "interval"), declared())
def test_a_rest_tail_after_archive_files_starts_where_asked(name, market, dtype, interval):
    """Every adapter takes `start_ms`, so the source plan can hand any of them a REST tail."""
    cls = ADAPTERS[name]
    adapter = cls(cls.base_urls)
    shard = shard_of(name, market, dtype, interval)
    tail_ms = shard.start_ms + (shard.end_ms - shard.start_ms) // 2
    plan = plan_sources(shard, adapter.capabilities.market(market), tail_ms, "rest")
    if plan.rest_from_ms is None or plan.rest_from_ms > shard.start_ms:
        return
    whole = adapter.requests(shard, shard.end_ms)
    tail = adapter.requests(shard, shard.end_ms, tail_ms)
    assert tail and len(tail) <= len(whole)
    for request in tail:
        times = [int(v) for k, v in request.params if k in ("startTime", "start", "from")]
        assert all(t in (tail_ms, tail_ms // 1000) or t > tail_ms // 1000 for t in times)


@pytest.mark.parametrize(("name", "market", "dtype", "interval"), declared())
def test_rest_reach_is_pure_and_explained(name, market, dtype, interval) -> None:
    cap = ADAPTERS[name].capabilities.market(market).capability(dtype, interval)
    assert cap is not None and cap.rest is not None, "every type has a REST endpoint"
    now_ms = int(time.time() * 1000)
    since = cap.rest.reach.since_ms(interval, now_ms)
    assert since == cap.rest.reach.since_ms(interval, now_ms)
    if since is not None:
        assert since <= now_ms and cap.rest.reach.reason(interval)


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
