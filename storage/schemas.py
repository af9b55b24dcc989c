"""One Arrow schema per data type name: the column contract, as the data-type table holds it."""

from __future__ import annotations

import pyarrow as pa

from storage.dtypes import DTYPES

SCHEMAS: dict[str, pa.Schema] = {name: t.schema for name, t in DTYPES.items()}
