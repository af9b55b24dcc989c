"""The ledger's Lua scripts (storage/lua/): every one starts with `tally.lua`, so every change
of a shard's state moves its group's counters in the same atomic step.

All scripts take the same KEYS, in the order `tally.lua` names them.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import redis
from redis.commands.core import Script

from storage.keys import Keys


@cache
def _source(name: str) -> str:
    lua = files("storage").joinpath("lua")
    return lua.joinpath("tally.lua").read_text() + "\n" + lua.joinpath(f"{name}.lua").read_text()


def layout(keys: Keys) -> list[str]:
    """KEYS of every ledger script (the lock and sent-index entries are prefixes)."""
    k = keys
    return [
        *(k.planned, k.done, k.partial, k.queued, k.running, k.failed, k.files, k.incomplete),
        *(k.tally, k.held, k.sources, k.lockless, k.healed, k.presence, k.lock, k.sent),
        *(k.senders, k.finished),
    ]


class Scripts:
    """The ledger scripts registered on one client, called by name with the dataset's KEYS."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._client = client
        self._keys = layout(keys)
        self._loaded: dict[str, Script] = {}

    def __call__(self, name: str, *args: object) -> object:
        script = self._loaded.get(name)
        if script is None:
            script = self._loaded[name] = self._client.register_script(_source(name))
        return script(keys=self._keys, args=list(args))
