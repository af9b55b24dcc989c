"""What Bybit serves: spot and USDT perpetuals (`linear`), over REST (v5) and in its public
trade archive (public.bybit.com), per data type and interval.

REST serves candles (and the perpetual's mark, index and premium index candles), funding and
open interest back to the listing, but trades only as the latest 1,000: trade history is
the archive's, one gzip CSV per closed day (the delay is not documented: a day is assumed),
listed on a directory page and published without a checksum (spot files under /spot with ms
times, derivatives under /trading with float seconds). Open interest comes without its value
in quote currency.
"""

from __future__ import annotations

from workers.capabilities import Capabilities, Capability, Files, Market, Reach, Rest

INTERVALS = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "12h", "1d", "1w", "1M")
# The reference and ccxt say 1000 candles a page; the docs' kline page says [1, 200]. 200 is
# right under either, and a larger limit that were cut silently would lose candles.
KLINE_PAGE = 200
ARCHIVE_DELAY_H = 24.0
NO_TAKER = ("trades", "taker_buy_base", "taker_buy_quote")
TRADES_REACH = Reach(
    "latest", 1_000,
    why="Bybit's REST API serves only its latest 1,000 trades (history is in its public "
    "trade archive)",
)  # fmt: skip
ARCHIVE_DAYS = Files(False, True, ARCHIVE_DELAY_H, "ms", checksum=False)
PRICE_NULLS = ("volume", "quote_volume", "trades", "taker_buy_base", "taker_buy_quote")
KLINES = Rest("/v5/market/kline", KLINE_PAGE, 1, "ip")
FIVE_MINUTES_MS = 300_000

SPOT = Market(
    "bybit",
    "spot",
    "spot",
    "ms",
    (
        Capability("klines", INTERVALS, KLINES, nulls=NO_TAKER),
        Capability(
            "aggtrades",
            rest=Rest("/v5/market/recent-trade", 60, 1, "ip", TRADES_REACH),
            archive=ARCHIVE_DAYS,
        ),
    ),
)
LINEAR = Market(
    "bybit",
    "linear",
    "perp",
    "ms",
    (
        Capability("klines", INTERVALS, KLINES, nulls=NO_TAKER),
        Capability(
            "aggtrades",
            rest=Rest("/v5/market/recent-trade", 1000, 1, "ip", TRADES_REACH),
            archive=Files(False, True, ARCHIVE_DELAY_H, "float s", checksum=False),
        ),
        Capability(
            "funding",
            rest=Rest("/v5/market/funding/history", 200, 1, "ip"),
            nulls=("mark_price",),
        ),
        Capability(
            "markklines",
            INTERVALS,
            Rest("/v5/market/mark-price-kline", KLINE_PAGE, 1, "ip"),
            nulls=PRICE_NULLS,
        ),
        Capability(
            "indexklines",
            INTERVALS,
            Rest("/v5/market/index-price-kline", KLINE_PAGE, 1, "ip"),
            nulls=PRICE_NULLS,
        ),
        Capability(
            "premiumklines",
            INTERVALS,
            Rest("/v5/market/premium-index-price-kline", 1000, 1, "ip"),
            nulls=PRICE_NULLS,
        ),
        Capability(
            "openinterest",
            rest=Rest("/v5/market/open-interest", 200, 1, "ip"),
            nulls=("open_interest_value",),
            snapshot_ms=FIVE_MINUTES_MS,
        ),
    ),
)

BYBIT = Capabilities("bybit", (SPOT, LINEAR))
