"""Fixed-point integers as the decimal text exchanges send, for the non-Binance venues."""

import numpy as np

from simulator.pricepath import TICKS_PER_UNIT, UNITS_PER_QTY


def _text(values: np.ndarray, scale: int, digits: int) -> list[str]:
    values = np.asarray(values, dtype=np.int64)
    sign = np.where(values < 0, "-", "").tolist()
    whole, fraction = np.divmod(np.abs(values), scale)
    return [
        f"{s}{w}.{f:0{digits}d}"
        for s, w, f in zip(sign, whole.tolist(), fraction.tolist(), strict=True)
    ]


def prices(ticks: np.ndarray) -> list[str]:
    """Ticks of 0.01 as "30000.25"."""
    return _text(ticks, TICKS_PER_UNIT, 2)


def qtys(units: np.ndarray) -> list[str]:
    """Units of 1e-8 (may be negative, as funding rates are) as "0.00012345"."""
    return _text(units, UNITS_PER_QTY, 8)
