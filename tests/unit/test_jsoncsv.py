"""The jsoncsv fast path gives exactly the reference parser's pages, or leaves the body to it.

Each case parses one body twice: `adapter.parse` (jsoncsv where it takes the body) and
`adapter.parse_json` (json.loads + Arrow, today's parser). Both must give equal batches
(values, nulls and types) and the same next request, or raise the same error.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow as pa
import pytest

from storage.errors import DataError, ExchangeUnavailable, PermanentError, ShardfetchError
from storage.shards import Shard
from workers.exchanges import gateio as gate_module
from workers.exchanges import jsoncsv
from workers.exchanges import mexc as mexc_module
from workers.exchanges.base import PageRequest
from workers.exchanges.binance import AGGTRADE_ROWS, KLINE_ROWS, Binance
from workers.exchanges.gateio import GateIo
from workers.exchanges.mexc import Mexc

FIXTURES = Path(__file__).parents[1] / "fixtures"
FAR = 2**60
KLINES = Shard("binance", "spot", "klines", "BTCUSDT", "2024-01", "1m")
SPOT_TRADES = Shard("binance", "spot", "aggtrades", "BTCUSDT", "2024-01-15")
USDM_TRADES = Shard("binance", "usdm", "aggtrades", "BTCUSDT", "2024-01-15")
TRADE_REQUEST = PageRequest("https://x", (("symbol", "BTCUSDT"),), "spot", 4, FAR)
KLINE_REQUEST = PageRequest("https://x", (("symbol", "BTCUSDT"),), "spot", 2)
#: decimals as exchanges print them, the extremes included
DECIMALS = [
    "0.00000001",
    "99999999999.99999999",
    "0",
    "0.00000000",
    "1",
    "43519.34000000",
    "1e-8",
    "1.5E+3",
    "-0.03750000",
    "123456789012345678901234567890",
    "0.1000000000000000055511151231257827",
]


def _compact(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _outcome(parse, body: bytes, request: PageRequest, shard: Shard):
    try:
        page = parse(body, request, shard)
    except ShardfetchError as exc:
        return type(exc), str(exc)
    return page


def assert_same(adapter, body: bytes, request: PageRequest, shard: Shard) -> object:
    """The page (or error) of both parsers, checked equal; returns it."""
    fast = _outcome(adapter.parse, body, request, shard)
    ref = _outcome(adapter.parse_json, body, request, shard)
    if isinstance(ref, tuple) or isinstance(fast, tuple):
        assert fast == ref
        return ref
    assert fast.batch.schema == ref.batch.schema
    assert fast.batch.equals(ref.batch), (fast.batch.to_pylist()[:3], ref.batch.to_pylist()[:3])
    assert fast.next == ref.next
    return ref


def _kline_row(rng: random.Random, t: int, texts: list[str] | None = None) -> list:
    d = texts or [rng.choice(DECIMALS) if rng.random() < 0.2 else _decimal(rng) for _ in range(8)]
    return [t, *d[:5], t + 59_999, d[5], rng.randrange(0, 10**6), d[6], d[7], "0"]


def _decimal(rng: random.Random) -> str:
    whole = rng.choice([0, 1, 7, 99, 43519, 10**8, 10**11 - 1])
    return f"{whole}.{rng.randrange(10**8):08d}"


def _klines_body(rows: int, seed: int = 0) -> bytes:
    rng = random.Random(seed)
    return _compact([_kline_row(rng, KLINES.start_ms + i * 60_000) for i in range(rows)])


def _trade(rng: random.Random, i: int, spot: bool = True) -> dict:
    row = {
        "a": 26_129 + i,
        "p": rng.choice(DECIMALS) if rng.random() < 0.2 else _decimal(rng),
        "q": _decimal(rng),
        "f": 27_781 + 2 * i,
        "l": 27_782 + 2 * i,
        "T": SPOT_TRADES.start_ms + i * 37,
        "m": rng.random() < 0.5,
    }
    return {**row, "M": True} if spot else row


def _trades_body(rows: int, spot: bool = True, seed: int = 0) -> bytes:
    rng = random.Random(seed)
    return _compact([_trade(rng, i, spot) for i in range(rows)])


@pytest.fixture
def binance() -> Binance:
    return Binance(Binance.base_urls)


# -- fixtures and generated pages: the fast path takes them and agrees ----------------------
@pytest.mark.parametrize(
    ("name", "shard", "layout"),
    [
        ("binance_spot_klines.json", KLINES, KLINE_ROWS),
        ("binance_spot_aggtrades.json", SPOT_TRADES, AGGTRADE_ROWS["spot"]),
        ("binance_usdm_aggtrades.json", USDM_TRADES, AGGTRADE_ROWS["usdm"]),
    ],
)
def test_binance_fixtures_parse_fast_and_equal(binance, name, shard, layout):
    body = (FIXTURES / "binance" / name).read_bytes().strip()
    assert jsoncsv.read(body, layout) is not None
    request = KLINE_REQUEST if shard.dtype == "klines" else TRADE_REQUEST
    assert assert_same(binance, body, request, shard).batch.num_rows >= 1


@pytest.mark.parametrize("rows", [0, 1, 2, 999, 1000, 10_000])  # 10,000: over one CSV block
def test_binance_klines_pages_equal(binance, rows):
    body = _klines_body(rows, seed=rows)
    assert jsoncsv.read(body, KLINE_ROWS) is not None
    assert assert_same(binance, body, KLINE_REQUEST, KLINES).batch.num_rows == rows


@pytest.mark.parametrize("rows", [0, 1, 999, 1000, 10_000])  # 10,000: over one CSV block
@pytest.mark.parametrize("shard", [SPOT_TRADES, USDM_TRADES])
def test_binance_aggtrades_pages_equal_with_their_next_request(binance, rows, shard):
    body = _trades_body(rows, spot=shard.market == "spot", seed=rows)
    assert jsoncsv.read(body, AGGTRADE_ROWS[shard.market]) is not None
    page = assert_same(binance, body, TRADE_REQUEST, shard)
    assert page.batch.num_rows == rows
    assert (page.next is not None) == (rows >= 1000)


def test_binance_aggtrades_past_the_window_end_dropped_alike(binance):
    body = _trades_body(1000)
    until = SPOT_TRADES.start_ms + 500 * 37
    request = PageRequest("https://x", (("symbol", "BTCUSDT"),), "spot", 4, until)
    page = assert_same(binance, body, request, SPOT_TRADES)
    assert page.batch.num_rows == 500 and page.next is None


def test_every_extreme_decimal_converts_to_the_same_float(binance):
    rows = [
        _kline_row(random.Random(0), KLINES.start_ms + i * 60_000, [d] * 8)
        for i, d in enumerate(DECIMALS)
    ]
    body = _compact(rows)
    assert jsoncsv.read(body, KLINE_ROWS) is not None
    page = assert_same(binance, body, KLINE_REQUEST, KLINES)
    assert page.batch.column("open").to_pylist() == [float(d) for d in DECIMALS]


def test_every_extreme_decimal_in_a_trade_converts_to_the_same_float(binance):
    rng = random.Random(0)
    rows = [{**_trade(rng, i), "p": d, "q": d} for i, d in enumerate(DECIMALS)]
    body = _compact(rows)
    assert jsoncsv.read(body, AGGTRADE_ROWS["spot"]) is not None
    page = assert_same(binance, body, TRADE_REQUEST, SPOT_TRADES)
    assert page.batch.column("price").to_pylist() == [float(d) for d in DECIMALS]
    assert page.batch.column("qty").to_pylist() == [float(d) for d in DECIMALS]


def test_random_decimals_are_bit_identical(binance):
    rng = random.Random(7)
    texts = [
        f"{rng.randrange(10 ** rng.randrange(1, 16))}.{rng.randrange(10**9):0{rng.randrange(9)}d}"
        for _ in range(8000)
    ]
    rows = [
        _kline_row(rng, KLINES.start_ms + i * 60_000, texts[8 * i : 8 * i + 8]) for i in range(1000)
    ]
    assert assert_same(binance, _compact(rows), KLINE_REQUEST, KLINES).batch.num_rows == 1000


# -- bodies the fast path leaves to the reference parser -----------------------------------
def _klines_variants() -> dict[str, bytes]:
    good = _klines_body(3)
    rows = json.loads(good)
    ints_as_text = [[str(v) if isinstance(v, int) else v for v in r] for r in rows]
    numbers = [[float(v) if isinstance(v, str) else v for v in r] for r in rows]
    nulls = [[None if i in (2, 8) else v for i, v in enumerate(r)] for r in rows]
    empty_text = [[("" if i == 5 else v) for i, v in enumerate(r)] for r in rows]
    return {
        "integers sent as strings": _compact(ints_as_text),
        "decimals sent as JSON numbers": _compact(numbers),
        "nulls": _compact(nulls),
        "empty decimal": _compact(empty_text),
        "pretty-printed": json.dumps(rows, indent=1).encode(),
        "spaces after commas": json.dumps(rows).encode(),
        "a thirteenth column": _compact([[*r, "1"] for r in rows]),
        "an eleventh column missing": _compact([r[:11] for r in rows]),
        "one row short": _compact([rows[0], rows[1][:11], rows[2]]),
        "a padded decimal": _compact(
            [[" 1.5" if i == 1 else v for i, v in enumerate(r)] for r in rows]
        ),
        "truncated": good[: len(good) // 2],
        "truncated at a row end": good[: good.index(b"],[") + 1],
        "junk between rows": good.replace(b"],[", b"],0,[", 1),
        # as many commas as ever: only the check of the bytes between rows sees these
        "a number before a row": good.replace(b"],[", b"],7[", 1),
        "a number after a row": good.replace(b"],[", b"]7,[", 1),
        "an object in place of a row": good.replace(b"],[", b"],{", 1),
        "rows closed and reopened": good.replace(b"],[", b"]][[", 1),
        "rows without a comma": good.replace(b"],[", b"][", 1),
        "error answer": b'{"code":-1121,"msg":"Invalid symbol."}',
        "not JSON": b"<html>502 Bad Gateway</html>",
        "a list of numbers": b"[1,2,3]",
    }


@pytest.mark.parametrize("case", list(_klines_variants()))
def test_binance_klines_variants_equal_the_reference(binance, case):
    assert_same(binance, _klines_variants()[case], KLINE_REQUEST, KLINES)


def _trades_variants() -> dict[str, bytes]:
    good = _trades_body(3)
    rows = json.loads(good)
    return {
        "ids sent as strings": _compact([{**r, "a": str(r["a"])} for r in rows]),
        "booleans sent as strings": _compact([{**r, "m": str(r["m"]).lower()} for r in rows]),
        "keys reordered": _compact([{"p": r["p"], **r} for r in rows]),
        "first and last id swapped": _compact(
            [{k: r[k] for k in ("a", "p", "q", "l", "f", "T", "m", "M")} for r in rows]
        ),
        "a key missing": _compact([{k: v for k, v in r.items() if k != "f"} for r in rows]),
        "a key added": _compact([{**r, "x": 1} for r in rows]),
        "a null price": _compact([{**r, "p": None} for r in rows]),
        "a null id": _compact([{**r, "a": None} for r in rows]),
        "a null time": _compact([{**r, "T": None} for r in rows]),
        # as many quotes as ever, on other values: an id quoted, a price not
        "quotes moved from a price to an id": _compact(
            [{**r, "a": str(r["a"]), "p": float(r["p"])} for r in rows]
        ),
        "USD-M rows on spot": _trades_body(3, spot=False),
        "truncated": good[:-5],
        "a comma for a colon": good.replace(b'"a":', b'"a",', 1),
        "rows closed and reopened": good.replace(b"},{", b"}]]{", 1),
        "a number before a row": good.replace(b"},{", b"},7{", 1),
        "a number after a row": good.replace(b"},{", b"}7,{", 1),
        "an array in place of a row": good.replace(b"},{", b"},[", 1),
        "error answer": b'{"code":-1121,"msg":"Invalid symbol."}',
        "scientific notation": _compact([{**r, "q": "4.7e-3"} for r in rows]),
    }


@pytest.mark.parametrize("case", list(_trades_variants()))
def test_binance_aggtrades_variants_equal_the_reference(binance, case):
    assert_same(binance, _trades_variants()[case], TRADE_REQUEST, SPOT_TRADES)


def test_malformed_bodies_are_refused_with_a_clear_error(binance):
    with pytest.raises(ExchangeUnavailable, match="invalid JSON"):
        binance.parse(_klines_body(5)[:-3], KLINE_REQUEST, KLINES)
    with pytest.raises(PermanentError, match=r"expected a list, got b'\{\"unexpected"):
        binance.parse(b'{"unexpected":1}', KLINE_REQUEST, KLINES)
    with pytest.raises(PermanentError, match="aggtrades rows of an unexpected shape"):
        binance.parse(b'[{"a":"x"}]', TRADE_REQUEST, SPOT_TRADES)
    with pytest.raises(PermanentError, match="klines rows of an unexpected shape"):
        binance.parse(b'[[1,"x"]]', KLINE_REQUEST, KLINES)


@pytest.mark.parametrize("parser", ["parse", "parse_json"])
@pytest.mark.parametrize(
    ("shard", "request_", "body", "message"),
    [
        (
            KLINES,
            KLINE_REQUEST,
            _compact(
                [[None, *r[1:]] if i == 1 else r for i, r in enumerate(json.loads(_klines_body(3)))]
            ),
            "row 1 has a null open time",
        ),
        (
            SPOT_TRADES,
            TRADE_REQUEST,
            _compact(
                [
                    {**r, "a": None} if i == 2 else r
                    for i, r in enumerate(json.loads(_trades_body(3)))
                ]
            ),
            "row 2 has a null trade id",
        ),
        (
            USDM_TRADES,
            TRADE_REQUEST,
            _compact([{**r, "a": None} for r in json.loads(_trades_body(1000, spot=False))]),
            "row 0 has a null trade id",
        ),
        (
            SPOT_TRADES,
            TRADE_REQUEST,
            _compact(
                [
                    {**r, "T": None} if i == 0 else r
                    for i, r in enumerate(json.loads(_trades_body(2)))
                ]
            ),
            "row 0 has a null trade time",
        ),
    ],
)
def test_a_row_without_its_time_or_id_is_refused_by_both_parsers(
    binance, parser, shard, request_, body, message
):
    """Such a row cannot be ordered, placed in its shard or checked for gaps: a DataError (the
    shard fails, nothing is written), whether jsoncsv leaves the body to json or json reads it."""
    with pytest.raises(DataError, match=message):
        getattr(binance, parser)(body, request_, shard)


def test_layout_types_and_empty_page():
    empty = jsoncsv.read(b"[]", KLINE_ROWS)
    assert empty.num_rows == 0 and "ignore" not in empty.schema.names
    assert empty.schema.field("trades").type == pa.int64()


# -- MEXC and Gate: the same contract on their shapes ---------------------------------------
MEXC_KLINES = Shard("mexc", "spot", "klines", "BTCUSDT", "2024-01", "1m")
MEXC_TRADES = Shard("mexc", "spot", "aggtrades", "BTCUSDT", "2024-01-15")
GATE_KLINES = Shard("gateio", "spot", "klines", "BTCUSDT", "2024-01", "1m")
GATE_TRADES = Shard("gateio", "spot", "aggtrades", "BTCUSDT", "2024-01-15")
MEXC_REQUEST = PageRequest("https://x", (("symbol", "BTCUSDT"),), "spot_klines", 1, FAR)
GATE_REQUEST = PageRequest(
    "https://x",
    (("currency_pair", "BTC_USDT"), ("from", str(GATE_TRADES.start_ms // 1000)), ("page", "1")),
    "spot_trades",
    1,
    GATE_TRADES.end_ms,
    descending=True,
)


def _mexc_klines(rows: int, seed: int = 0) -> list:
    rng = random.Random(seed)
    t0 = MEXC_KLINES.start_ms
    return [
        [t0 + i * 60_000, *(_decimal(rng) for _ in range(5)), t0 + (i + 1) * 60_000, _decimal(rng)]
        for i in range(rows)
    ]


def _mexc_trades(rows: int, seed: int = 0) -> list:
    rng = random.Random(seed)
    return [
        {"a": None, "f": None, "l": None, "p": _decimal(rng), "q": rng.choice(DECIMALS)}
        | {"T": MEXC_TRADES.start_ms + i // 3, "m": rng.random() < 0.5, "M": True}
        for i in range(rows)
    ]


def _gate_klines(rows: int, seed: int = 0) -> list:
    rng = random.Random(seed)
    t0 = GATE_KLINES.start_ms // 1000
    return [
        [str(t0 + 60 * i), *(_decimal(rng) for _ in range(6)), "false" if i == 5 else "true"]
        for i in range(rows)
    ]


def _gate_trades(rows: int, seed: int = 0) -> list:
    rng = random.Random(seed)
    t0 = GATE_TRADES.start_ms
    return [
        {
            "id": str(7_835_390_042 - i),
            "create_time": str((t0 + 3_600_000 - 37 * i) // 1000),
            "create_time_ms": f"{t0 + 3_600_000 - 37 * i}.{i % 1000:03d}000",
            "currency_pair": "BTC_USDT",
            "side": "sell" if rng.random() < 0.5 else "buy",
            "amount": rng.choice(DECIMALS),
            "price": _decimal(rng),
            "sequence_id": str(29_014_746 - i),
        }
        for i in range(rows)
    ]


SHAPES = {
    "mexc klines": (Mexc, MEXC_KLINES, MEXC_REQUEST, _mexc_klines),
    "mexc aggtrades": (Mexc, MEXC_TRADES, MEXC_REQUEST, _mexc_trades),
    "gate klines": (GateIo, GATE_KLINES, GATE_REQUEST, _gate_klines),
    "gate trades": (GateIo, GATE_TRADES, GATE_REQUEST, _gate_trades),
}


@pytest.mark.parametrize("rows", [0, 1, 500, 1000])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_mexc_and_gate_pages_parse_fast_and_equal(shape, rows):
    cls, shard, request, make = SHAPES[shape]
    adapter = cls(cls.base_urls)
    body = _compact(make(rows, seed=rows))
    layout = (mexc_module.ROWS if cls is Mexc else gate_module.ROWS)[shard.dtype]
    assert jsoncsv.read(body, layout) is not None
    assert_same(adapter, body, request, shard)


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("mexc/mexc_spot_klines_doc.json", "mexc klines"),
        ("mexc/mexc_spot_aggtrades.json", "mexc aggtrades"),
        ("gateio/gateio_spot_candlesticks_doc.json", "gate klines"),  # 7 columns: json
        ("gateio/gateio_spot_trades.json", "gate trades"),
    ],
)
def test_mexc_and_gate_fixtures_equal(name, shape):
    cls, shard, request, _ = SHAPES[shape]
    assert_same(cls(cls.base_urls), (FIXTURES / name).read_bytes().strip(), request, shard)


def _variants(rows: list) -> dict[str, bytes]:
    """Shape changes every layout must leave to the reference parser."""
    first = rows[0]
    if isinstance(first, dict):
        key = next(k for k, v in first.items() if isinstance(v, str))
        longest = max(first, key=len)
        changed = {
            "a value quoted the other way": [{**r, key: 1.5} for r in rows],
            "keys reordered": [dict(reversed(r.items())) for r in rows],
            "a key renamed": [{("x" if k == key else k): v for k, v in r.items()} for r in rows],
            # the same length: only the byte-by-byte key check sees it
            "a key's letter changed": [
                {(longest[:-1] + "X" if k == longest else k): v for k, v in r.items()} for r in rows
            ],
            "a null": [{**r, key: None} for r in rows],
        }
    else:
        changed = {
            "numbers quoted the other way": [
                [float(v) if isinstance(v, str) and v[0].isdigit() else v for v in r] for r in rows
            ],
            "a column more": [[*r, "1"] for r in rows],
            "a null": [[None, *r[1:]] for r in rows],
        }
    body = _compact(rows)
    return {k: _compact(v) for k, v in changed.items()} | {
        "truncated": body[:-7],
        "pretty-printed": json.dumps(rows, indent=1).encode(),
        "an error object": b'{"code":-1121,"msg":"Invalid symbol."}',
    }


@pytest.mark.parametrize("shape", list(SHAPES))
def test_mexc_and_gate_shape_changes_equal_the_reference(shape):
    cls, shard, request, make = SHAPES[shape]
    adapter = cls(cls.base_urls)
    for case, body in _variants(make(3)).items():
        try:
            assert_same(adapter, body, request, shard)
        except AssertionError as exc:
            raise AssertionError(f"{shape}, {case}: {exc}") from None
