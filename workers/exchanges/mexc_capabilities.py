"""What MEXC serves: spot (v3) and USDT perpetuals (`contract`), over REST only, per data
type and interval.

MEXC publishes no archive that shardfetch reads (its market-data download page is not an
API). Spot aggTrades answer only for the last few hours (undocumented; users report older
windows come back empty, mexcdevelop/mexc-api-sdk#34) and contract deals only the latest 100,
so trade history is out of reach. Contract klines (and their index and fair price kinds)
reach back to the listing, 2000 a request; MEXC serves no premium index and no open interest
history.
"""

from __future__ import annotations

from workers.capabilities import Capabilities, Capability, Market, Reach, Rest

SPOT_INTERVALS = ("1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w", "1M")
NO_TAKER = ("trades", "taker_buy_base", "taker_buy_quote")
AGGTRADES_REACH = Reach(
    "latest", 0,
    why="MEXC's aggTrades answers only for the last few hours (history is on MEXC's "
    "market-data download page)",
)  # fmt: skip

CONTRACT_INTERVALS = ("1m", "5m", "15m", "30m", "1h", "4h", "8h", "1d", "1w", "1M")
PRICE_NULLS = ("volume", "quote_volume", *NO_TAKER)
DEALS_REACH = Reach(
    "latest", 100, why="MEXC's contract deals are only the latest 100 (no trade history)"
)

SPOT = Market(
    "mexc",
    "spot",
    "spot",
    "ms",
    (
        Capability(
            "klines",
            SPOT_INTERVALS,
            Rest("/api/v3/klines", 500, 1, "spot_klines"),
            nulls=NO_TAKER,
        ),
        Capability(
            "aggtrades",
            rest=Rest("/api/v3/aggTrades", 1000, 1, "spot_aggtrades", AGGTRADES_REACH),
            nulls=("first_id", "last_id"),
        ),
    ),
)
CONTRACT = Market(
    "mexc",
    "contract",
    "perp",
    "s",
    (
        Capability(
            "klines",
            CONTRACT_INTERVALS,
            Rest("/api/v1/contract/kline/{symbol}", 2000, 1, "contract"),
            nulls=NO_TAKER,
        ),
        Capability(
            "aggtrades",
            rest=Rest("/api/v1/contract/deals/{symbol}", 100, 1, "contract", DEALS_REACH),
        ),
        Capability(
            "funding",
            rest=Rest("/api/v1/contract/funding_rate/history", 100, 1, "contract"),
            nulls=("mark_price",),
        ),
        Capability(
            "markklines",
            CONTRACT_INTERVALS,
            Rest("/api/v1/contract/kline/fair_price/{symbol}", 2000, 1, "contract"),
            nulls=PRICE_NULLS,
        ),
        Capability(
            "indexklines",
            CONTRACT_INTERVALS,
            Rest("/api/v1/contract/kline/index_price/{symbol}", 2000, 1, "contract"),
            nulls=PRICE_NULLS,
        ),
    ),
)

MEXC = Capabilities("mexc", (SPOT, CONTRACT))
