"""The registry of exchange adapters: a new exchange is one module and one line here."""

from __future__ import annotations

from workers.exchanges.binance import Binance

ADAPTERS = {
    Binance.name: Binance,
}
