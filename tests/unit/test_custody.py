"""Who holds which shard, which workers are alive, and which shards are orphans (fakeredis)."""

from __future__ import annotations

from pathlib import Path

import fakeredis
import pytest

from storage.custody import Custody, Orphan
from storage.errors import ConfigError
from storage.keys import Keys, check_namespace, namespace_of
from storage.ledger import CLAIMED, KEPT, LOST, RETAKEN, SKIP_BUSY, Ledger
from storage.parquet import StoredFile
from storage.shards import Shard
from tests.unit.conftest import NAMESPACE

JAN = Shard.parse("binance:spot:klines:1m:BTCUSDT:2024-01")
FEB = Shard.parse("binance:spot:klines:1m:BTCUSDT:2024-02")
MEXC = Shard.parse("mexc:spot:klines:1m:BTCUSDT:2024-01")
TTL_MS = 60_000
HOUR_MS = 3_600_000
K = Keys(NAMESPACE)


def orphans(custody: Custody, lost_after_ms: int = HOUR_MS, grace_ms: int = TTL_MS):
    return {o.shard: o for o in custody.orphans(lost_after_ms=lost_after_ms, grace_ms=grace_ms)}


def age(client, key: str, field: str, by_ms: int) -> None:
    client.hset(key, field, int(client.hget(key, field)) - by_ms)
    if key == K.queued:  # and its place in the index of queued shards by time sent
        client.zincrby(K.sent + Shard.parse(field).exchange, -by_ms, field)


def test_a_shard_held_by_a_worker_that_is_gone_is_an_orphan(ledger, custody) -> None:
    ledger.claim([JAN, FEB], stale_ms=HOUR_MS)
    custody.beat("alive", TTL_MS)
    custody.beat("dead", TTL_MS)
    custody.hold(JAN, "alive")
    custody.hold(FEB, "dead")
    custody.leave("dead")
    found = orphans(custody)
    assert set(found) == {FEB} and found[FEB].reason == "its worker dead is gone"


def test_a_heartbeat_expires_by_itself(custody, redis_client) -> None:
    custody.beat("w", TTL_MS)
    assert custody.alive() == {"w"}
    redis_client.zadd(K.presence, {"w": custody.now_ms() - 1})  # its TTL passed
    assert custody.alive() == set()


def test_a_running_shard_whose_lock_expired_under_a_dead_worker_is_an_orphan_at_once(
    ledger, custody, redis_client
) -> None:
    ledger.claim([JAN], stale_ms=HOUR_MS)
    custody.hold(JAN, "gone")
    assert ledger.lock(JAN, "token", TTL_MS)
    assert orphans(custody) == {}, "locked: someone is fetching it"
    redis_client.delete(K.lock + JAN.key)  # the machine died; its lock expired
    assert set(orphans(custody)) == {JAN}


def test_a_live_worker_gets_a_grace_to_take_back_an_expired_lock(
    ledger, custody, redis_client
) -> None:
    ledger.claim([JAN], stale_ms=HOUR_MS)
    custody.beat("alive", TTL_MS)
    custody.hold(JAN, "alive")
    assert ledger.lock(JAN, "token", TTL_MS)
    redis_client.delete(K.lock + JAN.key)  # Redis was out of reach longer than the TTL
    assert orphans(custody) == {}, "first seen without its lock: not yet"
    age(redis_client, K.lockless, JAN.key, TTL_MS)
    (orphan,) = orphans(custody).values()
    assert "has run without its lock for 60s" in orphan.reason


def test_a_lock_taken_back_clears_the_lockless_note(ledger, custody, redis_client) -> None:
    ledger.claim([JAN], stale_ms=HOUR_MS)
    custody.beat("alive", TTL_MS)
    custody.hold(JAN, "alive")
    assert ledger.lock(JAN, "token", TTL_MS)
    redis_client.delete(K.lock + JAN.key)
    orphans(custody)
    assert ledger.keep_lock(JAN, "token", TTL_MS) == RETAKEN
    assert orphans(custody) == {} and not redis_client.hexists(K.lockless, JAN.key)


def test_a_message_nobody_received_is_lost_only_once_its_queue_is_empty(
    ledger, custody, redis_client
) -> None:
    ledger.claim([JAN, MEXC], stale_ms=HOUR_MS)
    assert orphans(custody, lost_after_ms=1000) == {}, "just sent"
    age(redis_client, K.queued, JAN.key, 5000)
    age(redis_client, K.queued, MEXC.key, 5000)
    redis_client.rpush(K.queue("mexc"), "a message ahead of it")
    found = orphans(custody, lost_after_ms=1000)
    assert set(found) == {JAN}, "mexc's queue still holds messages: it may be one of them"
    assert "nobody received its message in 5s" in found[JAN].reason


def test_reclaim_requeues_what_nobody_took_meanwhile_and_counts_it(
    ledger, custody, redis_client
) -> None:
    ledger.claim([JAN, FEB], stale_ms=HOUR_MS)
    custody.hold(JAN, "gone")
    custody.hold(FEB, "gone")
    found = [Orphan(JAN, "gone", "x"), Orphan(FEB, "gone", "x")]
    custody.hold(FEB, "new")  # another worker received FEB since the snapshot
    assert custody.reclaim(found) == [JAN]
    assert not redis_client.hexists(K.held, JAN.key)
    assert redis_client.hget(K.held, FEB.key) == b"new"
    assert custody.healed() == 1
    assert custody.reclaim(found) == [], "JAN is nobody's now, not 'gone''s"


def test_reclaim_skips_a_locked_shard_and_clears_a_done_one(ledger, custody) -> None:
    ledger.claim([JAN, FEB], stale_ms=HOUR_MS)
    assert ledger.lock(JAN, "token", TTL_MS)
    ledger.mark_stored(FEB, StoredFile(Path("x"), 1, 1), complete=True, source="rest")
    ledger.client.hset(K.queued, FEB.key, 0)  # a stale entry
    assert custody.reclaim([Orphan(JAN, "", "x"), Orphan(FEB, "", "x")]) == []
    assert not ledger.client.hexists(K.queued, FEB.key)
    assert custody.healed() == 0


def test_a_stopping_worker_finds_what_it_holds_and_is_not_running(ledger, custody) -> None:
    ledger.claim([JAN, FEB], stale_ms=HOUR_MS)
    custody.hold(JAN, "me")
    custody.hold(FEB, "me")
    assert ledger.lock(JAN, "token", TTL_MS)
    assert custody.held_by("me") == [FEB]


def test_the_source_asked_for_is_kept_for_a_re_send(ledger, custody) -> None:
    ledger.claim([JAN], stale_ms=HOUR_MS, source="archive")
    assert custody.sources([JAN, FEB]) == {JAN: "archive", FEB: "auto"}


def test_one_heal_pass_per_period_across_the_cluster(custody, redis_server) -> None:
    other = Custody(fakeredis.FakeRedis(server=redis_server), NAMESPACE)
    assert custody.heal_turn(10_000)
    assert not other.heal_turn(10_000)


def test_a_re_run_claims_a_running_shard_only_if_its_worker_is_gone(
    ledger, custody, redis_client
) -> None:
    ledger.claim([JAN], stale_ms=HOUR_MS)
    custody.beat("alive", TTL_MS)
    custody.hold(JAN, "alive")
    assert ledger.lock(JAN, "token", TTL_MS)
    redis_client.delete(K.lock + JAN.key)
    assert ledger.claim([JAN], stale_ms=HOUR_MS) == [SKIP_BUSY], "it may take its lock back"
    custody.leave("alive")
    assert ledger.claim([JAN], stale_ms=HOUR_MS) == [CLAIMED]


def test_keep_lock_extends_retakes_or_says_lost(ledger, redis_client) -> None:
    assert ledger.lock(JAN, "mine", 1_000)
    assert ledger.keep_lock(JAN, "mine", TTL_MS) == KEPT
    assert redis_client.pttl(K.lock + JAN.key) > 1_000
    redis_client.delete(K.lock + JAN.key)
    assert ledger.keep_lock(JAN, "mine", TTL_MS) == RETAKEN
    redis_client.set(K.lock + JAN.key, "theirs")
    assert ledger.keep_lock(JAN, "mine", TTL_MS) == LOST
    redis_client.delete(K.lock + JAN.key)
    ledger.mark_stored(JAN, StoredFile(Path("x"), 1, 1), complete=True, source="rest")
    assert ledger.keep_lock(JAN, "mine", TTL_MS) == LOST, "done meanwhile"


def test_requeue_puts_a_shard_back_unless_it_is_done(ledger, custody) -> None:
    ledger.claim([JAN, FEB], stale_ms=HOUR_MS)
    custody.hold(JAN, "me")
    assert ledger.requeue(JAN)
    assert ledger.states([JAN])[0].state == "queued" and custody.held_by("me") == []
    ledger.mark_stored(FEB, StoredFile(Path("x"), 1, 1), complete=True, source="rest")
    assert not ledger.requeue(FEB)
    assert ledger.states([FEB])[0].state == "done"


def test_two_datasets_on_one_redis_keep_separate_ledgers(redis_client) -> None:
    one = Ledger(redis_client, namespace_of("/srv/one/data"))
    two = Ledger(redis_client, namespace_of("/srv/two/data"))
    one.claim([JAN], stale_ms=HOUR_MS)
    one.mark_stored(JAN, StoredFile(Path("x"), 1, 1), complete=True, source="rest")
    assert one.is_done([JAN]) == [True] and two.is_done([JAN]) == [False]
    assert two.claim([JAN], stale_ms=HOUR_MS) == [CLAIMED]
    assert two.planned() == [JAN] and one.failures() == two.failures() == {}


@pytest.mark.parametrize(
    ("one", "two", "same"),
    [
        ("./data", "data", True),
        ("data/", "data", True),
        ("/srv/data", "/srv/data/", True),
        ("s3://bucket/prefix", "s3://bucket/prefix/", True),
        ("/srv/a/data", "/srv/b/data", False),
        ("./data", "/data", False),
        ("s3://bucket/prefix", "s3://other/prefix", False),
    ],
)
def test_the_namespace_is_a_pure_function_of_the_data_dir_string(one, two, same) -> None:
    assert (namespace_of(one) == namespace_of(two)) is same
    assert check_namespace(namespace_of(one)) == namespace_of(one)


def test_the_namespace_reads_as_the_data_dirs_last_segment() -> None:
    assert namespace_of("/mnt/shared/btc-data").startswith("btc-data-")
    assert namespace_of("s3://bucket/history/").startswith("history-")


@pytest.mark.parametrize("bad", ["", "a:b", "with space", "x" * 65])
def test_a_namespace_that_cannot_prefix_keys_is_refused(bad: str) -> None:
    with pytest.raises(ConfigError, match="SHARDFETCH_NAMESPACE"):
        check_namespace(bad)


def test_a_second_delivery_cannot_lock_a_shard_whose_fetcher_may_take_its_lock_back(
    ledger, custody, redis_client
) -> None:
    ledger.claim([JAN], stale_ms=HOUR_MS)
    assert ledger.lock(JAN, "first", TTL_MS)
    redis_client.delete(K.lock + JAN.key)  # lapsed while Redis was out of reach
    assert not ledger.lock(JAN, "second", TTL_MS), "a redelivered message waits"
    assert ledger.keep_lock(JAN, "first", TTL_MS) == RETAKEN
    redis_client.delete(K.lock + JAN.key)
    custody.hold(JAN, "gone")
    assert custody.reclaim([Orphan(JAN, "gone", "its worker is gone")]) == [JAN]
    assert ledger.lock(JAN, "second", TTL_MS), "once the healer freed it"


def test_a_heal_pass_takes_lost_shards_a_bounded_slice_at_a_time_oldest_first(
    ledger, custody, redis_client, monkeypatch
) -> None:
    import storage.custody

    monkeypatch.setattr(storage.custody, "LOST_SLICE", 2)
    days = [Shard.parse(f"binance:spot:aggtrades:BTCUSDT:2024-01-0{d}") for d in range(1, 6)]
    ledger.claim(days, stale_ms=HOUR_MS)
    for i, day in enumerate(days):
        age(redis_client, K.queued, day.key, 10_000 - i)  # the first sent longest ago
    first = custody.orphans(lost_after_ms=1000, grace_ms=TTL_MS)
    assert [o.shard for o in first] == days[:2]
    custody.reclaim(first)  # queued again as of now: no longer lost
    second = custody.orphans(lost_after_ms=1000, grace_ms=TTL_MS)
    assert [o.shard for o in second] == days[2:4]
