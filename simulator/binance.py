"""Binance's public spot (/api/v3) and USD-M futures (/fapi/v1) market-data routes.

Paging follows Binance: startTime alone (or with endTime) gives the oldest `limit` rows
from it; endTime alone or neither gives the newest `limit` rows up to it (or now); both
bounds are inclusive. Nothing that opens after the current time is ever served, but the
candle containing now is (Binance serves it while it is still open).
"""

import functools
from collections.abc import Callable

import numpy as np

from simulator import binance_format as fmt
from simulator import (
    binance_info,
    binance_perp,
    binance_tickers,
    candles,
    catalog,
    fundingrates,
    intervals,
    trades,
)
from simulator import binance_params as params
from simulator.bans import BanPolicy
from simulator.binance_paging import page as _page
from simulator.catalog import SPOT, USDM
from simulator.intervals import HOUR_MS
from simulator.limits import BudgetSpec
from simulator.venue import Context, Endpoint, Query, Venue

USAGE_HEADER = "X-MBX-USED-WEIGHT-{window}"  # the usage budget's window: 1M, 5S, 2M...
SPOT_BUDGET = "spot"
USDM_BUDGET = "usdm"
FUNDING_BUDGET = "usdm_funding"
USDM_AGGTRADES_SPAN_MS = HOUR_MS
USDM_DATA_BUDGET = BudgetSpec(1000, 300)  # /futures/data requests per 5 min (unverified)


def _klines(market: str, max_limit: int) -> Callable[[Query, Context], bytes]:
    def handle(query: Query, ctx: Context) -> bytes:
        symbol = params.symbol(query, market)
        interval = params.interval(query, market)
        limit = params.limit(query, 500, max_limit)
        start_ms = params.time_ms(query, "startTime")
        end_ms = params.time_ms(query, "endTime")
        first, stop = _page(
            candles.first_index(symbol, market, interval),
            candles.last_index(symbol, market, interval, ctx.now_ms),
            None if start_ms is None else intervals.ceil_index(interval, start_ms),
            None if end_ms is None else intervals.floor_index(interval, end_ms),
            limit,
        )
        return _klines_body(symbol, market, interval, first, stop, ctx.seed)

    return handle


@functools.lru_cache(maxsize=1100)
def _klines_body(symbol: str, market: str, interval: str, first: int, stop: int, seed: int):
    """A klines page is a pure function of its rows; rendering one costs ~1.5 ms of CPU,
    which benchmarks asking the same two years again would otherwise spend on the cores
    they measure. 1,100 pages (two years of 1m candles, ~190 MB at most) are kept."""
    return fmt.klines(candles.candles(symbol, market, interval, first, stop, seed))


def _aggtrades(market: str) -> Callable[[Query, Context], bytes]:
    def handle(query: Query, ctx: Context) -> bytes:
        symbol = params.symbol(query, market)
        limit = params.limit(query, 500, 1000)
        from_id = params.integer(query, "fromId")
        start_ms = params.time_ms(query, "startTime")
        end_ms = params.time_ms(query, "endTime")
        if from_id is not None and (start_ms is not None or end_ms is not None):
            raise params.error(-1128, "Combination of optional parameters invalid.")
        if (
            market == USDM
            and start_ms is not None
            and end_ms is not None
            and end_ms - start_ms > USDM_AGGTRADES_SPAN_MS
        ):
            raise params.error(-1127, "More than 1 hours between startTime and endTime.")

        def count_before(t_ms: int) -> int:
            return trades.count_before(symbol, market, t_ms, ctx.seed, ctx.trades_per_day)

        hi = count_before(ctx.now_ms + 1) - 1
        if from_id is not None:
            first = max(0, from_id - trades.first_agg_id(symbol, market))
            stop = min(first + limit, hi + 1)
        else:
            first, stop = _page(
                0,
                hi,
                None if start_ms is None else count_before(start_ms),
                None if end_ms is None else count_before(end_ms + 1) - 1,
                limit,
            )
        rows = trades.trades(symbol, market, first, stop, ctx.seed, ctx.trades_per_day)
        return fmt.aggtrades(rows, best_match=market == SPOT)

    return handle


def _funding_rate(query: Query, ctx: Context) -> bytes:
    symbols = [params.symbol(query, USDM)] if query.get("symbol") else catalog.symbols(USDM)
    limit = params.limit(query, 100, 1000)
    start_ms = params.time_ms(query, "startTime")
    end_ms = params.time_ms(query, "endTime")
    names: list[str] = []
    parts: list[fundingrates.Fundings] = []
    for symbol in symbols:
        first, stop = _page(
            0,
            fundingrates.count_before(symbol, ctx.now_ms + 1) - 1,
            None if start_ms is None else fundingrates.count_before(symbol, start_ms),
            None if end_ms is None else fundingrates.count_before(symbol, end_ms + 1) - 1,
            limit,
        )
        parts.append(fundingrates.fundings(symbol, first, stop, ctx.seed))
        names.extend([symbol] * (stop - first))
    if len(parts) == 1:
        return fmt.fundings(names, parts[0])
    # Without a symbol every symbol's page is merged in time order, then cut to `limit` from
    # the same end that each page was cut from.
    time_ms = np.concatenate([p.time_ms for p in parts])
    order = np.lexsort((np.array(names), time_ms))
    order = order[:limit] if start_ms is not None else order[-limit:]
    merged = fundingrates.Fundings(
        time_ms=time_ms[order],
        rate_u=np.concatenate([p.rate_u for p in parts])[order],
        mark_t=np.concatenate([p.mark_t for p in parts])[order],
        interval_ms=np.concatenate([p.interval_ms for p in parts])[order],
    )
    return fmt.fundings([names[i] for i in order.tolist()], merged)


def _spot_info(query: Query, ctx: Context) -> bytes:
    status = query.get("symbolStatus")
    if status is not None and (query.get("symbol") or query.get("symbols")):
        raise params.error(-1128, "Combination of optional parameters invalid.")
    if status is not None and status not in binance_tickers.STATUSES:
        raise params.error(-1100, "Illegal characters found in parameter 'symbolStatus'.")
    symbols = params.optional_symbols(query, SPOT)
    if status is not None:
        symbols = [
            s
            for s in symbols
            if binance_info.spot_status(catalog.listing(s, SPOT), ctx.now_ms) == status
        ]
    return fmt.dumps(binance_info.spot(symbols, ctx.budgets, ctx.now_ms))


def _usdm_info(query: Query, ctx: Context) -> bytes:
    # The futures exchangeInfo takes no symbol filter: it always lists every contract.
    return fmt.dumps(binance_info.usdm(catalog.symbols(USDM), ctx.budgets, ctx.now_ms))


def _server_time(query: Query, ctx: Context) -> bytes:
    return fmt.dumps({"serverTime": ctx.now_ms})


def _ping(query: Query, ctx: Context) -> bytes:
    return b"{}"


def usdm_klines_weight(query: Query) -> int:
    """USD-M klines cost by limit: [1,100) 1, [100,500) 2, [500,1000] 5, above 1000 10."""
    limit = params.raw_limit(query, 500)
    if limit < 100:
        return 1
    if limit < 500:
        return 2
    return 5 if limit <= 1000 else 10


def _flat(weight: int) -> Callable[[Query], int]:
    return lambda query: weight


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("/api/v3/klines", SPOT_BUDGET, _flat(2), SPOT_BUDGET, _klines(SPOT, 1000)),
    Endpoint("/api/v3/aggTrades", SPOT_BUDGET, _flat(4), SPOT_BUDGET, _aggtrades(SPOT)),
    Endpoint("/api/v3/exchangeInfo", SPOT_BUDGET, _flat(20), SPOT_BUDGET, _spot_info),
    Endpoint("/api/v3/time", SPOT_BUDGET, _flat(1), SPOT_BUDGET, _server_time),
    Endpoint("/api/v3/ping", SPOT_BUDGET, _flat(1), SPOT_BUDGET, _ping),
    Endpoint("/fapi/v1/klines", USDM_BUDGET, usdm_klines_weight, USDM_BUDGET, _klines(USDM, 1500)),
    Endpoint("/fapi/v1/aggTrades", USDM_BUDGET, _flat(20), USDM_BUDGET, _aggtrades(USDM)),
    # fundingRate spends no request weight, only its own budget of requests.
    Endpoint("/fapi/v1/fundingRate", FUNDING_BUDGET, _flat(1), USDM_BUDGET, _funding_rate),
    Endpoint("/fapi/v1/exchangeInfo", USDM_BUDGET, _flat(1), USDM_BUDGET, _usdm_info),
    Endpoint("/fapi/v1/time", USDM_BUDGET, _flat(1), USDM_BUDGET, _server_time),
    Endpoint("/fapi/v1/ping", USDM_BUDGET, _flat(1), USDM_BUDGET, _ping),
    Endpoint(
        "/api/v3/ticker/24hr",
        SPOT_BUDGET,
        binance_tickers.spot_weight,
        SPOT_BUDGET,
        binance_tickers.spot,
    ),
    Endpoint(
        "/fapi/v1/ticker/24hr",
        USDM_BUDGET,
        binance_tickers.usdm_weight,
        USDM_BUDGET,
        binance_tickers.usdm,
    ),
    *binance_perp.endpoints(USDM_BUDGET, FUNDING_BUDGET, usdm_klines_weight),
)


def _too_many_requests(ip: str, spec: BudgetSpec) -> dict[str, object]:
    return {
        "code": -1003,
        "msg": (
            f"Too many requests; current limit of IP({ip}) request weight is {spec.limit} "
            f"per {spec.seconds} SECONDS. Please use WebSocket Streams for live updates to "
            "avoid polling the API."
        ),
    }


def _banned(ip: str, until_ms: int) -> dict[str, object]:
    return {
        "code": -1003,
        "msg": (
            f"Way too many requests; IP({ip}) banned until {until_ms}. Please use the websocket "
            "for live updates to avoid bans."
        ),
    }


def venue(
    spot: BudgetSpec,
    usdm: BudgetSpec,
    usdm_funding: BudgetSpec,
    ban: BanPolicy | None = None,
    usdm_data: BudgetSpec = USDM_DATA_BUDGET,
) -> Venue:
    """Binance with its budgets: weight per window for spot and usdm, requests for funding
    (and fundingInfo) and for the /futures/data routes (open interest history).

    An IP that keeps sending during a Retry-After is banned (418) under `ban`, one ban state
    for spot and USD-M together.
    """
    return Venue(
        name="binance",
        endpoints=ENDPOINTS,
        budgets={
            SPOT_BUDGET: spot,
            USDM_BUDGET: usdm,
            FUNDING_BUDGET: usdm_funding,
            binance_perp.OI_BUDGET: usdm_data,
        },
        usage_header=USAGE_HEADER,
        too_many_requests=_too_many_requests,
        ban_policy=ban or BanPolicy(),
        banned=_banned,
    )
