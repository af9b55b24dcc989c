"""The archive-or-REST decision as a table: one pure function of (shard, the market's
capabilities, now, mode) says which archive files, where REST takes over, and what neither
can serve and why."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from storage.errors import InputError
from storage.shards import Shard, to_ms
from workers.capabilities import Capabilities
from workers.exchanges.binance_capabilities import BINANCE
from workers.exchanges.bybit_capabilities import BYBIT
from workers.exchanges.gateio_capabilities import GATEIO
from workers.exchanges.mexc_capabilities import MEXC
from workers.sourceplan import Span, plan_sources

NOW = to_ms(datetime(2024, 6, 20, 12, tzinfo=UTC))
TABLES = {"binance": BINANCE, "bybit": BYBIT, "gateio": GATEIO, "mexc": MEXC}
MINUTE, HOUR, DAY = 60_000, 3_600_000, 86_400_000


def ms(*day: int) -> int:
    return to_ms(datetime(*day, tzinfo=UTC))


def shard(key: str) -> Shard:
    return Shard.parse(key)


# Gate REST reaches 9,900 intervals back (10,000 less a margin for the queue); 1m: from
# 2024-06-13 13:00 at NOW, 15m: from 2024-03-08 09:00.
GATE_1M_SINCE = NOW - 9_900 * MINUTE
GATE_15M_SINCE = NOW - 9_900 * 15 * MINUTE

# key, archive configured, mode -> origin, files (cadence, first day, last day), rest from,
# unreachable span, fails
CASES = {
    "binance closed month: one monthly file": (
        "binance:spot:klines:1m:BTCUSDT:2024-05", True, "auto",
        "archive", ("month", ms(2024, 5, 1), ms(2024, 6, 1)), None, None, False,
    ),
    "binance open month, 1m: closed days, then REST": (
        "binance:spot:klines:1m:BTCUSDT:2024-06", True, "auto",
        "archive+rest", ("day", ms(2024, 6, 1), ms(2024, 6, 20)), ms(2024, 6, 20), None, False,
    ),
    "binance open month, 1h: REST is cheaper than daily files": (
        "binance:spot:klines:1h:BTCUSDT:2024-06", True, "auto",
        "rest", None, ms(2024, 6, 1), None, False,
    ),
    "binance without an archive URL: REST": (
        "binance:spot:klines:1m:BTCUSDT:2024-05", False, "auto",
        "rest", None, ms(2024, 5, 1), None, False,
    ),
    "binance --source rest": (
        "binance:usdm:klines:1m:BTCUSDT:2024-05", True, "rest",
        "rest", None, ms(2024, 5, 1), None, False,
    ),
    "binance --source archive, open month 1h: fails": (
        "binance:spot:klines:1h:BTCUSDT:2024-06", True, "archive",
        "none", None, None, None, True,
    ),
    "binance funding, auto: REST keeps mark_price": (
        "binance:usdm:funding:BTCUSDT:2024-05", True, "auto",
        "rest", None, ms(2024, 5, 1), None, False,
    ),
    "binance funding, --source archive: the monthly file": (
        "binance:usdm:funding:BTCUSDT:2024-05", True, "archive",
        "archive", ("month", ms(2024, 5, 1), ms(2024, 6, 1)), None, None, False,
    ),
    "binance closed day of trades": (
        "binance:spot:aggtrades:BTCUSDT:2024-06-19", True, "auto",
        "archive", ("day", ms(2024, 6, 19), ms(2024, 6, 20)), None, None, False,
    ),
    "binance today's trades": (
        "binance:spot:aggtrades:BTCUSDT:2024-06-20", True, "auto",
        "rest", None, ms(2024, 6, 20), None, False,
    ),
    "gate 1m beyond REST: daily files": (
        "gateio:spot:klines:1m:BTCUSDT:2024-05", True, "auto",
        "archive", ("day", ms(2024, 5, 1), ms(2024, 6, 1)), None, None, False,
    ),
    "gate 1m over REST, month straddling the reach: incomplete": (
        "gateio:spot:klines:1m:BTCUSDT:2024-06", True, "rest",
        "rest", None, GATE_1M_SINCE, (ms(2024, 6, 1), GATE_1M_SINCE), False,
    ),
    "gate 1m over REST, a month wholly beyond reach: nothing to read": (
        "gateio:spot:klines:1m:BTCUSDT:2024-05", True, "rest",
        "none", None, None, (ms(2024, 5, 1), ms(2024, 6, 1)), False,
    ),
    "gate 15m is not archived: the month straddling the reach is incomplete": (
        "gateio:spot:klines:15m:BTCUSDT:2024-03", True, "auto",
        "rest", None, GATE_15M_SINCE, (ms(2024, 3, 1), GATE_15M_SINCE), False,
    ),
    "gate 1h within REST's reach: REST, which has base volume": (
        "gateio:spot:klines:1h:BTCUSDT:2024-05", True, "auto",
        "rest", None, ms(2024, 5, 1), None, False,
    ),
    "gate trades older than 30 days: nothing": (
        "gateio:spot:aggtrades:BTCUSDT:2024-05-01", True, "auto",
        "none", None, None, (ms(2024, 5, 1), ms(2024, 5, 2)), False,
    ),
    "bybit closed day of trades: the archive": (
        "bybit:spot:aggtrades:BTCUSDT:2024-06-19", True, "auto",
        "archive", ("day", ms(2024, 6, 19), ms(2024, 6, 20)), None, None, False,
    ),
    "bybit today's trades: REST has only the latest 1,000": (
        "bybit:spot:aggtrades:BTCUSDT:2024-06-20", True, "auto",
        "none", None, None, (ms(2024, 6, 20), NOW), False,
    ),
    "mexc trades: out of reach": (
        "mexc:spot:aggtrades:BTCUSDT:2024-06-20", False, "auto",
        "none", None, None, (ms(2024, 6, 20), NOW), False,
    ),
    "mexc funding: REST back to the listing": (
        "mexc:contract:funding:BTCUSDT:2020-01", False, "auto",
        "rest", None, ms(2020, 1, 1), None, False,
    ),
}  # fmt: skip


@pytest.mark.parametrize(
    ("key", "archived", "mode", "origin", "files", "rest_from", "unreachable", "fails"),
    CASES.values(),
    ids=CASES,
)
def test_the_source_plan(key, archived, mode, origin, files, rest_from, unreachable, fails):
    s = shard(key)
    table: Capabilities = TABLES[s.exchange]
    market = (table if archived else table.without_archive()).market(s.market)
    plan = plan_sources(s, market, NOW, mode)
    assert plan.origin == origin
    if files is None:
        assert plan.files == ()
    else:
        cadence, first, end = files
        assert {f.cadence for f in plan.files} == {cadence}
        assert (plan.files[0].start_ms, plan.files[-1].end_ms) == (first, end)
        assert all(a.end_ms == b.start_ms for a, b in itertools.pairwise(plan.files))
    assert plan.rest_from_ms == rest_from
    assert plan.unreachable == unreachable and plan.incomplete == (unreachable is not None)
    assert (plan.fails is not None) == fails
    assert plan.fetches_nothing == (origin == "none" and not fails)
    if unreachable:
        assert plan.why, "an unreachable part always says why"


def test_reasons_name_the_exchange_rule() -> None:
    month = shard("gateio:spot:klines:1m:BTCUSDT:2024-06")
    plan = plan_sources(month, GATEIO.market("spot"), NOW, "rest")
    assert plan.why == "Gate's REST API serves only the latest 10,000 1m candles"
    assert plan.rest_from_ms % MINUTE == 0, "REST starts at a whole candle"
    today = shard("bybit:spot:aggtrades:BTCUSDT:2024-06-20")
    assert "latest 1,000 trades" in plan_sources(today, BYBIT.market("spot"), NOW, "auto").why


def test_columns_stored_null_are_the_exchanges_and_the_archives() -> None:
    gate_old = shard("gateio:spot:klines:1m:BTCUSDT:2024-05")
    plan = plan_sources(gate_old, GATEIO.market("spot"), NOW, "auto")
    assert plan.nulls == ("trades", "taker_buy_base", "taker_buy_quote")
    assert plan.archive_lacks == ("volume",)
    funding = shard("binance:usdm:funding:BTCUSDT:2024-05")
    assert plan_sources(funding, BINANCE.market("usdm"), NOW, "auto").archive_lacks == ()
    archived = plan_sources(funding, BINANCE.market("usdm"), NOW, "archive")
    assert archived.archive_lacks == ("mark_price",)


def test_a_missing_file_hands_the_rest_to_rest_where_it_reaches() -> None:
    june = shard("gateio:spot:klines:1m:BTCUSDT:2024-06")
    plan = plan_sources(june, GATEIO.market("spot"), NOW, "auto")
    assert plan.origin == "archive+rest" and len(plan.files) == 19 and not plan.incomplete
    after_18th = plan.handing_over(17)
    assert after_18th.files == plan.files[:17] and after_18th.rest_from_ms == ms(2024, 6, 18)
    assert not after_18th.incomplete, "REST reaches back to the 13th"
    after_10th = plan.handing_over(9)
    assert after_10th.unreachable == (ms(2024, 6, 10), GATE_1M_SINCE)
    assert after_10th.rest_from_ms == GATE_1M_SINCE


def test_a_market_that_does_not_serve_the_type_refuses_the_shard() -> None:
    with pytest.raises(InputError, match="serves no funding"):
        plan_sources(shard("binance:spot:funding:BTCUSDT:2024-05"), BINANCE.market("spot"), NOW)
    with pytest.raises(InputError, match="unknown source mode"):
        plan_sources(
            shard("binance:spot:klines:1m:BTCUSDT:2024-05"), BINANCE.market("spot"), 0, "x"
        )


def test_spans_are_whole_days_or_months_of_the_shard() -> None:
    plan = plan_sources(shard("gateio:spot:klines:1m:BTCUSDT:2024-02"), GATEIO.market("spot"), NOW)
    assert plan.files[28] == Span(ms(2024, 2, 29), ms(2024, 3, 1), "day")
