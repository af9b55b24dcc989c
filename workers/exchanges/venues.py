"""Where each exchange is and how much it lets us ask: the facts settings need, without the
adapters (and pyarrow, which they import).

The adapters read their `base_urls` and `rate_limits` from here; a new exchange adds one entry
to each table.
"""

from __future__ import annotations

#: exchange -> market (or "" for one host, "archive" for the public archive) -> default URL
BASE_URLS: dict[str, dict[str, str]] = {}
#: exchange -> budget group -> default budget "weight/seconds" (`Budget.parse`)
RATE_LIMITS: dict[str, dict[str, str]] = {}

BASE_URLS["binance"] = {
    "spot": "https://api.binance.com",
    "usdm": "https://fapi.binance.com",
    "archive": "https://data.binance.vision",
}
# Published: spot 6000 weight/min, USD-M 2400 weight/min, funding history 500 req/5 min;
# the defaults keep 5% headroom for other software on the same IP.
RATE_LIMITS["binance"] = {
    "spot": "5700/60",
    "usdm": "2280/60",
    "usdm_funding": "475/300",
    # /futures/data (open interest history): 1000 requests / 5 min per IP, weight 0.
    "usdm_data": "950/300",
    # The archive host publishes no limit: five downloads a second per cluster is polite.
    "archive": "300/60",
}

BASE_URLS["mexc"] = {
    "spot": "https://api.mexc.com",
    "contract": "https://contract.mexc.com",
}
# Published: 500 requests / 10 s per spot endpoint; contract ~20 requests / 2 s (not in
# the current docs). 5% headroom as for Binance.
RATE_LIMITS["mexc"] = {
    "spot_klines": "475/10",
    "spot_aggtrades": "475/10",
    "contract": "19/2",
}

BASE_URLS["gateio"] = {
    "": "https://api.gateio.ws/api/v4",
    "archive": "https://download.gatedata.org",
}
# Published: 200 requests / 10 s per public endpoint and IP; 5% headroom.
RATE_LIMITS["gateio"] = {
    "spot_candles": "190/10",
    "spot_trades": "190/10",
    "futures_candles": "190/10",
    "futures_funding": "190/10",
    "futures_trades": "190/10",
    "futures_premium": "190/10",
    "futures_stats": "190/10",
    "futures_contracts": "190/10",
    # The archive host publishes no limit: five downloads a second per cluster is polite.
    "archive": "300/60",
}

BASE_URLS["bybit"] = {
    "": "https://api.bybit.com",
    "archive": "https://public.bybit.com",
}
# Published: 600 requests / 5 s per IP for all of api.bybit.com. A breach costs a
# ten-minute ban, so the default keeps a sixth in reserve. The archive host publishes
# no limit: five downloads (or directory pages) a second per cluster is polite.
RATE_LIMITS["bybit"] = {"ip": "500/5", "archive": "300/60"}
