"""The error families every package raises, named for what the caller should do next."""

from __future__ import annotations


class ShardfetchError(Exception):
    """Root of every error shardfetch expects; the CLI prints it as one line, no traceback."""


class InputError(ShardfetchError):
    """The request is refused before anything is queued; the message says what to change."""


class ConfigError(InputError):
    """A setting (environment variable or flag) cannot be used as given."""


class TransientError(ShardfetchError):
    """A fault that may pass (network, 5xx, rate limit): the page, then the shard, is retried."""


class ExchangeUnavailable(TransientError):
    """The exchange did not answer usefully (timeout, reset, 5xx, truncated body)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RateLimited(TransientError):
    """The exchange said we were too fast (429, 418, 403 ...); wait `retry_after_s`, then retry."""

    def __init__(self, message: str, *, retry_after_s: float, status: int | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.status = status


class RedisUnavailable(TransientError):
    """Redis (ledger, broker, limiter) did not answer: it is restarting, loading its AOF or out
    of reach. Waited out and retried without spending an attempt; nothing progresses without it.
    """


class ShardBusy(TransientError):
    """Another worker holds the shard's lock: try again once that lock could have expired."""


class PermanentError(ShardfetchError):
    """Retrying cannot help (unknown symbol, bad interval, broken data): the shard is failed."""

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class DataError(PermanentError):
    """Rows broke an invariant of the dataset (unsorted, duplicated, outside their shard)."""
