"""Aggregate trades as integer columns, addressed by their index counted from the listing."""

import math
import zlib
from dataclasses import dataclass

import numpy as np

from simulator import catalog
from simulator.intervals import DAY_MS
from simulator.noise import bits, stream_key, uniform
from simulator.pricepath import TICKS_PER_UNIT, UNITS_PER_QTY, price_ticks

DEFAULT_TRADES_PER_DAY = 20_000
QUOTE_PER_TRADE = 2_000.0  # mean trade size in quote currency
TRADE_IDS_PER_AGG = 3  # each aggregate owns a block of 3 trade ids and uses 1 or 2 of them


@dataclass(frozen=True)
class Trades:
    """Columns of consecutive aggregate trades: prices in ticks, quantities in 1e-8 units."""

    agg_id: np.ndarray
    price_t: np.ndarray
    qty_u: np.ndarray
    first_id: np.ndarray
    last_id: np.ndarray
    time_ms: np.ndarray
    is_buyer_maker: np.ndarray

    def __len__(self) -> int:
        return len(self.agg_id)


def spacing_ms(trades_per_day: int) -> float:
    if trades_per_day < 1:
        raise ValueError(f"trades_per_day must be at least 1, not {trades_per_day}")
    return DAY_MS / trades_per_day


def first_agg_id(symbol: str, market: str) -> int:
    """agg_id of trade 0; ids are contiguous from here."""
    return 1_000 + zlib.crc32(f"{symbol}:{market}".encode()) % 1_000_000


def _times_ms(listed_ms: int, key: int, index: np.ndarray, spacing: float) -> np.ndarray:
    # Trade i falls at floor((i + u_i) * spacing) after the listing, u_i in [0, 1): times never
    # decrease, and trade 0 is pinned to the listing instant itself.
    u = uniform(stream_key(key, "time"), index)
    u[index == 0] = 0.0
    return listed_ms + np.floor((index + u) * spacing).astype(np.int64)


def count_before(symbol: str, market: str, t_ms: int, seed: int, trades_per_day: int) -> int:
    """How many trades happen before t_ms, which is also the index of the first at or after it.

    No trade happens at or after a delisting, so later times count the same as the delisting.
    """
    listing = catalog.listing(symbol, market)
    listed_ms = listing.listed_ms
    if listing.delisted_ms is not None:
        t_ms = min(t_ms, listing.delisted_ms)
    if t_ms <= listed_ms:
        return 0
    spacing = spacing_ms(trades_per_day)
    # Trade i lies in [i, i + 1) * spacing, so only a few indices around the guess can straddle
    # t_ms; the margins also absorb float rounding in the guess.
    guess = math.floor((t_ms - listed_ms) / spacing)
    low = max(0, guess - 2)
    index = np.arange(low, guess + 3, dtype=np.int64)
    key = stream_key(seed, "aggtrade", symbol, market)
    return low + int(np.count_nonzero(_times_ms(listed_ms, key, index, spacing) < t_ms))


def trades(
    symbol: str, market: str, first: int, stop: int, seed: int, trades_per_day: int
) -> Trades:
    """Trades number first..stop-1 (clipped at 0; no clock checks here)."""
    listed_ms = catalog.listing(symbol, market).listed_ms
    index = np.arange(max(first, 0), max(first, stop, 0), dtype=np.int64)
    key = stream_key(seed, "aggtrade", symbol, market)
    time_ms = _times_ms(listed_ms, key, index, spacing_ms(trades_per_day))
    # One hash per trade feeds the quantity (top 53 bits), the flags (bits 0-2) and the price
    # jitter (bits 3-4).
    noise = bits(stream_key(key, "misc"), index)
    jitter_t = ((noise >> np.uint64(3)) & np.uint64(3)).astype(np.int64) - 1
    price_t = np.maximum(price_ticks(symbol, market, time_ms, seed) + jitter_t, 1)
    mean_qty_u = QUOTE_PER_TRADE * UNITS_PER_QTY * TICKS_PER_UNIT / price_t
    qty_u = -np.log1p(-(noise >> np.uint64(11)).astype(np.float64) * 2.0**-53) * mean_qty_u
    agg_offset = first_agg_id(symbol, market)
    first_id = 2 * agg_offset + TRADE_IDS_PER_AGG * index + (noise & np.uint64(1)).astype(np.int64)
    return Trades(
        agg_id=agg_offset + index,
        price_t=price_t,
        qty_u=np.maximum(np.rint(qty_u), 1).astype(np.int64),
        first_id=first_id,
        last_id=first_id + ((noise >> np.uint64(1)) & np.uint64(1)).astype(np.int64),
        time_ms=time_ms,
        is_buyer_maker=((noise >> np.uint64(2)) & np.uint64(1)).astype(bool),
    )
