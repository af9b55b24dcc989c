"""Which store a `DATA_DIR` names: a local folder, or `s3://bucket/prefix`.

A new target is one module with a `Store` subclass and one line in `TARGETS`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from storage.errors import ConfigError
from storage.local import LocalStore
from storage.s3 import S3Options, S3Store
from storage.store import Store

#: URL scheme -> how to open it; a path without a scheme is a local folder
TARGETS: dict[str, Callable[[str, S3Options | None], Store]] = {
    "file": lambda url, _: LocalStore(url.removeprefix("file://")),
    "s3": S3Store,
}

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
        return LocalStore(data_dir)
    text = check_location(os.fspath(data_dir))
    scheme = _SCHEME.match(text)
    if scheme is None:
        return LocalStore(text)
    return TARGETS[scheme.group(1).lower()](text, s3)


def as_store(where: Store | str | os.PathLike[str]) -> Store:
    return where if isinstance(where, Store) else open_store(where)
