"""One Arrow schema per data type: the column contract that outside tools read."""

from __future__ import annotations

import pyarrow as pa

TIME = pa.timestamp("ms", tz="UTC")
F64 = pa.float64()

SCHEMAS: dict[str, pa.Schema] = {
    "klines": pa.schema(
        [
            ("open_time", TIME),
            ("open", F64),
            ("high", F64),
            ("low", F64),
            ("close", F64),
            ("volume", F64),
            ("close_time", TIME),
            ("quote_volume", F64),
            ("trades", pa.int64()),
            ("taker_buy_base", F64),
            ("taker_buy_quote", F64),
        ]
    ),
    "aggtrades": pa.schema(
        [
            ("agg_id", pa.int64()),
            ("price", F64),
            ("qty", F64),
            ("first_id", pa.int64()),
            ("last_id", pa.int64()),
            ("time", TIME),
            ("is_buyer_maker", pa.bool_()),
        ]
    ),
    "funding": pa.schema(
        [
            ("funding_time", TIME),
            ("funding_rate", F64),
            ("mark_price", F64),
        ]
    ),
}

#: The column that orders a shard's rows and must be strictly increasing (sorted and unique).
SORT_KEY = {"klines": "open_time", "aggtrades": "agg_id", "funding": "funding_time"}

#: The column whose value places a row inside its shard's period.
TIME_COLUMN = {"klines": "open_time", "aggtrades": "time", "funding": "funding_time"}
