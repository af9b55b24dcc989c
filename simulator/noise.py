"""Random-access deterministic noise: splitmix64 over (seed, named stream, integer index)."""

import zlib

import numpy as np

_MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_MUL1 = 0xBF58476D1CE4E5B9
_MUL2 = 0x94D049BB133111EB
_UNIT_53 = 2.0**-53


def _finalize(value: int) -> int:
    z = value & _MASK64
    z = ((z ^ (z >> 30)) * _MUL1) & _MASK64
    z = ((z ^ (z >> 27)) * _MUL2) & _MASK64
    return z ^ (z >> 31)


def stream_key(seed: int, *parts: str) -> int:
    """A 64-bit key naming one noise stream; parts are hashed with crc32, never hash()."""
    key = _finalize(seed)
    for part in parts:
        key = _finalize(key ^ zlib.crc32(part.encode()))
    return key


def bits(key: int, index: np.ndarray) -> np.ndarray:
    """uint64 noise for each index; element i depends only on (key, index[i])."""
    with np.errstate(over="ignore"):
        z = np.asarray(index, dtype=np.int64).astype(np.uint64)
        z = z * np.uint64(_GOLDEN) + np.uint64(key)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(_MUL1)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(_MUL2)
        return z ^ (z >> np.uint64(31))


def uniform(key: int, index: np.ndarray) -> np.ndarray:
    """float64 noise in [0, 1) for each index, from the top 53 bits of `bits`."""
    return (bits(key, index) >> np.uint64(11)).astype(np.float64) * _UNIT_53
