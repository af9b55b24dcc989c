"""What Gate.io serves: spot and USDT-settled perpetual futures (`futures`), over REST and in
its candle archive (download.gatedata.org), per data type and interval.

REST candles of every kind (spot, futures, mark, index, and, assumed, the premium index)
reach back only 10,000 intervals (1m: about a week); planned with 9,900, leaving slack for a
shard that waits in the queue. Spot trades: the last 30 days, as documented; futures trades
and contract stats (open interest, every 5 minutes) document no limit. The archive (spot
candles only) publishes no checksum; its files appear once their period has ended (the
delay is not documented: a day is assumed), 1m as one file per day, 5m, 1h, 4h and 1d as one
per month, and has no base volume column.
"""

from __future__ import annotations

from workers.capabilities import Capabilities, Capability, Files, Market, Reach, Rest

DAY_MS = 86_400_000
CANDLE_REACH = Reach(
    "points", 10_000, margin=100,
    why="Gate's REST API serves only the latest 10,000 {interval} candles",
)  # fmt: skip
TRADE_REACH = Reach(
    "days", 30, margin=DAY_MS, why="Gate documents its REST trades for the last 30 days only"
)
ARCHIVE_DELAY_H = 24.0
NO_TAKER = ("trades", "taker_buy_base", "taker_buy_quote")
INTERVALS = ("1m", "5m", "15m", "30m", "1h", "4h", "8h", "1d", "1w", "1M")
SPOT_CANDLES = Rest("/spot/candlesticks", 1000, 1, "spot_candles", CANDLE_REACH)

SPOT = Market(
    "gateio",
    "spot",
    "spot",
    "s",
    (
        Capability(
            "klines",
            ("1m",),
            SPOT_CANDLES,
            Files(False, True, ARCHIVE_DELAY_H, "s", lacks=("volume",), checksum=False),
            nulls=NO_TAKER,
        ),
        Capability(
            "klines",
            ("5m", "1h", "4h", "1d"),
            SPOT_CANDLES,
            Files(True, False, ARCHIVE_DELAY_H, "s", lacks=("volume",), checksum=False),
            nulls=NO_TAKER,
        ),
        Capability("klines", ("15m", "30m", "8h", "1w", "1M"), SPOT_CANDLES, nulls=NO_TAKER),
        Capability("aggtrades", rest=Rest("/spot/trades", 1000, 1, "spot_trades", TRADE_REACH)),
    ),
)
FUTURES_CANDLES = Rest("/futures/usdt/candlesticks", 2000, 1, "futures_candles", CANDLE_REACH)
PRICE_NULLS = ("volume", "quote_volume", *NO_TAKER)
FUTURES = Market(
    "gateio",
    "futures",
    "perp",
    "s",
    (
        Capability("klines", INTERVALS, FUTURES_CANDLES, nulls=NO_TAKER),
        Capability("aggtrades", rest=Rest("/futures/usdt/trades", 1000, 1, "futures_trades")),
        Capability("markklines", INTERVALS, FUTURES_CANDLES, nulls=PRICE_NULLS),
        Capability("indexklines", INTERVALS, FUTURES_CANDLES, nulls=PRICE_NULLS),
        Capability(
            "premiumklines",
            INTERVALS,
            Rest("/futures/usdt/premium_index", 1000, 1, "futures_premium", CANDLE_REACH),
            nulls=PRICE_NULLS,
        ),
        Capability(
            "openinterest",
            rest=Rest("/futures/usdt/contract_stats", 500, 1, "futures_stats"),
            snapshot_ms=300_000,
        ),
        Capability(
            "funding",
            rest=Rest("/futures/usdt/funding_rate", 1000, 1, "futures_funding"),
            nulls=("mark_price",),
        ),
    ),
)

GATEIO = Capabilities("gateio", (SPOT, FUTURES))
