"""Asking the exchange whether a symbol exists: its refusal becomes the user's one-line error."""

from __future__ import annotations

import asyncio

import pytest

from producer.listing import first_data
from storage.errors import InputError, PermanentError
from workers.exchanges.gateio import GateIo


class Refusing:
    """An Http whose every answer is the exchange refusing the symbol."""

    async def get(self, adapter, request) -> bytes:
        raise PermanentError("gateio: INVALID_CURRENCY_PAIR: Invalid currency pair NOPE_USDT")


def test_a_refused_symbol_names_the_exchanges_reason_and_the_spelling_to_type() -> None:
    with pytest.raises(InputError) as refused:
        asyncio.run(first_data(Refusing(), GateIo(GateIo.base_urls), "spot", "klines", "NOPEUSDT"))
    text = str(refused.value)
    assert "gateio spot refused symbol NOPEUSDT" in text
    assert "INVALID_CURRENCY_PAIR" in text
    assert "BTCUSDT on every exchange" in text, "not the exchange's BTC_USDT"
