"""Every Redis key of one dataset, under `shardfetch:<namespace>:`.

Two datasets (two DATA_DIRs) sharing one Redis keep apart everything that describes their
files and their work: the ledger, the shard locks, which worker holds which shard, the
first-data cache, and the broker's queues. The rate-limiter's keys are not here: a budget
belongs to an exchange and an egress IP, whatever dataset spends it (workers/ratelimit.py).
"""

from __future__ import annotations

import hashlib
import posixpath
import re

from storage.errors import ConfigError

ROOT = "shardfetch:"
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def namespace_of(data_dir: str) -> str:
    """The namespace of the dataset at `data_dir`: its last path segment and a hash of the
    whole location, like `data-1a2b3c4d`.

    A pure function of the string (nothing is resolved against a file system), so every
    machine that writes DATA_DIR alike agrees, and an object-store URL
    (`s3://bucket/prefix`) works as well as a path. Machines that mount one dataset at
    different paths set SHARDFETCH_NAMESPACE instead.
    """
    text = data_dir.strip()
    location = text.rstrip("/") if "://" in text else posixpath.normpath(text or ".")
    last = posixpath.basename(location.rstrip("/")) or "root"
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", last).strip("-.")[:32] or "data"
    return f"{name}-{hashlib.sha256(location.encode()).hexdigest()[:8]}"


def check_namespace(name: str, variable: str = "SHARDFETCH_NAMESPACE") -> str:
    """`name` if it can prefix Redis keys (letters, digits, `_ . -`), else ConfigError."""
    if not _NAME.fullmatch(name):
        raise ConfigError(
            f"{variable}={name!r}: use 1 to 64 letters, digits, '_', '.' or '-' (no ':')"
        )
    return name


class Keys:
    """The key names of one namespace (a dataset)."""

    def __init__(self, namespace: str) -> None:
        self.namespace = check_namespace(namespace)
        self.prefix = p = f"{ROOT}{namespace}:"
        self.planned = p + "planned"  # set of every shard key ever planned
        self.done = p + "done"  # set: complete file stored
        self.partial = p + "partial"  # set: file stored for a period that had not ended
        self.queued = p + "queued"  # hash key -> ms when its message was last sent
        self.sources = p + "sources"  # hash key -> auto|archive|rest it was sent with
        self.held = p + "held"  # hash key -> id of the worker that received its message
        self.running = p + "running"  # set: a worker took its lock and has not finished
        self.lockless = p + "lockless"  # hash key -> ms a heal pass first saw it run unlocked
        self.failed = p + "failed"  # hash key -> reason
        self.files = p + "files"  # hash key -> JSON {rows, bytes, complete, source, ...}
        #: hash key -> why part of its period could not be read (the file is stored; a
        #: closed period counts as done)
        self.incomplete = p + "incomplete"
        #: hash group -> counts: `<exchange:market:dtype[:interval]:symbol>|<state|rows|...>`
        #: (storage/states.py); kept by the ledger's scripts, so status reads one small hash
        self.tally = p + "tally"
        self.finished = p + "finished"  # pub/sub channel: a shard just finished (a waiter wakes)
        self.sent = p + "sent:"  # + exchange: sorted set of its queued keys by ms sent
        self.senders = p + "senders"  # set: exchanges that have a `sent:` index
        self.lock = p + "lock:"  # + shard key -> token of the worker fetching it
        self.presence = p + "workers"  # sorted set: worker id -> ms its heartbeat expires
        self.heal = p + "heal"  # exists while a heal pass's period runs (one pass per period)
        self.healed = p + "healed"  # counter: shards re-sent without a person
        self.first_data = p + "first_data:"  # + exchange:market:dtype:symbol -> first ms
        #: + exchange:market -> JSON of the market's instrument list (expires within the hour)
        self.instruments = p + "instruments:"
        self.tickers = p + "tickers:"  # + exchange:market -> JSON symbol -> 24 h quote volume
        #: kombu's `global_keyprefix`: every broker key of the dataset (queues, unacked
        #: messages, event channels) starts with it, so `-Q binance` reads this dataset's
        #: queue only; a queue's list is this prefix and the queue's name.
        self.broker = p + "broker:"

    def queue(self, name: str) -> str:
        """The Redis list of the dataset's Celery queue `name`."""
        return self.broker + name
