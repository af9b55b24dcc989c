"""The Binance adapter: documented bodies through `parse`, error mapping, and page planning.

Bodies in tests/fixtures/binance/ are the examples of Binance's API documentation
(copied from the reference set; see /work/shared/reference/doc-examples/README.md):

* binance_spot_aggtrades.json: binance/binance-spot-api-docs rest-api.md,
  "Compressed/Aggregate trades list" (GET /api/v3/aggTrades)
* binance_usdm_aggtrades.json: https://developers.binance.com/docs/derivatives/
  usds-margined-futures/market-data/rest-api/Compressed-Aggregate-Trades-List
* binance_usdm_fundingrate.json: https://developers.binance.com/docs/derivatives/
  usds-margined-futures/market-data/rest-api/Get-Funding-Rate-History
* binance_error_invalid_symbol.json: binance-spot-api-docs rest-api.md "Error Codes" and
  errors.md (-1121)
* binance_spot_klines.json: the GET /api/v3/klines row quoted in exchange-apis.md §1.4
  (a ccxt-recorded response; the spot docs show the same 12-field layout)
"""

from __future__ import annotations

import itertools
import json

import pyarrow as pa
import pytest

from storage.errors import (
    ExchangeUnavailable,
    PermanentError,
    RateLimited,
    TransientError,
)
from storage.schemas import SCHEMAS
from storage.shards import Shard
from workers.exchanges.base import PageRequest, Usage
from workers.exchanges.binance import Binance

HOUR_MS = 3_600_000
MINUTE_MS = 60_000
UTC_MS = pa.timestamp("ms", tz="UTC")


@pytest.fixture
def binance() -> Binance:
    return Binance(Binance.base_urls)


def ms_values(column: pa.Array) -> list[int]:
    assert column.type == UTC_MS
    return column.cast(pa.int64()).to_pylist()


def request_covering(adapter: Binance, shard: Shard, t_ms: int) -> PageRequest:
    """The planned request whose window holds `t_ms`."""
    for request in adapter.requests(shard, shard.end_ms):
        params = dict(request.params)
        if int(params["startTime"]) <= t_ms <= int(params["endTime"]):
            return request
    raise AssertionError(f"no planned request covers {t_ms}")


# -- documented bodies through parse ------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "market"),
    [("binance_spot_aggtrades.json", "spot"), ("binance_usdm_aggtrades.json", "usdm")],
    ids=["spot-with-M", "usdm-without-M"],
)
def test_doc_aggtrades_parse_to_the_contract_row(
    binance: Binance, fixture_bytes, name: str, market: str
) -> None:
    shard = Shard("binance", market, "aggtrades", "BTCUSDT", "2017-06-30")
    request = request_covering(binance, shard, 1498793709153)
    page = binance.parse(fixture_bytes("binance", name), request, shard)

    assert page.batch.schema == SCHEMAS["aggtrades"]
    assert page.next is None  # one row is not a full page
    row = page.batch.to_pylist()[0]
    assert page.batch.num_rows == 1
    assert row["agg_id"] == 26129
    assert row["price"] == float("0.01633102")
    assert row["qty"] == float("4.70443515")
    assert (row["first_id"], row["last_id"]) == (27781, 27781)
    assert row["is_buyer_maker"] is True
    assert ms_values(page.batch.column("time")) == [1498793709153]


def test_doc_funding_history_parses_both_rows(binance: Binance, fixture_bytes) -> None:
    shard = Shard("binance", "usdm", "funding", "BTCUSDT", "2019-10")
    (request,) = binance.requests(shard, shard.end_ms)
    page = binance.parse(fixture_bytes("binance", "binance_usdm_fundingrate.json"), request, shard)

    assert page.batch.schema == SCHEMAS["funding"]
    assert page.next is None
    assert ms_values(page.batch.column("funding_time")) == [1570608000000, 1570636800000]
    assert page.batch.column("funding_rate").to_pylist() == [
        float("-0.03750000"),
        float("0.00010000"),
    ]
    assert page.batch.column("mark_price").to_pylist() == [float("34287.54619963")] * 2


def test_doc_klines_row_parses_all_twelve_fields(binance: Binance, fixture_bytes) -> None:
    shard = Shard("binance", "spot", "klines", "BTCUSDT", "2024-01", "1h")
    request = binance.requests(shard, shard.end_ms)[0]
    page = binance.parse(fixture_bytes("binance", "binance_spot_klines.json"), request, shard)

    assert page.batch.schema == SCHEMAS["klines"]
    assert page.next is None
    assert ms_values(page.batch.column("open_time")) == [1706630400000]
    assert ms_values(page.batch.column("close_time")) == [1706633999999]
    row = page.batch.to_pylist()[0]
    assert {k: v for k, v in row.items() if not k.endswith("_time")} == {
        "open": float("43519.34000000"),
        "high": float("43936.00000000"),
        "low": float("43171.00000000"),
        "close": float("43488.71000000"),
        "volume": float("20.55495000"),
        "quote_volume": float("891428.42858070"),
        "trades": 3743,
        "taker_buy_base": float("10.91428000"),
        "taker_buy_quote": float("473782.95739920"),
    }


def test_funding_mark_price_empty_string_is_null(binance: Binance) -> None:
    shard = Shard("binance", "usdm", "funding", "BTCUSDT", "2019-10")
    (request,) = binance.requests(shard, shard.end_ms)
    body = json.dumps(
        [
            {
                "symbol": "BTCUSDT",
                "fundingRate": "0.00010000",
                "fundingTime": 1570608000000,
                "markPrice": "",
            },
            {
                "symbol": "BTCUSDT",
                "fundingRate": "0.00020000",
                "fundingTime": 1570636800000,
                "markPrice": "8300.5",
            },
        ]
    ).encode()
    batch = binance.parse(body, request, shard).batch
    assert batch.column("mark_price").to_pylist() == [None, 8300.5]
    assert batch.column("funding_rate").to_pylist() == [0.0001, 0.0002]


@pytest.mark.parametrize(
    "shard",
    [
        Shard("binance", "spot", "klines", "BTCUSDT", "2024-01", "1m"),
        Shard("binance", "spot", "aggtrades", "BTCUSDT", "2024-01-15"),
        Shard("binance", "usdm", "funding", "BTCUSDT", "2024-01"),
    ],
    ids=lambda s: s.dtype,
)
def test_an_empty_answer_is_an_empty_batch_with_the_schema(binance: Binance, shard: Shard) -> None:
    request = binance.requests(shard, shard.end_ms)[0]
    page = binance.parse(b"[]", request, shard)
    assert page.batch.num_rows == 0
    assert page.batch.schema == SCHEMAS[shard.dtype]
    assert page.next is None


@pytest.mark.parametrize(
    "body",
    [b'[{"a":26129,"p":"0.01633102","q":"4.70', b"", b"<html>502 Bad Gateway</html>"],
    ids=["truncated", "empty", "html"],
)
def test_a_body_that_is_not_json_is_transient(binance: Binance, body: bytes) -> None:
    shard = Shard("binance", "spot", "aggtrades", "BTCUSDT", "2024-01-15")
    request = binance.requests(shard, shard.end_ms)[0]
    with pytest.raises(ExchangeUnavailable) as caught:
        binance.parse(body, request, shard)
    assert isinstance(caught.value, TransientError)


def test_an_error_object_in_a_200_answer_is_permanent(binance: Binance, fixture_bytes) -> None:
    shard = Shard("binance", "spot", "klines", "BTCUSDT", "2024-01", "1m")
    request = binance.requests(shard, shard.end_ms)[0]
    with pytest.raises(PermanentError):
        binance.parse(fixture_bytes("binance", "binance_error_invalid_symbol.json"), request, shard)


# -- error mapping ------------------------------------------------------------------------
def test_invalid_symbol_is_permanent_with_the_exchanges_words(
    binance: Binance, fixture_bytes
) -> None:
    body = fixture_bytes("binance", "binance_error_invalid_symbol.json")
    with pytest.raises(PermanentError) as caught:
        binance.check(400, {}, body)
    error = caught.value
    assert not isinstance(error, TransientError)
    assert "Invalid symbol" in str(error)
    assert "-1121" in str(error)
    assert (error.code, error.status) == (-1121, 400)


@pytest.mark.parametrize(
    ("status", "headers", "body", "retry_after_s"),
    [
        (429, {"Retry-After": "7"}, b"", 7.0),
        (429, {"Retry-After": "7"}, b'{"code":-1003,"msg":"Too many requests."}', 7.0),
        (418, {"Retry-After": "120"}, b'{"code":-1003,"msg":"Way too many requests."}', 120.0),
        (403, {"Retry-After": "30"}, b"<html>403 Forbidden</html>", 30.0),
    ],
    ids=["429", "429-with-code", "418-ban", "403-waf"],
)
def test_rate_limit_answers_wait_as_told(
    binance: Binance, status: int, headers: dict, body: bytes, retry_after_s: float
) -> None:
    with pytest.raises(RateLimited) as caught:
        binance.check(status, headers, body)
    assert caught.value.retry_after_s == retry_after_s
    assert caught.value.status == status


@pytest.mark.parametrize("status", [418, 429, 403])
def test_rate_limit_without_retry_after_still_waits(binance: Binance, status: int) -> None:
    with pytest.raises(RateLimited) as caught:
        binance.check(status, {}, b"")
    assert caught.value.retry_after_s > 0


@pytest.mark.parametrize(
    ("group", "headers", "expected"),
    [
        (
            "spot",
            {"X-MBX-USED-WEIGHT": "7", "X-MBX-USED-WEIGHT-1M": "1234"},
            Usage("spot", 1234, 60),
        ),
        ("usdm", {"x-mbx-used-weight-1m": "99"}, Usage("usdm", 99, 60)),
        ("usdm_funding", {"X-MBX-USED-WEIGHT-1M": "99"}, Usage("usdm", 99, 60)),
        ("spot", {"X-MBX-USED-WEIGHT-5S": "40"}, Usage("spot", 40, 5)),
        ("spot", {"X-MBX-USED-WEIGHT-1H": "40"}, Usage("spot", 40, 3600)),
        ("spot", {"Content-Type": "application/json"}, None),
        ("spot", {"X-MBX-USED-WEIGHT-1M": "many"}, None),
        ("archive", {"X-MBX-USED-WEIGHT-1M": "5"}, None),
    ],
    ids=[
        "spot-1m",
        "usdm-lowercase",
        "funding-reports-usdm-weight",
        "5s",
        "1h",
        "none",
        "bad",
        "archive",
    ],
)
def test_the_used_weight_header_is_read_for_the_hosts_weight_budget(
    binance: Binance, group: str, headers: dict, expected: Usage | None
) -> None:
    request = PageRequest("http://x", (), group, 1)
    assert binance.usage(request, headers) == expected


def test_a_ban_waits_longer_than_a_429_by_default(binance: Binance) -> None:
    waits = {}
    for status in (418, 429):
        with pytest.raises(RateLimited) as caught:
            binance.check(status, {}, b"")
        waits[status] = caught.value.retry_after_s
    assert waits[418] >= 60 > waits[429]


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, b""),
        (502, b"<html>Bad Gateway</html>"),
        (503, b'{"code":-1001,"msg":"Internal error; unable to process your request."}'),
        (504, b""),
    ],
)
def test_server_errors_are_transient(binance: Binance, status: int, body: bytes) -> None:
    with pytest.raises(ExchangeUnavailable) as caught:
        binance.check(status, {}, body)
    assert caught.value.status == status


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (400, b'{"code":-1120,"msg":"Invalid interval."}', -1120),
        (400, b'{"code":-1100,"msg":"Illegal characters found in parameter \'symbol\'."}', -1100),
        (404, b"<html>Not Found</html>", None),
    ],
    ids=["bad-interval", "illegal-characters", "not-found"],
)
def test_other_client_errors_are_permanent(
    binance: Binance, status: int, body: bytes, code: int | None
) -> None:
    with pytest.raises(PermanentError) as caught:
        binance.check(status, {}, body)
    assert caught.value.code == code
    assert caught.value.status == status


@pytest.mark.parametrize("status", [200, 204, 301])
def test_answers_below_400_pass(binance: Binance, status: int) -> None:
    binance.check(status, {}, b"[]")


# -- planning pages -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("market", "limit", "pages"), [("spot", 1000, 45), ("usdm", 499, 90)], ids=["spot", "usdm"]
)
def test_a_january_of_1m_klines_is_contiguous_pages_covering_the_month(
    binance: Binance, market: str, limit: int, pages: int
) -> None:
    shard = Shard("binance", market, "klines", "BTCUSDT", "2024-01", "1m")
    requests = binance.requests(shard, shard.end_ms)
    assert len(requests) == pages
    windows = []
    for request in requests:
        params = dict(request.params)
        assert params["symbol"] == "BTCUSDT"
        assert params["interval"] == "1m"
        assert int(params["limit"]) == limit
        start, end = int(params["startTime"]), int(params["endTime"])
        assert (end + 1 - start) // MINUTE_MS <= limit
        assert start % MINUTE_MS == 0
        windows.append((start, end))
    assert windows[0][0] == shard.start_ms
    assert windows[-1][1] == shard.end_ms - 1
    for (_, end), (start, _) in itertools.pairwise(windows):
        assert start == end + 1
    candles = sum((end + 1 - start) // MINUTE_MS for start, end in windows)
    assert candles == 31 * 24 * 60


def test_kline_pages_of_an_unfinished_month_stop_at_until(binance: Binance) -> None:
    shard = Shard("binance", "spot", "klines", "BTCUSDT", "2024-01", "1m")
    until = shard.start_ms + 2500 * MINUTE_MS
    requests = binance.requests(shard, until)
    assert len(requests) == 3
    assert int(dict(requests[-1].params)["endTime"]) == until - 1


def test_kline_requests_use_the_right_endpoint_and_weight(binance: Binance) -> None:
    spot = binance.requests(
        Shard("binance", "spot", "klines", "BTCUSDT", "2024-01", "1h"),
        Shard.parse("binance:spot:klines:1h:BTCUSDT:2024-01").end_ms,
    )
    assert len(spot) == 1  # 744 hourly candles fit one page
    assert spot[0].url == "https://api.binance.com/api/v3/klines"
    assert (spot[0].group, spot[0].weight) == ("spot", 2)


def test_an_aggtrades_day_is_24_hourly_chains(binance: Binance) -> None:
    shard = Shard("binance", "usdm", "aggtrades", "BTCUSDT", "2024-02-29")
    requests = binance.requests(shard, shard.end_ms)
    assert len(requests) == 24
    for hour, request in enumerate(requests):
        start = shard.start_ms + hour * HOUR_MS
        params = dict(request.params)
        assert int(params["startTime"]) == start
        assert int(params["endTime"]) == start + HOUR_MS - 1  # USD-M refuses wider windows
        assert request.until_ms == start + HOUR_MS
        assert request.url == "https://fapi.binance.com/fapi/v1/aggTrades"
        assert (request.group, request.weight) == ("usdm", 20)


def test_aggtrades_of_an_unfinished_day_stop_at_until(binance: Binance) -> None:
    shard = Shard("binance", "spot", "aggtrades", "BTCUSDT", "2024-06-15")
    until = shard.start_ms + 10 * HOUR_MS + 30 * MINUTE_MS
    requests = binance.requests(shard, until)
    assert len(requests) == 11
    assert requests[-1].until_ms == until
    assert int(dict(requests[-1].params)["endTime"]) == until - 1


def agg_body(first_id: int, times: list[int]) -> bytes:
    return json.dumps(
        [
            {
                "a": first_id + i,
                "p": "42000.10",
                "q": "0.001",
                "f": 10 * i,
                "l": 10 * i,
                "T": t,
                "m": False,
                "M": True,
            }
            for i, t in enumerate(times)
        ]
    ).encode()


def test_a_full_aggtrades_page_continues_from_the_next_id(binance: Binance) -> None:
    shard = Shard("binance", "spot", "aggtrades", "BTCUSDT", "2024-01-15")
    first = binance.requests(shard, shard.end_ms)[3]
    start = int(dict(first.params)["startTime"])
    page = binance.parse(agg_body(5000, [start + i for i in range(1000)]), first, shard)

    assert page.batch.num_rows == 1000
    assert page.next is not None
    params = dict(page.next.params)
    assert params["fromId"] == "6000"  # last a (5999) + 1
    assert "startTime" not in params and "endTime" not in params
    assert params["symbol"] == "BTCUSDT"
    assert page.next.until_ms == first.until_ms
    assert (page.next.url, page.next.group, page.next.weight) == (
        first.url,
        first.group,
        first.weight,
    )


def test_a_short_aggtrades_page_ends_its_chain(binance: Binance) -> None:
    shard = Shard("binance", "spot", "aggtrades", "BTCUSDT", "2024-01-15")
    first = binance.requests(shard, shard.end_ms)[0]
    page = binance.parse(agg_body(1, [shard.start_ms + i for i in range(999)]), first, shard)
    assert page.batch.num_rows == 999
    assert page.next is None


def test_aggtrades_past_until_are_dropped_and_the_chain_stops(binance: Binance) -> None:
    shard = Shard("binance", "spot", "aggtrades", "BTCUSDT", "2024-01-15")
    first = binance.requests(shard, shard.end_ms)[0]
    # A fromId page that ran past the hour: 990 trades inside it, 10 from the next hour.
    until = first.until_ms
    times = [until - 990 + i for i in range(990)] + [until + i for i in range(10)]
    page = binance.parse(agg_body(7000, times), first, shard)

    assert page.next is None
    assert page.batch.num_rows == 990
    assert max(ms_values(page.batch.column("time"))) == until - 1
    assert page.batch.column("agg_id").to_pylist() == list(range(7000, 7990))


def funding_body(times: list[int]) -> bytes:
    return json.dumps(
        [
            {"symbol": "BTCUSDT", "fundingRate": "0.0001", "fundingTime": t, "markPrice": "1"}
            for t in times
        ]
    ).encode()


def test_a_full_funding_page_continues_after_its_last_time(binance: Binance) -> None:
    shard = Shard("binance", "usdm", "funding", "BTCUSDT", "2024-01")
    (first,) = binance.requests(shard, shard.end_ms)
    assert dict(first.params)["startTime"] == str(shard.start_ms)
    assert dict(first.params)["endTime"] == str(shard.end_ms - 1)
    times = [shard.start_ms + i * MINUTE_MS for i in range(1000)]
    page = binance.parse(funding_body(times), first, shard)

    assert page.batch.num_rows == 1000
    assert page.next is not None
    params = dict(page.next.params)
    assert params["startTime"] == str(times[-1] + 1)
    assert params["endTime"] == str(shard.end_ms - 1)
    assert page.next.until_ms == shard.end_ms
    assert page.next.group == "usdm_funding"


def test_a_short_funding_page_ends_the_chain(binance: Binance) -> None:
    shard = Shard("binance", "usdm", "funding", "BTCUSDT", "2024-01")
    (first,) = binance.requests(shard, shard.end_ms)
    times = [shard.start_ms + i * 8 * HOUR_MS for i in range(93)]
    assert binance.parse(funding_body(times), first, shard).next is None


def test_funding_requests_are_charged_to_their_own_budget(binance: Binance) -> None:
    shard = Shard("binance", "usdm", "funding", "BTCUSDT", "2024-01")
    (request,) = binance.requests(shard, shard.end_ms)
    assert request.url == "https://fapi.binance.com/fapi/v1/fundingRate"
    assert (request.group, request.weight) == ("usdm_funding", 1)


def test_urls_come_from_configuration(binance: Binance) -> None:
    adapter = Binance({"spot": "http://127.0.0.1:8080", "usdm": "http://127.0.0.1:8081"})
    shard = Shard("binance", "spot", "klines", "BTCUSDT", "2024-01", "1m")
    assert adapter.requests(shard, shard.end_ms)[0].url == "http://127.0.0.1:8080/api/v3/klines"


@pytest.mark.parametrize(
    ("dtype", "body", "first_ms"),
    [
        ("klines", "binance_spot_klines.json", 1706630400000),
        ("funding", "binance_usdm_fundingrate.json", 1570608000000),
    ],
)
def test_listing_answer_gives_the_first_data_time(
    binance: Binance, fixture_bytes, dtype: str, body: str, first_ms: int
) -> None:
    assert binance.parse_listing(fixture_bytes("binance", body), dtype) == first_ms


def test_listing_with_no_data_yet_is_none(binance: Binance) -> None:
    assert binance.parse_listing(b"[]", "klines") is None
