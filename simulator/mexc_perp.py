"""MEXC contract routes for the perpetual's own series: index and fair (mark) price klines,
and recent deals. MEXC serves no open interest history and no premium index klines.

* `/api/v1/contract/kline/index_price/{symbol}` and `/kline/fair_price/{symbol}`: the same
  window rules as `/kline/{symbol}` (seconds; at most 2000 candles), column arrays; vol and
  amount are 0.0. The index response carries the newer docs' realOpen/realClose/realHigh/
  realLow arrays (mexc.com api-docs "Get Index Price Candles"); the fair price one has the
  older docs' shape without them (mexcdevelop.github.io/apidocs/contract_v1_en), as each
  example shows.
* `/api/v1/contract/deals/{symbol}` (`limit` up to 100, default 100): the latest deals only,
  newest first, `{"p","v","T","O","M","t"}`: T 1 buy / 2 sell (taker), v in contracts
  (contractSize 1: base units).
* `/api/v1/contract/funding_rate/{symbol}`: the coming funding's rate, `collectCycle` (hours,
  the interval in force now) and `nextSettleTime`.
"""

from collections.abc import Callable

from simulator import fundingrates, pricecandles, trades
from simulator import mexc_params as mp
from simulator.catalog import USDM
from simulator.pricepath import TICKS_PER_UNIT, UNITS_PER_QTY
from simulator.venue import Context, Query

DEALS_MAX = 100


def _price_kline(kind: str, real_columns: bool) -> Callable[[Query, Context], bytes]:
    def handle(query: Query, ctx: Context) -> bytes:
        symbol = mp.contract_symbol(query)
        interval, first, stop = mp.contract_span(
            query,
            lambda interval: pricecandles.first_index(symbol, interval),
            lambda interval: pricecandles.last_index(symbol, interval, ctx.now_ms),
        )
        rows = pricecandles.candles(kind, symbol, interval, first, stop, ctx.seed)
        prices = {
            name: (getattr(rows, name + "_v") / TICKS_PER_UNIT).tolist()
            for name in ("open", "close", "high", "low")
        }
        zeros = [0.0] * len(rows)
        data: dict[str, object] = {
            "time": (rows.open_ms // 1000).tolist(),
            **prices,
            "vol": zeros,
            "amount": zeros,
        }
        if real_columns:
            data.update(
                {
                    "realOpen": prices["close"],
                    "realClose": prices["close"],
                    "realHigh": prices["close"],
                    "realLow": prices["close"],
                }
            )
        return mp.envelope(data)

    return handle


def _deals(query: Query, ctx: Context) -> bytes:
    symbol = mp.contract_symbol(query)
    limit = mp.integer(query, "limit", DEALS_MAX)
    if not 1 <= limit <= DEALS_MAX:
        raise mp.contract_error(600, "Parameter error")
    stop = trades.count_before(symbol, USDM, ctx.now_ms + 1, ctx.seed, ctx.trades_per_day)
    first = max(0, stop - limit)
    rows = trades.trades(symbol, USDM, first, stop, ctx.seed, ctx.trades_per_day)
    items = [
        {
            "p": p / TICKS_PER_UNIT,
            "v": q / UNITS_PER_QTY,
            "T": 2 if m else 1,
            "O": 2,
            "M": 2,
            "t": t,
        }
        for p, q, m, t in zip(
            rows.price_t.tolist(),
            rows.qty_u.tolist(),
            rows.is_buyer_maker.tolist(),
            rows.time_ms.tolist(),
            strict=True,
        )
    ]
    return mp.envelope(items[::-1])


def _funding_now(query: Query, ctx: Context) -> bytes:
    symbol = mp.contract_symbol(query)
    upcoming = fundingrates.count_before(symbol, ctx.now_ms)
    nxt = fundingrates.fundings(symbol, upcoming, upcoming + 1, ctx.seed)
    return mp.envelope(
        {
            "symbol": query["symbol"],
            "fundingRate": int(nxt.rate_u[0]) / UNITS_PER_QTY if len(nxt) else 0,
            "maxFundingRate": 0.02,
            "minFundingRate": -0.02,
            "collectCycle": fundingrates.interval_at(symbol, ctx.now_ms) // 3_600_000,
            "nextSettleTime": int(nxt.time_ms[0]) if len(nxt) else 0,
            "timestamp": ctx.now_ms,
        }
    )


ROUTES: tuple[tuple[str, Callable[[Query, Context], bytes]], ...] = (
    ("/api/v1/contract/kline/index_price/{symbol}", _price_kline("index", True)),
    ("/api/v1/contract/kline/fair_price/{symbol}", _price_kline("mark", False)),
    ("/api/v1/contract/deals/{symbol}", _deals),
    ("/api/v1/contract/funding_rate/{symbol}", _funding_now),
)
