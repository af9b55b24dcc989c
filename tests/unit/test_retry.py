"""Choosing the shards `producer retry-failed` sends again."""

from __future__ import annotations

from producer.retry import failed_shards
from storage.ledger import Ledger
from storage.shards import Shard

JAN = Shard("binance", "spot", "klines", "BTCUSDT", "2024-01", "1m")
FEB = Shard("binance", "spot", "klines", "BTCUSDT", "2024-02", "1m")
ETH = Shard("binance", "spot", "klines", "ETHUSDT", "2024-01", "1m")
FUNDING = Shard("binance", "usdm", "funding", "BTCUSDT", "2024-01")


def test_failed_shards_are_listed_with_their_reasons_within_the_selection(ledger: Ledger) -> None:
    ledger.claim([JAN, FEB, ETH, FUNDING], stale_ms=60_000)
    for shard in (JAN, ETH, FUNDING):
        ledger.mark_failed(shard, f"HTTP 503 on {shard.period}")
    assert failed_shards(ledger, lambda s: True) == {
        JAN: "HTTP 503 on 2024-01",
        ETH: "HTTP 503 on 2024-01",
        FUNDING: "HTTP 503 on 2024-01",
    }
    assert list(failed_shards(ledger, lambda s: s.symbol == "BTCUSDT")) == [JAN, FUNDING]


def test_a_failed_shard_sent_again_is_no_longer_failed(ledger: Ledger) -> None:
    ledger.claim([JAN, FEB], stale_ms=60_000)
    ledger.mark_failed(JAN, "HTTP 503")
    ledger.mark_failed(FEB, "HTTP 503")
    ledger.claim([JAN], stale_ms=60_000)  # what resend_failed does before sending
    assert failed_shards(ledger, lambda s: True) == {FEB: "HTTP 503"}
