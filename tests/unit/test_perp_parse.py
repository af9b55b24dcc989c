"""The perpetual market's endpoints and archive files of every exchange, parsed from their
documentation examples (tests/fixtures/README.md names each page), and the requests that ask
for them.

What an exchange never fills is stored null by the capability table's word
(`columns.null_out` with the plan's `nulls`), so the tests apply it as the worker does.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from storage.errors import InputError
from storage.schemas import SCHEMAS
from storage.shards import Shard
from workers.archive_csv import read_batches
from workers.exchanges import columns as col
from workers.exchanges.base import ArchiveFile, PageRequest
from workers.exchanges.binance import Binance
from workers.exchanges.bybit import Bybit
from workers.exchanges.gateio import GateIo
from workers.exchanges.mexc import Mexc
from workers.sourceplan import Span, capability_of

FAR = 2**60
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PRICE_NULLS = ("volume", "quote_volume", "trades", "taker_buy_base", "taker_buy_quote")


def ms(column: pa.Array) -> list[int]:
    return pc.cast(column, pa.int64()).to_pylist()


def stored(adapter, body: bytes, request: PageRequest, shard: Shard) -> pa.RecordBatch:
    """What the worker writes of one page: the adapter's rows, the table's nulls applied."""
    page = adapter.parse(body, request, shard)
    nulls = capability_of(shard, adapter.capabilities.market(shard.market)).nulls
    return col.null_out(page.batch, nulls)


# -- Binance USD-M ---------------------------------------------------------------------------
@pytest.fixture
def binance() -> Binance:
    return Binance(Binance.base_urls)


def binance_page(binance: Binance, shard: Shard) -> PageRequest:
    return binance.requests(shard, shard.end_ms)[0]


@pytest.mark.parametrize(
    ("dtype", "fixture", "row"),
    [
        (
            "markklines",
            "binance_usdm_mark_price_klines.json",
            (1591256460000, 9653.29201333, 9654.56401333, 9653.07367333, 9653.07367333),
        ),
        (
            "indexklines",
            "binance_usdm_index_price_klines.json",
            (1591256400000, 9653.6944, 9653.6964, 9651.386, 9651.552),
        ),
        (
            "premiumklines",
            "binance_premium_index_klines.json",
            (1691603820000, -0.00042931, -0.00023641, -0.00059406, -0.00043659),
        ),
    ],
)
def test_binance_price_klines_keep_prices_and_store_no_volumes(binance, dtype, fixture, row):
    shard = Shard("binance", "usdm", dtype, "BTCUSDT", "2020-06", "1m")
    body = (FIXTURES / "binance" / fixture).read_bytes()
    batch = stored(binance, body, binance_page(binance, shard), shard)
    assert batch.schema == SCHEMAS[dtype]
    (got,) = batch.to_pylist()
    assert (int(got["open_time"].timestamp() * 1000), got["open"], got["high"]) == row[:3]
    assert (got["low"], got["close"]) == row[3:]
    assert int(got["close_time"].timestamp() * 1000) == row[0] + 59_999
    assert all(got[name] is None for name in PRICE_NULLS), "Binance sends 0 and a sample count"


def test_binance_price_kline_requests(binance) -> None:
    index = Shard("binance", "usdm", "indexklines", "BTCUSDT", "2024-01", "1m")
    mark = Shard("binance", "usdm", "markklines", "BTCUSDT", "2024-01", "1m")
    (first, *_) = binance.requests(index, index.end_ms)
    assert (
        first.url.endswith("/fapi/v1/indexPriceKlines") and dict(first.params)["pair"] == "BTCUSDT"
    )
    assert binance.requests(mark, mark.end_ms)[0].url.endswith("/fapi/v1/markPriceKlines")
    assert len(binance.requests(mark, mark.end_ms)) == 90, "499 candles a page, weight 2"
    assert {(r.group, r.weight) for r in binance.requests(mark, mark.end_ms)} == {("usdm", 2)}


def test_binance_open_interest_history(binance, fixture_bytes) -> None:
    shard = Shard("binance", "usdm", "openinterest", "BTCUSDT", "2020-03")
    requests = binance.requests(shard, shard.end_ms)
    params = dict(requests[0].params)
    assert requests[0].url.endswith("/futures/data/openInterestHist")
    assert (params["period"], params["limit"], requests[0].group) == ("5m", "500", "usdm_data")
    assert len(requests) == 18, "500 snapshots of 5 minutes a page"
    body = fixture_bytes("binance", "binance_usdm_open_interest_hist.json")
    request = next(
        r for r in requests if int(dict(r.params)["startTime"]) <= 1583127900000 < r.until_ms
    )
    batch = binance.parse(body, request, shard).batch
    assert batch.schema == SCHEMAS["openinterest"]
    assert ms(batch.column("time")) == [1583127900000, 1583128200000], "timestamp as a string"
    assert batch.column("open_interest").to_pylist() == [20403.637, 20401.367]
    assert batch.column("open_interest_value").to_pylist() == [
        150570784.07809979,
        149940752.14464448,
    ]


def test_binance_open_interest_reaches_back_30_days() -> None:
    cap = Binance.capabilities.market("usdm").capability("openinterest")
    now = 1_760_000_000_000
    assert now - cap.rest.reach.since_ms(None, now) == 30 * 86_400_000 - 3_600_000
    assert cap.snapshot_ms == 300_000 and cap.archive is not None and cap.archive.daily


def zipped(tmp_path: Path, name: str, text: bytes) -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(name.removesuffix(".zip") + ".csv", text)
    return path


def binance_file(shard: Shard, day_ms: int) -> tuple[ArchiveFile, Binance]:
    binance = Binance({**Binance.base_urls, "archive": "https://archive.test"})
    file = binance.archive.file(shard, Span(day_ms, day_ms + 86_400_000, "day"))
    return file, binance


def test_binance_metrics_files_are_open_interest_every_5_minutes(tmp_path) -> None:
    """The daily `metrics` file as public code reads it (binance-public-data documents none):
    `create_time` is UTC text, then symbol, amount, value and four ratios."""
    shard = Shard("binance", "usdm", "openinterest", "BTCUSDT", "2024-01")
    day_ms = 1705276800000  # 2024-01-15
    file, binance = binance_file(shard, day_ms)
    assert file.url == (
        "https://archive.test/data/futures/um/daily/metrics/BTCUSDT/BTCUSDT-metrics-2024-01-15.zip"
    )
    assert file.checksum_url == file.url + ".CHECKSUM"
    text = (FIXTURES / "binance" / "binance_um_metrics.csv").read_bytes()
    path = zipped(tmp_path, file.name, text)
    (batch,) = read_batches(path, binance.archive, shard, file)
    assert batch.schema == SCHEMAS["openinterest"]
    assert ms(batch.column("time")) == [day_ms, day_ms + 300_000]
    assert batch.column("open_interest").to_pylist() == [77640.123, 77655.401]
    assert batch.column("open_interest_value").to_pylist() == [3311526788.43213, 3312118002.100452]


@pytest.mark.parametrize(
    ("dtype", "fixture", "kind", "first"),
    [
        ("markklines", "binance_um_mark_price_klines.csv", "markPriceKlines", 42649.1),
        (
            "premiumklines",
            "binance_um_premium_index_klines_2022.csv",
            "premiumIndexKlines",
            -0.00012345,
        ),
    ],
)
def test_binance_price_kline_files_read_like_klines(tmp_path, dtype, fixture, kind, first) -> None:
    """Header from 2022-06 on, none before; volumes "0", stored null."""
    period = "2024-01" if dtype == "markklines" else "2022-01"
    shard = Shard("binance", "usdm", dtype, "BTCUSDT", period, "1m")
    binance = Binance({**Binance.base_urls, "archive": "https://archive.test"})
    file = binance.archive.file(shard, Span(shard.start_ms, shard.end_ms, "month"))
    assert file.url == (
        f"https://archive.test/data/futures/um/monthly/{kind}/BTCUSDT/1m/BTCUSDT-1m-{period}.zip"
    )
    path = zipped(tmp_path, file.name, (FIXTURES / "binance" / fixture).read_bytes())
    batches = [
        col.null_out(b, PRICE_NULLS) for b in read_batches(path, binance.archive, shard, file)
    ]
    table = pa.Table.from_batches(batches, SCHEMAS[dtype])
    assert table.column("open").to_pylist()[0] == first
    assert all(table.column(name).null_count == table.num_rows for name in PRICE_NULLS)


# -- Bybit linear ----------------------------------------------------------------------------
@pytest.fixture
def bybit() -> Bybit:
    return Bybit(Bybit.base_urls)


@pytest.mark.parametrize(
    ("dtype", "fixture", "opens", "first"),
    [
        ("markklines", "bybit_mark_price_kline.json", [1670608800000], (17164.16, 17131.64)),
        (
            "indexklines",
            "bybit_index_price_kline.json",
            [1670608740000, 1670608800000],
            (17166.54, 17167.0),
        ),
        (
            "premiumklines",
            "bybit_premium_index_price_kline.json",
            [1652400000000, 1652486400000],
            (-0.000989, -0.000587),
        ),
    ],
)
def test_bybit_price_klines_arrive_newest_first_with_five_fields(
    bybit, fixture_bytes, dtype, fixture, opens, first
):
    interval = "1d" if dtype == "premiumklines" else "1m"
    shard = Shard(
        "bybit",
        "linear",
        dtype,
        "BTCUSDT",
        "2022-05" if dtype == "premiumklines" else "2022-12",
        interval,
    )
    request = PageRequest("https://x", (), "ip", 1, FAR)
    batch = stored(bybit, fixture_bytes("bybit", fixture), request, shard)
    assert batch.schema == SCHEMAS[dtype]
    assert ms(batch.column("open_time")) == opens, "stored oldest first"
    assert (batch.column("open")[0].as_py(), batch.column("close")[0].as_py()) == first
    assert all(batch.column(n).null_count == batch.num_rows for n in PRICE_NULLS)


def test_bybit_price_kline_requests(bybit) -> None:
    shard = Shard("bybit", "linear", "premiumklines", "BTCUSDT", "2024-01", "1m")
    requests = bybit.requests(shard, shard.end_ms)
    assert requests[0].url.endswith("/v5/market/premium-index-price-kline")
    assert dict(requests[0].params)["category"] == "linear" and len(requests) == 45
    mark = Shard("bybit", "linear", "markklines", "BTCUSDT", "2024-01", "1h")
    assert dict(bybit.requests(mark, mark.end_ms)[0].params)["limit"] == "200"


def test_bybit_open_interest(bybit, fixture_bytes) -> None:
    """The docs' example is an inverse contract; linear answers have the same shape."""
    shard = Shard("bybit", "linear", "openinterest", "BTCUSDT", "2022-11")
    requests = bybit.requests(shard, shard.end_ms)
    params = dict(requests[0].params)
    assert (params["intervalTime"], params["limit"], len(requests)) == ("5min", "200", 44)
    assert requests[0].descending, "newest first: a cursor walks back in time"
    request = next(
        r for r in requests if int(dict(r.params)["startTime"]) <= 1669571100000 < r.until_ms
    )
    page = bybit.parse(fixture_bytes("bybit", "bybit_open_interest.json"), request, shard)
    batch = stored(bybit, fixture_bytes("bybit", "bybit_open_interest.json"), request, shard)
    assert ms(batch.column("time")) == [1669571100000, 1669571400000]
    assert batch.column("open_interest").to_pylist() == [461134292.0, 461134384.0]
    assert batch.column("open_interest_value").null_count == 2, "Bybit gives no value"
    assert page.next is None, "an empty cursor ends the window"
    body = fixture_bytes("bybit", "bybit_open_interest.json").replace(
        b'"nextPageCursor":""', b'"nextPageCursor":"abc"'
    )
    more = bybit.parse(body, request, shard).next
    assert dict(more.params)["cursor"] == "abc" and more.until_ms == request.until_ms


def test_bybit_derivatives_trade_archive(tmp_path) -> None:
    """`/trading/BTCUSDT/BTCUSDT2026-01-01.csv.gz` as public code reads it: float seconds read
    digit by digit, the taker's side, rows numbered from 1 as ids."""
    import gzip

    adapter = Bybit({**Bybit.base_urls, "archive": "https://public.test"})
    shard = Shard("bybit", "linear", "aggtrades", "BTCUSDT", "2026-01-01")
    assert adapter.archive.listing_url(shard) == "https://public.test/trading/BTCUSDT/"
    span = Span(shard.start_ms, shard.end_ms, "day")
    page = '<a href="BTCUSDT2026-01-01.csv.gz">BTCUSDT2026-01-01.csv.gz</a>'
    file = adapter.archive.file(shard, span, page)
    assert file.url == "https://public.test/trading/BTCUSDT/BTCUSDT2026-01-01.csv.gz"
    assert adapter.archive.file(shard, span, "") is None, "not listed: not there"
    path = tmp_path / file.name
    path.write_bytes(gzip.compress((FIXTURES / "bybit" / "bybit_trading_archive.csv").read_bytes()))
    table = pa.Table.from_batches(list(read_batches(path, adapter.archive, shard, file)))
    assert ms(table.column("time")) == [1767225600686, 1767225601002]
    assert table.column("agg_id").to_pylist() == [1, 2] == table.column("last_id").to_pylist()
    assert table.column("qty").to_pylist() == [0.004, 0.15]
    assert table.column("price").to_pylist() == [87512.3, 87512.2]
    assert table.column("is_buyer_maker").to_pylist() == [False, True], "the taker sold"


# -- Gate.io USDT futures ------------------------------------------------------------------
@pytest.fixture
def gate() -> GateIo:
    return GateIo(GateIo.base_urls)


def contract_record(fixture_bytes) -> bytes:
    """One contract's record: the announcement's example of the contract list (BTC_USDT,
    quanto_multiplier "0.0001"), as `/futures/usdt/contracts/{contract}` answers it."""
    return json.dumps(
        json.loads(fixture_bytes("gateio", "gateio_futures_contracts_announcement.json"))[0]
    ).encode()


def first_page(gate: GateIo, shard: Shard, fixture_bytes, start_ms: int | None = None):
    """The chain's first request is the contract's record; its answer hands out the first
    page (from `start_ms`, a REST tail, or the shard's start) with the contract size."""
    (first, *_) = gate.requests(shard, shard.end_ms, start_ms)
    assert (
        first.url.endswith("/futures/usdt/contracts/BTC_USDT")
        and first.group == "futures_contracts"
    )
    page = gate.parse(contract_record(fixture_bytes), first, shard)
    assert page.batch.num_rows == 0 and dict(page.next.context)["size"] == "0.0001"
    return page.next


def test_gate_futures_candles_count_volume_in_contracts(gate, fixture_bytes) -> None:
    shard = Shard("gateio", "futures", "klines", "BTCUSDT", "2018-10", "1m")
    request = first_page(gate, shard, fixture_bytes, start_ms=1539852480000)
    params = dict(request.params)
    assert request.url.endswith("/futures/usdt/candlesticks") and params["contract"] == "BTC_USDT"
    assert int(params["to"]) - int(params["from"]) == 2000 * 60 - 1, "2000 candles, both ends in"
    page = gate.parse(
        fixture_bytes("gateio", "gateio_futures_candlesticks_doc.json"), request, shard
    )
    (row,) = page.batch.to_pylist()
    assert int(row["open_time"].timestamp()) == 1539852480
    assert (row["open"], row["close"], row["quote_volume"]) == (1.032, 1.032, 3580.0)
    assert row["volume"] == 97151 / 10_000, "97,151 contracts of 0.0001 BTC"
    assert page.next is not None and page.next.context == request.context, "the next window"


@pytest.mark.parametrize(
    ("dtype", "path", "contract"),
    [
        ("markklines", "/futures/usdt/candlesticks", "mark_BTC_USDT"),
        ("indexklines", "/futures/usdt/candlesticks", "index_BTC_USDT"),
        ("premiumklines", "/futures/usdt/premium_index", "BTC_USDT"),
    ],
)
def test_gate_price_candles_have_no_sizes(gate, dtype, path, contract) -> None:
    """No example in the docs: the SDK's FuturesCandlestick without `v` ("only returned if
    contract is not prefixed") and FuturesPremiumIndex `{t,c,h,l,o}`."""
    shard = Shard("gateio", "futures", dtype, "BTCUSDT", "2024-01", "1m")
    requests = gate.requests(shard, shard.end_ms)
    assert requests[0].url.endswith(path) and dict(requests[0].params)["contract"] == contract
    body = b'[{"t":1704067200,"c":"-0.0001","h":"0.0002","l":"-0.0003","o":"0.0001"}]'
    if dtype != "premiumklines":
        body = body.replace(b'"o":"0.0001"}', b'"o":"0.0001","sum":"0"}').replace(b"-", b"")
    batch = stored(gate, body, requests[0], shard)
    (row,) = batch.to_pylist()
    assert row["open"] == 0.0001 and row["high"] == 0.0002
    assert all(row[name] is None for name in PRICE_NULLS)


def test_gate_futures_trades_are_signed_contract_sizes(gate, fixture_bytes) -> None:
    """No example in the docs: the SDK's FuturesTrade. Newest first, negative size when the
    taker sold, create_time_ms with a fraction."""
    shard = Shard("gateio", "futures", "aggtrades", "BTCUSDT", "2024-01-15")
    requests = gate.requests(shard, shard.end_ms)
    assert len(requests) == 24 and all(r.descending for r in requests), "a chain per hour"
    request = first_page(gate, shard, fixture_bytes)
    assert request.url.endswith("/futures/usdt/trades") and dict(request.params)["offset"] == "0"
    t0 = shard.start_ms
    body = json.dumps(
        [
            {"id": 7, "create_time": t0 / 1000 + 0.5, "create_time_ms": t0 + 500.25,
             "contract": "BTC_USDT", "size": -30, "price": "42000.1"},
            {"id": 6, "create_time": t0 / 1000, "create_time_ms": t0 + 0.0,
             "contract": "BTC_USDT", "size": 2, "price": "42000"},
        ]
    ).encode()  # fmt: skip
    page = gate.parse(body, request, shard)
    assert page.batch.column("agg_id").to_pylist() == [6, 7], "sorted by id"
    assert ms(page.batch.column("time")) == [t0, t0 + 500]
    assert page.batch.column("qty").to_pylist() == [0.0002, 0.003]
    assert page.batch.column("is_buyer_maker").to_pylist() == [False, True]
    assert page.next is None, "a short page ends the hour"


def test_gate_contract_stats_are_open_interest_in_contracts(gate, fixture_bytes) -> None:
    """No example in the docs: the SDK's ContractStat."""
    shard = Shard("gateio", "futures", "openinterest", "BTCUSDT", "2024-01")
    request = first_page(gate, shard, fixture_bytes)
    params = dict(request.params)
    assert (params["interval"], params["limit"]) == ("5m", "500")
    t0 = shard.start_ms // 1000
    rows = [
        {"time": t0 + 300 * i, "lsr_taker": 1.2, "lsr_account": 0.9, "long_liq_size": 0,
         "long_liq_amount": 0.0, "long_liq_usd": 0.0, "short_liq_size": 0,
         "short_liq_amount": 0.0, "short_liq_usd": 0.0, "open_interest": 124724 + i,
         "open_interest_usd": 523840800.5, "top_lsr_account": 1.1, "top_lsr_size": 1.3}
        for i in range(2)
    ]  # fmt: skip
    page = gate.parse(json.dumps(rows).encode(), request, shard)
    assert ms(page.batch.column("time")) == [shard.start_ms, shard.start_ms + 300_000]
    assert page.batch.column("open_interest").to_pylist() == [12.4724, 12.4725]
    assert page.batch.column("open_interest_value").to_pylist() == [523840800.5] * 2
    assert page.next is not None and dict(page.next.params)["from"] == str(t0 + 500 * 300)


@pytest.mark.parametrize(
    ("size", "counts", "base"),
    [("0.00000001", [3], [3e-08]), ("10", [3], [30.0]), ("0.5", [3], [1.5])],
)
def test_contract_sizes_keep_the_decimals_as_written(size, counts, base) -> None:
    assert col.contract_sizes(pa.array(counts), size).to_pylist() == base


# -- MEXC contract ---------------------------------------------------------------------------
@pytest.fixture
def mexc() -> Mexc:
    return Mexc(Mexc.base_urls)


def test_mexc_contract_klines_start_with_the_contract_size(mexc, fixture_bytes) -> None:
    shard = Shard("mexc", "contract", "klines", "BTCUSDT", "2025-10", "15m")
    (detail,) = mexc.requests(shard, shard.end_ms)
    assert detail.url.endswith("/api/v1/contract/detail")
    assert dict(detail.params) == {"symbol": "BTC_USDT"}
    # The docs' detail example (cut after openingTime): contractSize 0.0001.
    page = mexc.parse(fixture_bytes("mexc", "mexc_contract_detail_head.json"), detail, shard)
    window = page.next
    assert page.batch.num_rows == 0 and dict(window.context)["size"] == "0.0001"
    assert window.url.endswith("/api/v1/contract/kline/BTC_USDT")
    params = dict(window.params)
    assert (
        params["interval"] == "Min15"
        and int(params["end"]) - int(params["start"]) == 2000 * 900 - 1
    )
    body = fixture_bytes("mexc", "mexc_contract_kline_index_price.json")  # the same columns
    body = body.replace(b'"vol":[0.0,0.0,0.0,0.0,0.0]', b'"vol":[3.0,0.0,0.0,0.0,125.0]')
    last = PageRequest(window.url, window.params, "contract", 1, FAR, context=window.context)
    batch = mexc.parse(body, last, shard).batch
    assert ms(batch.column("open_time"))[0] == 1761876000000
    assert batch.column("open").to_pylist()[0] == 109620.6
    assert (
        batch.column("volume").to_pylist()[0] == 0.0003
        and batch.column("volume")[4].as_py() == 0.0125
    )


@pytest.mark.parametrize(
    ("dtype", "path", "fixture", "period", "first_open"),
    [
        (
            "markklines",
            "/kline/fair_price/BTC_USDT",
            "mexc_contract_kline_fair_price.json",
            "2021-01",
            33041.0,
        ),
        (
            "indexklines",
            "/kline/index_price/BTC_USDT",
            "mexc_contract_kline_index_price.json",
            "2025-10",
            109620.6,
        ),
    ],
)
def test_mexc_price_klines(mexc, fixture_bytes, dtype, path, fixture, period, first_open):
    shard = Shard("mexc", "contract", dtype, "BTCUSDT", period, "15m")
    request = mexc.requests(shard, shard.end_ms)[0]
    assert request.url.endswith("/api/v1/contract" + path), "no contract size needed"
    whole = PageRequest(request.url, request.params, "contract", 1, FAR)
    batch = stored(mexc, fixture_bytes("mexc", fixture), whole, shard)
    assert batch.schema == SCHEMAS[dtype] and batch.column("open")[0].as_py() == first_open
    assert all(batch.column(n).null_count == batch.num_rows for n in PRICE_NULLS)


def test_mexc_has_no_trade_history_premium_or_open_interest() -> None:
    caps = Mexc.capabilities
    deals = caps.market("contract").capability("aggtrades").rest.reach
    assert deals.since_ms(None, 1_000) == 1_000 and "latest 100" in deals.reason(None)
    for dtype in ("premiumklines", "openinterest"):
        with pytest.raises(InputError, match=f"mexc serves no {dtype}"):
            caps.market_for("perp", dtype)
