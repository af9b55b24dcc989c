"""Instrument-list and ticker parsers, on the exchanges' documentation examples
(tests/fixtures) and, where no example exists, on the simulator's answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from storage.errors import ExchangeUnavailable, PermanentError
from workers.exchanges.binance_instruments import BinanceInstruments
from workers.exchanges.bybit_instruments import BybitInstruments
from workers.exchanges.gateio_instruments import GateInstruments
from workers.exchanges.instruments import Instrument
from workers.exchanges.mexc_instruments import MexcInstruments

FIXTURES = Path(__file__).parents[1] / "fixtures"
URL = "http://sim"
BINANCE = BinanceInstruments({"spot": URL, "usdm": URL})
BYBIT = BybitInstruments({"": URL})
GATE = GateInstruments({"": URL + "/api/v4"})
MEXC = MexcInstruments({"spot": URL + "/mexc", "contract": URL})


def body(name: str) -> bytes:
    exchange = name.split("_", 1)[0]
    return (FIXTURES / exchange / name).read_bytes()


def listed(venue, name: str, market: str, wrap=None) -> list[Instrument]:
    raw = body(name) if wrap is None else json.dumps(wrap(json.loads(body(name)))).encode()
    request = venue.list_requests(market)[0]
    return list(venue.parse_list(raw, request, market).instruments)


def test_binance_spot_list_has_no_dates_and_usdm_gives_onboard_date() -> None:
    assert listed(BINANCE, "binance_spot_exchange_info.json", "spot") == [
        Instrument("ETHBTC", "ETH", "BTC", True)
    ]
    assert not BINANCE.dated("spot") and BINANCE.dated("usdm")
    # the doc example is cut after the fifth filter: closed so it parses
    usdm = listed(BINANCE, "binance_usdm_exchange_info_head.json", "usdm")
    assert usdm == [Instrument("BLZUSDT", "BLZ", "USDT", True, 1598252400000, None)]


def test_binance_settling_perpetual_is_delisted_at_its_delivery_date() -> None:
    rows = {
        "symbols": [
            {"symbol": "XUSDT", "contractType": "PERPETUAL", "status": "SETTLING",
             "deliveryDate": 1700000000000, "onboardDate": 1600000000000,
             "baseAsset": "X", "quoteAsset": "USDT"},
            {"symbol": "BTCUSDT_240628", "contractType": "CURRENT_QUARTER", "status": "TRADING",
             "deliveryDate": 1719561600000, "onboardDate": 1600000000000,
             "baseAsset": "BTC", "quoteAsset": "USDT"},
        ]
    }  # fmt: skip
    request = BINANCE.list_requests("usdm")[0]
    found = BINANCE.parse_list(json.dumps(rows).encode(), request, "usdm").instruments
    assert found == (Instrument("XUSDT", "X", "USDT", False, 1600000000000, 1700000000000),)


def test_binance_tickers_read_the_quote_volume() -> None:
    mini = body("binance_spot_ticker_24hr_mini.json")
    assert BINANCE.parse_tickers(mini, "spot") == {"BNBBTC": 15.3, "LTCBTC": 0.77}
    usdm = json.dumps([json.loads(body("binance_usdm_ticker_24hr.json"))]).encode()
    assert BINANCE.parse_tickers(usdm, "usdm") == {"BTCUSDT": 15.3}
    assert BINANCE.ticker_request("spot").weight == 80


def test_bybit_linear_list_gives_launch_time_and_asks_trading_and_closed() -> None:
    found = listed(BYBIT, "bybit_instruments_info_linear.json", "linear")
    assert found == [Instrument("BTCUSDT", "BTC", "USDT", True, 1585526400000, None)]
    statuses = [dict(r.params)["status"] for r in BYBIT.list_requests("linear")]
    assert statuses == ["Trading", "Closed"]
    assert listed(BYBIT, "bybit_instruments_info_spot.json", "spot") == [
        Instrument("BTCUSDT", "BTC", "USDT", True)
    ]


def test_bybit_linear_list_follows_the_cursor() -> None:
    page = {
        "retCode": 0,
        "result": {
            "category": "linear",
            "nextPageCursor": "first%3DBIOUSDT%26last%3DBIOUSDT",
            "list": [{"symbol": "BIOUSDT", "contractType": "LinearPerpetual",
                      "status": "Closed", "baseCoin": "BIO", "quoteCoin": "USDT",
                      "launchTime": "1600000000000", "deliveryTime": "1700000000000"}],
        },
    }  # fmt: skip
    request = BYBIT.list_requests("linear")[1]
    got = BYBIT.parse_list(json.dumps(page).encode(), request, "linear")
    assert got.instruments[0].delisted_ms == 1700000000000
    assert got.next is not None
    assert dict(got.next.params)["cursor"] == "first%3DBIOUSDT%26last%3DBIOUSDT"
    assert dict(got.next.params)["status"] == "Closed"


def test_bybit_tickers_read_turnover() -> None:
    assert BYBIT.parse_tickers(body("bybit_tickers_spot.json"), "spot") == {
        "BTCUSDT": 243765620.65899866
    }


def test_gate_lists_give_listing_in_seconds_and_canonical_names() -> None:
    pairs = listed(GATE, "gateio_spot_currency_pairs.json", "spot")
    assert pairs == [Instrument("ETHUSDT", "ETH", "USDT", True, 1516378650000, None)]
    contracts = listed(GATE, "gateio_futures_contracts_announcement.json", "futures")
    assert contracts == [Instrument("BTCUSDT", "BTC", "USDT", True, 1737602786000, None)]


def test_mexc_lists_and_tickers() -> None:
    spot = listed(MEXC, "mexc_spot_exchange_info_symbol.json", "spot", lambda r: {"symbols": [r]})
    assert spot == [Instrument("METALUSDT", "METAL", "USDT", True)]
    contract = listed(MEXC, "mexc_contract_detail_head.json", "contract")
    assert contract == [Instrument("BTCUSDT", "BTC", "USDT", True, 1591242684000, None)]
    ticker = json.loads(body("mexc_spot_ticker_24hr.json"))
    volumes = MEXC.parse_tickers(json.dumps([ticker]).encode(), "spot")
    # the docs' example has quoteVolume null: volume x last price stands in
    assert volumes["BTCUSDT"] == pytest.approx(1732.461487 * 46263.71)
    contract_volumes = MEXC.parse_tickers(body("mexc_contract_ticker.json"), "contract")
    assert contract_volumes == {"BTCUSDT": 10374579341.00211}


@pytest.mark.parametrize(
    ("venue", "market", "answer", "error"),
    [
        (BINANCE, "spot", b'{"code":-1121}', PermanentError),
        (BYBIT, "linear", b'{"retCode":10001,"retMsg":"bad"}', PermanentError),
        (GATE, "spot", b"<html>", ExchangeUnavailable),
        (MEXC, "contract", b'{"success":false,"code":1}', PermanentError),
    ],
)
def test_an_answer_that_is_not_a_list_is_an_error_not_a_crash(venue, market, answer, error):
    with pytest.raises(error):
        venue.parse_list(answer, venue.list_requests(market)[0], market)
