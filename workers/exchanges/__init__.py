"""The registry of exchange adapters: a new exchange is one module and one line here."""

from __future__ import annotations

from workers.exchanges.binance import Binance
from workers.exchanges.bybit import Bybit
from workers.exchanges.gateio import GateIo
from workers.exchanges.mexc import Mexc

ADAPTERS = {
    Binance.name: Binance,
    Mexc.name: Mexc,
    GateIo.name: GateIo,
    Bybit.name: Bybit,
}
