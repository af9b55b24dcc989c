"""MEXC, Gate.io and Bybit parsers on the response examples of each exchange's documentation.

Sources of tests/fixtures/<exchange>/ (see /work/shared/reference/doc-examples/README.md):
* MEXC spot klines: https://www.mexc.com/api-docs/spot-v3/market-data-endpoints/klinecandlestick-data
* MEXC spot aggTrades:
  https://www.mexc.com/api-docs/spot-v3/market-data-endpoints/compressedaggregate-trades-list
* MEXC contract funding history:
  https://www.mexc.com/api-docs/futures/market-endpoints/get-funding-rate-history
* MEXC contract klines: https://www.mexc.com/api-docs/futures/market-endpoints/get-index-price-candles
* MEXC errors: spot `{"code":-1121,"msg":"Invalid symbol."}` (spot-v3 error codes, Binance-style);
  contract `success:false` code 1001 "Contract does not exist" (ccxt's MEXC error map).
* Gate spot candlesticks, currency pairs, futures funding rate, spot trades and the error body
  `{"label","message"}`: https://www.gate.com/docs/developers/apiv4/en/ (spot "Market
  K-line chart", "Retrieve market trades", futures "Funding rate history", "Error handling").
* Gate futures candlesticks (`GET /futures/{settle}/candlesticks`, the listing check of
  funding): the same page, futures "Futures market K-line chart" (200 Response example).
* Bybit klines: bybit-exchange/docs docs/v5/market/kline.mdx; funding history:
  docs/v5/market/history-fund-rate.mdx; errors: docs/v5/error.mdx (retCode 10001 with HTTP 200).
"""

from __future__ import annotations

import json

import pytest

from storage.errors import PermanentError, RateLimited
from storage.shards import Shard
from workers.exchanges.base import PageRequest
from workers.exchanges.bybit import Bybit
from workers.exchanges.gateio import GateIo
from workers.exchanges.mexc import Mexc

FAR = 2**60


@pytest.fixture
def mexc() -> Mexc:
    return Mexc(Mexc.base_urls)


@pytest.fixture
def gate() -> GateIo:
    return GateIo(GateIo.base_urls)


@pytest.fixture
def bybit() -> Bybit:
    return Bybit(Bybit.base_urls)


def _request(until_ms: int = FAR, **params: str) -> PageRequest:
    return PageRequest("https://x", tuple(params.items()), "g", 1, until_ms)


# -- MEXC -----------------------------------------------------------------------------------
def test_mexc_klines_have_eight_columns_and_close_next_open_minus_1ms(mexc, fixture_bytes):
    shard = Shard("mexc", "spot", "klines", "BTCUSDT", "2021-12", "1m")
    rows = mexc.parse(fixture_bytes("mexc", "mexc_spot_klines_doc.json"), _request(), shard)
    (row,) = rows.batch.to_pylist()
    assert int(row["open_time"].timestamp() * 1000) == 1640804880000
    assert int(row["close_time"].timestamp() * 1000) == 1640804939999  # MEXC sends …940000
    assert (row["open"], row["close"], row["volume"]) == (47482.36, 47436.1, 3.550717)
    assert row["quote_volume"] == 168387.3
    assert row["trades"] is row["taker_buy_base"] is row["taker_buy_quote"] is None


def test_mexc_aggtrades_without_ids_get_a_time_key(mexc, fixture_bytes):
    shard = Shard("mexc", "spot", "aggtrades", "BTCUSDT", "2022-01-05")
    page = mexc.parse(fixture_bytes("mexc", "mexc_spot_aggtrades.json"), _request(), shard)
    (row,) = page.batch.to_pylist()
    assert row["agg_id"] == 1641380483000 * 1000
    assert row["first_id"] is row["last_id"] is None
    assert (row["price"], row["qty"], row["is_buyer_maker"]) == (46782.67, 0.0038, False)
    assert page.next is None


def test_mexc_full_trade_page_refetches_its_last_millisecond(mexc):
    shard = Shard("mexc", "spot", "aggtrades", "BTCUSDT", "2024-01-15")
    t0 = shard.start_ms
    rows = [
        {"a": None, "f": None, "l": None, "p": "1.0", "q": "1.0", "T": t0 + i // 2, "m": True}
        for i in range(1000)
    ]
    until = t0 + 3_600_000
    page = mexc.parse(json.dumps(rows).encode(), _request(until), shard)
    assert page.batch.num_rows == 998  # the two trades of the last millisecond wait
    keys = page.batch.column("agg_id").to_pylist()
    assert keys[:3] == [t0 * 1000, t0 * 1000 + 1, (t0 + 1) * 1000]
    assert dict(page.next.params)["startTime"] == str(t0 + 499)
    assert page.next.until_ms == until


def test_mexc_funding_is_newest_first_and_walks_pages_back(mexc, fixture_bytes):
    shard = Shard("mexc", "contract", "funding", "BTCUSDT", "2025-10")
    first = mexc.requests(shard, shard.end_ms)[0]
    assert first.descending and dict(first.params)["symbol"] == "BTC_USDT"
    page = mexc.parse(fixture_bytes("mexc", "mexc_contract_funding.json"), first, shard)
    rates = page.batch.column("funding_rate").to_pylist()
    assert rates == [-0.000001, 0.000032, 0.000021]  # sorted oldest first, exact decimals
    assert page.batch.column("mark_price").null_count == 3
    assert dict(page.next.params)["page_num"] == "2"
    assert page.next.until_ms == 1761811200000, "the next page keeps only older rows"


def test_mexc_spot_listing_is_the_oldest_monthly_candle(mexc, fixture_bytes):
    request = mexc.listing_request("spot", "klines", "BTCUSDT")
    assert request.url.endswith("/api/v3/klines") and dict(request.params)["interval"] == "1M"
    body = fixture_bytes("mexc", "mexc_spot_klines_doc.json")
    assert mexc.parse_listing(body, "klines") == 1640804880000
    assert mexc.parse_listing(b"[]", "aggtrades") is None


def test_mexc_contract_kline_answers_since_when(mexc, fixture_bytes):
    body = fixture_bytes("mexc", "mexc_contract_kline_index_price.json")
    assert mexc.parse_listing(body, "funding") == 1761876000000


@pytest.mark.parametrize(
    ("status", "name", "error", "text"),
    [
        (400, "mexc_error_invalid_symbol.json", PermanentError, "Invalid symbol."),
        (200, "mexc_contract_error_not_exist.json", PermanentError, "Contract does not exist"),
    ],
)
def test_mexc_error_envelopes(mexc, fixture_bytes, status, name, error, text):
    with pytest.raises(error, match=text):
        mexc.check(status, {}, fixture_bytes("mexc", name))


def test_mexc_too_frequent_is_rate_limited(mexc):
    with pytest.raises(RateLimited):
        mexc.check(429, {"Retry-After": "3"}, b'{"code":429,"msg":"Too Many Requests"}')
    with pytest.raises(RateLimited):
        mexc.check(200, {}, b'{"success":false,"code":510,"message":"Requests are too frequent"}')


# -- Gate.io --------------------------------------------------------------------------------
def test_gate_candles_put_close_before_open_and_tolerate_seven_columns(gate, fixture_bytes):
    shard = Shard("gateio", "spot", "klines", "BTCUSDT", "2018-10", "1m")
    body = fixture_bytes("gateio", "gateio_spot_candlesticks_doc.json")
    (row,) = gate.parse(body, _request(), shard).batch.to_pylist()
    assert int(row["open_time"].timestamp()) == 1539852480
    assert (row["open"], row["high"], row["low"], row["close"]) == (
        0.0021737,
        0.0021922,
        0.0021724,
        0.0021724,
    )
    assert row["quote_volume"] == 971519.677 and row["volume"] is None


def test_gate_drops_the_candle_still_open(gate):
    shard = Shard("gateio", "spot", "klines", "BTCUSDT", "2024-03", "1h")
    rows = [
        ["1710324000", "10", "2", "3", "1", "1.5", "5", "true"],
        ["1710327600", "10", "2", "3", "1", "1.5", "5", "false"],
    ]
    batch = gate.parse(json.dumps(rows).encode(), _request(), shard)
    assert batch.batch.num_rows == 1 and batch.batch.column("volume").to_pylist() == [5.0]


def test_gate_trades_are_one_per_row_with_taker_side(gate, fixture_bytes):
    shard = Shard("gateio", "spot", "aggtrades", "BTCUSDT", "2024-03-13")
    request = gate.requests(shard, shard.end_ms)[0]
    assert request.descending and dict(request.params)["currency_pair"] == "BTC_USDT"
    page = gate.parse(fixture_bytes("gateio", "gateio_spot_trades.json"), _request(), shard)
    (row,) = page.batch.to_pylist()
    assert row["agg_id"] == row["first_id"] == row["last_id"] == 7835390042
    assert int(row["time"].timestamp() * 1000) == 1710327648162
    assert row["is_buyer_maker"] is False  # the taker bought
    assert (row["price"], row["qty"]) == (73236.4, 0.0002)


def test_gate_funding_is_in_seconds(gate, fixture_bytes):
    shard = Shard("gateio", "futures", "funding", "BTCUSDT", "2018-12")
    page = gate.parse(fixture_bytes("gateio", "gateio_futures_funding.json"), _request(), shard)
    (row,) = page.batch.to_pylist()
    assert int(row["funding_time"].timestamp()) == 1543968000
    assert row["funding_rate"] == 0.000157 and row["mark_price"] is None


def test_gate_listing_is_the_oldest_candle_of_spot_arrays_or_futures_objects(gate, fixture_bytes):
    spot = gate.listing_request("spot", "klines", "BTCUSDT")
    assert spot.url.endswith("/spot/candlesticks")
    assert dict(spot.params)["currency_pair"] == "BTC_USDT" and "limit" not in dict(spot.params)
    body = fixture_bytes("gateio", "gateio_spot_candlesticks_doc.json")
    assert gate.parse_listing(body, "klines") == 1539852480000
    futures = gate.listing_request("futures", "funding", "BTCUSDT")
    assert futures.url.endswith("/futures/usdt/candlesticks")
    assert dict(futures.params)["contract"] == "BTC_USDT"
    body = fixture_bytes("gateio", "gateio_futures_candlesticks_doc.json")
    assert gate.parse_listing(body, "funding") == 1539852480000
    assert gate.parse_listing(b"[]", "funding") is None


def reach(adapter, market: str, dtype: str, interval: str | None = None):
    return adapter.capabilities.market(market).capability(dtype, interval).rest.reach


def test_gate_candles_beyond_10000_intervals_are_declared(gate):
    now = 1_760_000_000_000
    candles = reach(gate, "spot", "klines", "1m")
    assert now - candles.since_ms("1m", now) == 9_900 * 60_000
    assert "10,000 1m candles" in candles.reason("1m")
    assert reach(gate, "futures", "funding").since_ms(None, now) is None


def test_gate_error_envelope(gate, fixture_bytes):
    body = fixture_bytes("gateio", "gateio_error_invalid_currency_pair.json")
    with pytest.raises(PermanentError, match="INVALID_CURRENCY_PAIR"):
        gate.check(400, {}, body)
    with pytest.raises(RateLimited):
        gate.check(429, {}, b'{"label":"TOO_MANY_REQUESTS","message":"Request Rate limit"}')


# -- Bybit ----------------------------------------------------------------------------------
def test_bybit_klines_arrive_newest_first_and_are_stored_oldest_first(bybit, fixture_bytes):
    shard = Shard("bybit", "spot", "klines", "BTCUSDT", "2022-12", "1h")
    batch = bybit.parse(fixture_bytes("bybit", "bybit_kline_doc.json"), _request(), shard).batch
    opens = [int(t.timestamp() * 1000) for t in batch.column("open_time").to_pylist()]
    assert opens == [1670601600000, 1670605200000, 1670608800000]
    assert batch.column("open").to_pylist()[0] == 17086.5
    assert batch.column("quote_volume").to_pylist()[-1] == 15.74462667


def test_bybit_funding_history(bybit, fixture_bytes):
    shard = Shard("bybit", "linear", "funding", "BTCUSDT", "2022-12")
    requests = bybit.requests(shard, shard.end_ms)
    assert len(requests) == 4, "8-day windows never hold more than the page cap of 200"
    request = requests[3]  # 2022-12-25 .. 2023-01-01, where the doc's row falls
    assert request.descending and dict(request.params)["limit"] == "200"
    page = bybit.parse(fixture_bytes("bybit", "bybit_funding_history.json"), request, shard)
    (row,) = page.batch.to_pylist()
    assert int(row["funding_time"].timestamp() * 1000) == 1672041600000
    assert row["funding_rate"] == 0.0001 and page.next is None


def test_bybit_listing_is_the_oldest_monthly_candle(bybit, fixture_bytes):
    assert bybit.parse_listing(fixture_bytes("bybit", "bybit_kline_doc.json"), "klines") == (
        1670601600000
    )


def test_bybit_errors_inside_http_200_and_403_ban(bybit, fixture_bytes):
    body = fixture_bytes("bybit", "bybit_error_not_supported_symbols.json")
    with pytest.raises(PermanentError, match="Not supported symbols"):
        bybit.check(200, {}, body)
    with pytest.raises(RateLimited) as banned:
        bybit.check(403, {}, b"access too frequent")
    assert banned.value.retry_after_s >= 600


def test_bybit_trades_are_beyond_rest(bybit):
    trades = reach(bybit, "spot", "aggtrades")
    assert trades.since_ms(None, 1_760_000_000_000) == 1_760_000_000_000
    assert "archive" in trades.reason(None)


def test_mexc_trade_history_is_beyond_rest(mexc):
    trades = reach(mexc, "spot", "aggtrades")
    assert trades.since_ms(None, 1_760_000_000_000) == 1_760_000_000_000
    assert "download page" in trades.reason(None)
    assert reach(mexc, "spot", "klines", "1m").since_ms("1m", 1_760_000_000_000) is None


def test_bybit_kline_pages_stay_within_the_documented_200(bybit):
    shard = Shard("bybit", "spot", "klines", "BTCUSDT", "2024-01", "1m")
    requests = bybit.requests(shard, shard.end_ms)
    assert len(requests) == -(-31 * 1440 // 200)
    assert all(dict(r.params)["limit"] == "200" for r in requests)
