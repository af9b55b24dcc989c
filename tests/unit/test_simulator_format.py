"""Served decimal strings parse to exactly the ground truth's floats, for every interval."""

import json

import numpy as np
import pandas as pd
import pytest

from simulator import binance_format, candles, fundingrates, intervals, market
from simulator.catalog import utc_ms

NOW_2024 = utc_ms(2024, 6, 1)


@pytest.mark.parametrize("interval", intervals.INTERVALS)
def test_kline_strings_parse_to_the_truth_for_every_interval(interval):
    last = intervals.floor_index(interval, NOW_2024)
    first = max(candles.first_index("BTCUSDT", "spot", interval), last - 999)
    rows = json.loads(
        binance_format.klines(candles.candles("BTCUSDT", "spot", interval, first, last + 1, 0))
    )
    start_ms = rows[0][0]
    truth = market.klines("BTCUSDT", "spot", interval, start_ms, rows[-1][0] + 1)
    floats = [1, 2, 3, 4, 5, 7, 9, 10]
    served = pd.DataFrame(
        [[float(c) if i in floats else c for i, c in enumerate(row[:11])] for row in rows],
        columns=list(market.KLINE_COLUMNS),
    )
    pd.testing.assert_frame_equal(served, truth, check_exact=True)


def test_negative_funding_rates_keep_their_sign_and_eight_decimals():
    rows = fundingrates.fundings("ETHUSDT", 0, 0, 0)
    negative = fundingrates.Fundings(
        time_ms=np.array([0, 8]), rate_u=np.array([-3_750_000, 10_000]), mark_t=np.array([1, 2])
    )
    body = json.loads(binance_format.fundings(["BTCUSDT", "BTCUSDT"], negative))
    assert [row["fundingRate"] for row in body] == ["-0.03750000", "0.00010000"]
    assert [row["markPrice"] for row in body] == ["0.01000000", "0.02000000"]
    assert json.loads(binance_format.fundings([], rows)) == []
