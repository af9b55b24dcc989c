"""Which store a `DATA_DIR` names: a local folder, or `s3://bucket/prefix`.

A new target is one module with a `Store` subclass and one line in `TARGETS`. The targets
are imported when a store is opened (they need pyarrow): commands that only read the ledger,
such as `producer status`, start without it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from storage.errors import ConfigError

if TYPE_CHECKING:
    from storage.store import Store


@dataclass(frozen=True)
class S3Options:
    """Endpoint and credentials (None: the AWS SDKs' own defaults, e.g. ~/.aws)."""

    endpoint_url: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    region: str | None = None


def _local(url: str | os.PathLike[str], _: S3Options | None = None) -> Store:
    from storage.local import LocalStore

    return LocalStore(url.removeprefix("file://") if isinstance(url, str) else url)


def _s3(url: str, options: S3Options | None) -> Store:
    from storage.s3 import S3Store

    return S3Store(url, options)


#: URL scheme -> how to open it; a path without a scheme is a local folder
TARGETS: dict[str, Callable[[str, S3Options | None], Store]] = {"file": _local, "s3": _s3}

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")


def check_location(data_dir: str) -> str:
    """`data_dir` unchanged if some store can open it, else a ConfigError (never a folder
    named after an unknown scheme, such as `gs:`)."""
    scheme = _SCHEME.match(data_dir)
    if scheme and scheme.group(1).lower() not in TARGETS:
        known = ", ".join(f"{s}://" for s in TARGETS)
        raise ConfigError(
            f"DATA_DIR={data_dir!r}: {scheme.group(1)}:// is not supported; use a local "
            f"path or one of {known}"
        )
    if not data_dir.strip():
        raise ConfigError("DATA_DIR is empty: give a local path or s3://bucket/prefix")
    return data_dir


def open_store(data_dir: str | os.PathLike[str], s3: S3Options | None = None) -> Store:
    """The store at `data_dir`; `s3` gives endpoint and credentials for an s3:// URL
    (default: what the AWS SDKs find themselves)."""
    if isinstance(data_dir, Path):
        return _local(data_dir)
    text = check_location(os.fspath(data_dir))
    scheme = _SCHEME.match(text)
    if scheme is None:
        return _local(text)
    return TARGETS[scheme.group(1).lower()](text, s3)


def as_store(where: Store | str | os.PathLike[str]) -> Store:
    return open_store(where) if isinstance(where, str | os.PathLike) else where
