"""The registry of exchange adapters: a new exchange is one module and one line in
`_registry`, plus its entries in `venues.py`.

`ADAPTERS` is built on first use: the adapters import pyarrow, which a command that only
reads the ledger (`producer status`) does without. `EXCHANGES` names them without that.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workers.exchanges.venues import BASE_URLS

if TYPE_CHECKING:
    from workers.exchanges.base import Adapter

#: the exchanges' names, in the order the CLI lists them
EXCHANGES: tuple[str, ...] = tuple(BASE_URLS)


def _registry() -> dict[str, type[Adapter]]:
    from workers.exchanges.binance import Binance
    from workers.exchanges.bybit import Bybit
    from workers.exchanges.gateio import GateIo
    from workers.exchanges.mexc import Mexc

    adapters = {a.name: a for a in (Binance, Mexc, GateIo, Bybit)}
    assert tuple(adapters) == EXCHANGES, "venues.py and the adapters name the same exchanges"
    return adapters


def __getattr__(name: str) -> Any:
    if name == "ADAPTERS":
        globals()["ADAPTERS"] = adapters = _registry()
        return adapters
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
