"""The Redis ledger: claims, locks, and the states `producer status` shows."""

from __future__ import annotations

from pathlib import Path

import fakeredis
import pytest

from storage.keys import Keys
from storage.ledger import CLAIMED, KEPT, LOST, SKIP_BUSY, SKIP_DONE, Ledger
from storage.parquet import StoredFile
from storage.shards import Shard
from tests.unit.conftest import NAMESPACE

JAN = Shard.parse("binance:spot:klines:1m:BTCUSDT:2024-01")
FEB = Shard.parse("binance:spot:klines:1m:BTCUSDT:2024-02")
DAY = Shard.parse("binance:spot:aggtrades:BTCUSDT:2024-01-15")
FUND = Shard.parse("binance:usdm:funding:BTCUSDT:2024-01")
HOUR_MS = 3_600_000
TTL_MS = 60_000
K = Keys(NAMESPACE)
QUEUED, RUNNING, LOCK = K.queued, K.running, K.lock


def stored(rows: int = 44_640, size: int = 1_234_567) -> StoredFile:
    return StoredFile(Path("unused.parquet"), rows, size)


def state_of(ledger: Ledger, shard: Shard) -> str:
    return ledger.states([shard])[0].state


def test_first_claim_sends_second_skips_busy(ledger: Ledger) -> None:
    assert ledger.claim([JAN, FEB], stale_ms=HOUR_MS) == [CLAIMED, CLAIMED]
    assert ledger.claim([JAN, FEB], stale_ms=HOUR_MS) == [SKIP_BUSY, SKIP_BUSY]


def test_claim_of_a_done_shard_skips_it_as_done(ledger: Ledger) -> None:
    ledger.claim([JAN], stale_ms=HOUR_MS)
    ledger.mark_stored(JAN, stored(), complete=True, source="rest")
    assert ledger.claim([JAN, FEB], stale_ms=HOUR_MS) == [SKIP_DONE, CLAIMED]
    assert ledger.is_done([JAN, FEB]) == [True, False]


def test_a_partial_shard_is_claimed_again_so_the_next_run_refreshes_it(ledger: Ledger) -> None:
    ledger.claim([JAN], stale_ms=HOUR_MS)
    ledger.mark_stored(JAN, stored(), complete=False, source="rest")
    assert ledger.is_done([JAN]) == [False]
    assert ledger.claim([JAN], stale_ms=HOUR_MS) == [CLAIMED]


def test_a_claim_older_than_stale_ms_is_claimed_again(
    ledger: Ledger, redis_client: fakeredis.FakeRedis
) -> None:
    assert ledger.claim([JAN], stale_ms=HOUR_MS) == [CLAIMED]
    # Its message was sent two hours ago (by the server's clock) and never started.
    sent_ms = int(redis_client.hget(QUEUED, JAN.key))
    redis_client.hset(QUEUED, JAN.key, sent_ms - 2 * HOUR_MS)
    assert ledger.claim([JAN], stale_ms=HOUR_MS) == [CLAIMED]
    # ... and that claim is fresh again.
    assert ledger.claim([JAN], stale_ms=HOUR_MS) == [SKIP_BUSY]


def test_a_shard_being_fetched_is_busy_however_old_its_claim(
    ledger: Ledger, redis_client: fakeredis.FakeRedis
) -> None:
    ledger.claim([JAN], stale_ms=HOUR_MS)
    assert ledger.lock(JAN, "worker-1", TTL_MS)
    redis_client.hset(QUEUED, JAN.key, 0)
    assert ledger.claim([JAN], stale_ms=HOUR_MS) == [SKIP_BUSY]


def test_an_orphan_whose_lock_expired_is_claimed_again_at_once(
    ledger: Ledger, redis_client: fakeredis.FakeRedis
) -> None:
    ledger.claim([JAN], stale_ms=HOUR_MS)
    assert ledger.lock(JAN, "worker-1", TTL_MS)
    redis_client.delete(LOCK + JAN.key)  # the worker was killed; its lock expired
    assert redis_client.sismember(RUNNING, JAN.key)
    assert ledger.claim([JAN], stale_ms=HOUR_MS) == [CLAIMED]
    assert not redis_client.sismember(RUNNING, JAN.key)
    assert ledger.claim([JAN], stale_ms=HOUR_MS) == [SKIP_BUSY]


def test_two_producers_claiming_the_same_shards_send_each_once(
    redis_server: fakeredis.FakeServer,
) -> None:
    one = Ledger(fakeredis.FakeRedis(server=redis_server), NAMESPACE)
    two = Ledger(fakeredis.FakeRedis(server=redis_server), NAMESPACE)
    first = one.claim([JAN, FEB, DAY], stale_ms=HOUR_MS)
    second = two.claim([JAN, FEB, DAY, FUND], stale_ms=HOUR_MS)
    assert first == [CLAIMED] * 3
    assert second == [SKIP_BUSY] * 3 + [CLAIMED]


def test_unclaim_lets_a_shard_whose_message_was_not_sent_be_claimed(ledger: Ledger) -> None:
    ledger.claim([JAN, FEB], stale_ms=HOUR_MS)
    ledger.unclaim([JAN])
    assert ledger.claim([JAN, FEB], stale_ms=HOUR_MS) == [CLAIMED, SKIP_BUSY]


def test_empty_requests_touch_nothing(ledger: Ledger) -> None:
    assert ledger.claim([], stale_ms=HOUR_MS) == []
    assert ledger.is_done([]) == []
    assert ledger.states([]) == []
    ledger.unclaim([])
    assert ledger.planned() == []


@pytest.mark.parametrize(
    ("complete", "expected"), [(True, "done"), (False, "partial")], ids=["complete", "partial"]
)
def test_mark_stored_records_rows_and_bytes(ledger: Ledger, complete: bool, expected: str) -> None:
    ledger.claim([JAN], stale_ms=HOUR_MS)
    assert ledger.lock(JAN, "w", TTL_MS)
    ledger.mark_stored(JAN, stored(rows=44_640, size=987_654), complete=complete, source="rest")
    ledger.unlock(JAN, "w")
    (state,) = ledger.states([JAN])
    assert (state.state, state.rows, state.bytes, state.reason) == (expected, 44_640, 987_654, None)
    assert ledger.is_done([JAN]) == [complete]


def test_a_partial_shard_completed_later_is_done_and_no_longer_partial(ledger: Ledger) -> None:
    ledger.mark_stored(JAN, stored(rows=10), complete=False, source="rest")
    ledger.mark_stored(JAN, stored(rows=44_640), complete=True, source="rest")
    state = ledger.states([JAN])[0]
    assert (state.state, state.rows) == ("done", 44_640)


def test_an_empty_shard_counts_as_done(ledger: Ledger) -> None:
    ledger.mark_stored(DAY, stored(rows=0, size=900), complete=True, source="rest")
    assert ledger.states([DAY])[0].state == "done"
    assert ledger.claim([DAY], stale_ms=HOUR_MS) == [SKIP_DONE]


def test_mark_failed_keeps_the_reason(ledger: Ledger) -> None:
    ledger.claim([JAN], stale_ms=HOUR_MS)
    ledger.mark_failed(JAN, "binance: Invalid symbol. (code -1121)")
    (state,) = ledger.states([JAN])
    assert state.state == "failed"
    assert state.reason == "binance: Invalid symbol. (code -1121)"


def test_a_failed_shard_can_be_claimed_again(ledger: Ledger) -> None:
    ledger.claim([JAN], stale_ms=HOUR_MS)
    ledger.mark_failed(JAN, "gave up after 6 attempts")
    assert ledger.claim([JAN], stale_ms=HOUR_MS) == [CLAIMED]
    assert state_of(ledger, JAN) == "queued"


def test_mark_stored_after_a_failure_clears_the_reason(ledger: Ledger) -> None:
    ledger.mark_failed(JAN, "HTTP 503 from the exchange")
    ledger.mark_stored(JAN, stored(rows=5), complete=True, source="rest")
    (state,) = ledger.states([JAN])
    assert (state.state, state.reason, state.rows) == ("done", None, 5)


def test_states_follow_a_shard_through_its_life(ledger: Ledger) -> None:
    assert state_of(ledger, JAN) == "missing"
    ledger.claim([JAN], stale_ms=HOUR_MS)
    assert state_of(ledger, JAN) == "queued"
    assert ledger.lock(JAN, "w", TTL_MS)
    assert state_of(ledger, JAN) == "running"
    ledger.mark_stored(JAN, stored(), complete=True, source="rest")
    ledger.unlock(JAN, "w")
    assert state_of(ledger, JAN) == "done"


def test_states_are_returned_in_the_order_asked(ledger: Ledger) -> None:
    ledger.mark_stored(FEB, stored(), complete=True, source="rest")
    ledger.mark_failed(DAY, "boom")
    ledger.claim([FUND], stale_ms=HOUR_MS)
    states = ledger.states([JAN, FEB, DAY, FUND])
    assert [s.shard for s in states] == [JAN, FEB, DAY, FUND]
    assert [s.state for s in states] == ["missing", "done", "failed", "queued"]


def test_the_lock_is_exclusive(ledger: Ledger) -> None:
    assert ledger.lock(JAN, "worker-1", TTL_MS)
    assert not ledger.lock(JAN, "worker-2", TTL_MS)
    assert ledger.lock(FEB, "worker-2", TTL_MS)  # other shards are not affected


def test_unlock_only_releases_ones_own_lock(
    ledger: Ledger, redis_client: fakeredis.FakeRedis
) -> None:
    assert ledger.lock(JAN, "worker-1", TTL_MS)
    ledger.unlock(JAN, "worker-2")  # a late second delivery must not free it
    assert not ledger.lock(JAN, "worker-2", TTL_MS)
    assert state_of(ledger, JAN) == "running"
    ledger.unlock(JAN, "worker-1")
    assert redis_client.get(LOCK + JAN.key) is None
    assert ledger.lock(JAN, "worker-2", TTL_MS)


def test_the_lock_expires_with_its_ttl(ledger: Ledger, redis_client: fakeredis.FakeRedis) -> None:
    assert ledger.lock(JAN, "w", TTL_MS)
    assert 0 < redis_client.pttl(LOCK + JAN.key) <= TTL_MS


def test_keep_lock_extends_only_ones_own_lock(
    ledger: Ledger, redis_client: fakeredis.FakeRedis
) -> None:
    assert ledger.lock(JAN, "worker-1", 1_000)
    assert ledger.keep_lock(JAN, "worker-2", 10 * TTL_MS) == LOST
    assert redis_client.pttl(LOCK + JAN.key) <= 1_000
    assert ledger.keep_lock(JAN, "worker-1", 10 * TTL_MS) == KEPT
    assert redis_client.pttl(LOCK + JAN.key) > TTL_MS


def test_mark_retrying_makes_a_running_shard_queued(ledger: Ledger) -> None:
    ledger.claim([JAN], stale_ms=HOUR_MS)
    assert ledger.lock(JAN, "w", TTL_MS)
    ledger.mark_retrying(JAN)
    assert state_of(ledger, JAN) == "queued"
    ledger.unlock(JAN, "w")
    assert state_of(ledger, JAN) == "queued"


def test_planned_lists_every_claimed_shard_once(ledger: Ledger) -> None:
    ledger.claim([FEB, JAN], stale_ms=HOUR_MS)
    ledger.claim([JAN, DAY, FUND], stale_ms=HOUR_MS)
    ledger.mark_stored(JAN, stored(), complete=True, source="rest")
    ledger.claim([JAN], stale_ms=HOUR_MS)  # done shards stay planned
    assert ledger.planned() == sorted([JAN, FEB, DAY, FUND])
