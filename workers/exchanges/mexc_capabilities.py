"""What MEXC serves: spot (v3) and USDT perpetuals (`contract`), over REST only, per data
type and interval.

MEXC publishes no archive that shardfetch reads (its market-data download page is not an
API). Spot aggTrades answer only for the last few hours (undocumented; users report older
windows come back empty, mexcdevelop/mexc-api-sdk#34), so trade history is out of reach.
"""

from __future__ import annotations

from workers.capabilities import Capabilities, Capability, Market, Reach, Rest

SPOT_INTERVALS = ("1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w", "1M")
NO_TAKER = ("trades", "taker_buy_base", "taker_buy_quote")
AGGTRADES_REACH = Reach(
    "latest", 1_000,
    why="MEXC's aggTrades answers only for the last few hours (history is on MEXC's "
    "market-data download page)",
)  # fmt: skip

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
            "funding",
            rest=Rest("/api/v1/contract/funding_rate/history", 100, 1, "contract"),
            nulls=("mark_price",),
        ),
    ),
)

MEXC = Capabilities("mexc", (SPOT, CONTRACT))
