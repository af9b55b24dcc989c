"""The simulator's new routes answer in the shape of each exchange's documentation example:
the same keys in the same order and the same JSON types (tests/unit/doc_shapes.py).

The examples are in tests/fixtures/<exchange>/ and their sources in tests/fixtures/README.md.
Gate.io's futures trades, premium index, contract stats and tickers have no example in our
stored copies of its docs; they are checked against the field order of Gate's official SDK
models instead (gateio/gateapi-python docs/*.md), which its docs generate from one spec.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp.test_utils import TestClient, TestServer

from simulator.server import SimConfig, make_app
from tests.unit.conftest import FIXTURES
from tests.unit.doc_shapes import mismatches

CONFIG = SimConfig(symbols=8, delisted=1)


def served(path: str, params: dict[str, str], config: SimConfig = CONFIG) -> object:
    async def main():
        async with TestClient(TestServer(make_app(config))) as client:
            response = await client.get(path, params=params)
            assert response.status == 200, await response.text()
            return json.loads(await response.read())

    return asyncio.run(main())


def example(exchange: str, name: str) -> object:
    return json.loads((FIXTURES / exchange / name).read_text())


def first(body: object) -> object:
    return body[0] if isinstance(body, list) else body


FILTERS = {"opaque": ("filters",)}
CASES = [
    # (exchange, fixture, path, params, how to compare)
    (
        "binance",
        "binance_usdm_mark_price_klines.json",
        "/fapi/v1/markPriceKlines",
        {"symbol": "BTCUSDT", "interval": "1m", "limit": "3"},
        {},
    ),
    (
        "binance",
        "binance_usdm_index_price_klines.json",
        "/fapi/v1/indexPriceKlines",
        {"pair": "BTCUSDT", "interval": "1h", "limit": "3"},
        {},
    ),
    (
        "binance",
        "binance_premium_index_klines.json",
        "/fapi/v1/premiumIndexKlines",
        {"symbol": "BTCUSDT", "interval": "1m", "limit": "3"},
        {},
    ),
    (
        "binance",
        "binance_usdm_open_interest_hist.json",
        "/futures/data/openInterestHist",
        {"symbol": "BTCUSDT", "period": "5m", "limit": "3"},
        {},
    ),
    ("binance", "binance_spot_ticker_24hr.json", "/api/v3/ticker/24hr", {"symbol": "BTCUSDT"}, {}),
    (
        "binance",
        "binance_spot_ticker_24hr_mini.json",
        "/api/v3/ticker/24hr",
        {"type": "MINI"},
        {},
    ),
    ("binance", "binance_usdm_ticker_24hr.json", "/fapi/v1/ticker/24hr", {"symbol": "BTCUSDT"}, {}),
    (
        "binance",
        "binance_spot_exchange_info.json",
        "/api/v3/exchangeInfo",
        {},
        {"optional": ("sors",), **FILTERS},
    ),
    (
        "binance",
        "binance_usdm_exchange_info_head.json",
        "/fapi/v1/exchangeInfo",
        {},
        {"prefix": True, **FILTERS},
    ),
    (
        "bybit",
        "bybit_mark_price_kline.json",
        "/v5/market/mark-price-kline",
        {"category": "linear", "symbol": "BTCUSDT", "interval": "15", "limit": "3"},
        {},
    ),
    (
        "bybit",
        "bybit_index_price_kline.json",
        "/v5/market/index-price-kline",
        {"category": "linear", "symbol": "BTCUSDT", "interval": "1", "limit": "3"},
        {},
    ),
    (
        "bybit",
        "bybit_premium_index_price_kline.json",
        "/v5/market/premium-index-price-kline",
        {"category": "linear", "symbol": "BTCUSDT", "interval": "D", "limit": "3"},
        {},
    ),
    (
        "bybit",
        "bybit_open_interest.json",
        "/v5/market/open-interest",
        {"category": "linear", "symbol": "BTCUSDT", "intervalTime": "5min", "limit": "3"},
        {},
    ),
    (
        "bybit",
        "bybit_tickers_inverse.json",
        "/v5/market/tickers",
        {"category": "linear"},
        {},
    ),
    ("bybit", "bybit_tickers_spot.json", "/v5/market/tickers", {"category": "spot"}, {}),
    (
        "bybit",
        "bybit_instruments_info_spot.json",
        "/v5/market/instruments-info",
        {"category": "spot"},
        {},
    ),
    (
        "bybit",
        "bybit_instruments_info_linear.json",
        "/v5/market/instruments-info",
        {"category": "linear"},
        {},
    ),
    ("gateio", "gateio_spot_currency_pairs.json", "/api/v4/spot/currency_pairs", {}, {}),
    (
        "gateio",
        "gateio_futures_contracts_announcement.json",
        "/api/v4/futures/usdt/contracts",
        {},
        {"prefix": True},
    ),
    (
        "mexc",
        "mexc_contract_deals.json",
        "/api/v1/contract/deals/BTC_USDT",
        {"limit": "3"},
        {},
    ),
    (
        "mexc",
        "mexc_contract_kline_fair_price.json",
        "/api/v1/contract/kline/fair_price/BTC_USDT",
        {"interval": "Min15"},
        {},
    ),
    (
        "mexc",
        "mexc_contract_kline_index_price.json",
        "/api/v1/contract/kline/index_price/BTC_USDT",
        {"interval": "Min15"},
        {},
    ),
    (
        "mexc",
        "mexc_contract_funding_rate.json",
        "/api/v1/contract/funding_rate/BTC_USDT",
        {},
        {},
    ),
    (
        "mexc",
        "mexc_contract_ticker.json",
        "/api/v1/contract/ticker",
        {"symbol": "BTC_USDT"},
        {},
    ),
    (
        "mexc",
        "mexc_contract_detail_head.json",
        "/api/v1/contract/detail",
        {"symbol": "BTC_USDT"},
        {"prefix": True},
    ),
    (
        "mexc",
        "mexc_spot_ticker_24hr.json",
        "/mexc/api/v3/ticker/24hr",
        {"symbol": "BTCUSDT"},
        {},
    ),
]


@pytest.mark.parametrize(("exchange", "name", "path", "params", "how"), CASES)
def test_served_body_has_the_documented_shape(exchange, name, path, params, how):
    problems = mismatches(example(exchange, name), served(path, params), **how)
    assert problems == [], "\n".join(problems)


def test_mexc_exchange_info_symbols_have_the_documented_shape():
    # The docs' example shows one symbol object, not the whole body.
    body = served("/mexc/api/v3/exchangeInfo", {"symbol": "BTCUSDT"})
    assert list(body) == ["timezone", "serverTime", "rateLimits", "exchangeFilters", "symbols"]
    doc = example("mexc", "mexc_spot_exchange_info_symbol.json")
    assert mismatches(doc, body["symbols"][0], **FILTERS) == []


def test_binance_mark_klines_are_rows_of_twelve_with_zero_volumes():
    rows = served("/fapi/v1/markPriceKlines", {"symbol": "BTCUSDT", "interval": "1m"})
    assert len(rows) == 500 and all(len(r) == 12 for r in rows)
    assert {r[5] for r in rows} == {"0"} and {r[8] for r in rows} == {60}


@pytest.mark.parametrize(
    ("path", "params", "fields"),
    [
        (  # gateapi-python docs/FuturesTrade.md
            "/api/v4/futures/usdt/trades",
            {"contract": "BTC_USDT", "limit": "3"},
            ["id", "create_time", "create_time_ms", "contract", "size", "price"],
        ),
        (  # docs/FuturesPremiumIndex.md
            "/api/v4/futures/usdt/premium_index",
            {"contract": "BTC_USDT", "limit": "3"},
            ["t", "c", "h", "l", "o"],
        ),
        (  # docs/ContractStat.md
            "/api/v4/futures/usdt/contract_stats",
            {"contract": "BTC_USDT", "limit": "3"},
            [
                "time",
                "lsr_taker",
                "lsr_account",
                "long_liq_size",
                "long_liq_amount",
                "long_liq_usd",
                "short_liq_size",
                "short_liq_amount",
                "short_liq_usd",
                "open_interest",
                "open_interest_usd",
                "top_lsr_account",
                "top_lsr_size",
            ],
        ),
        (  # docs/Ticker.md, without the ETF-only fields
            "/api/v4/spot/tickers",
            {"currency_pair": "BTC_USDT"},
            [
                "currency_pair",
                "last",
                "lowest_ask",
                "highest_bid",
                "change_percentage",
                "base_volume",
                "quote_volume",
                "high_24h",
                "low_24h",
            ],
        ),
        (  # docs/FuturesTicker.md, without quanto_base_rate (quanto contracts only)
            "/api/v4/futures/usdt/tickers",
            {"contract": "BTC_USDT"},
            [
                "contract",
                "last",
                "change_percentage",
                "total_size",
                "low_24h",
                "high_24h",
                "volume_24h",
                "volume_24h_btc",
                "volume_24h_usd",
                "volume_24h_base",
                "volume_24h_quote",
                "volume_24h_settle",
                "mark_price",
                "funding_rate",
                "funding_rate_indicative",
                "index_price",
                "basis_rate",
                "basis_value",
                "lowest_ask",
                "highest_bid",
            ],
        ),
    ],
)
def test_gate_routes_without_a_doc_example_follow_the_sdk_models(path, params, fields):
    rows = served(path, params)
    assert rows and all(list(row) == fields for row in rows)


def test_gate_mark_candles_have_no_volume_field():
    rows = served(
        "/api/v4/futures/usdt/candlesticks",
        {"contract": "mark_BTC_USDT", "interval": "1m", "limit": "3"},
    )
    doc = first(example("gateio", "gateio_futures_candlesticks_doc.json"))
    assert [list(r) for r in rows] == [[k for k in doc if k != "v"]] * 3
