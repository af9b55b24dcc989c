"""Flat JSON arrays of rows parsed by pyarrow's CSV reader after a one-pass byte transform.

Exchanges send pages as `[[1706630400000,"43519.34",…],…]` or `[{"a":26129,"p":"0.016",…},…]`.
Turning `[`, `{` and `:` into commas and `]`, `}` into newlines (one `bytes.translate`)
makes each row one CSV line: two empty fields, then the row's values (objects: each key,
then its value). pyarrow's CSV reader parses those lines to typed columns without a Python
object per row: Binance klines and aggTrades at 55-60% of the CPU of `json.loads` plus
`pa.array` (bench/parse.py).
Numbers convert with the same routine as `pc.cast(string -> float64)`, so floats are
bit-identical to the JSON parsers'.

The transform is exact only for compact bodies of the layout's shape, so `read` checks the
shape and returns None for anything else; the caller then parses the body with `json` (its
reference parser), which also owns the errors. Checked: the body opens and closes as the
layout's array does and holds no whitespace; every row has exactly the layout's fields and
nothing between rows but a comma (checked on the body's bytes: the two empty fields each
line opens with are never read); objects: its keys in order, byte by byte before each
colon, and a quote after the colon exactly where the layout quotes the value; the body
quotes exactly the values the layout quotes; every kept value converts to its type (no
nulls, booleans only the layout's words).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

_TO_CSV = bytes.maketrans(b"[{:]}", b",,,\n\n")
_WHITESPACE = (b" ", b"\n", b"\r", b"\t")
_QUOTE, _COLON, _COMMA = ord('"'), ord(":"), ord(",")
_PARSE = pcsv.ParseOptions(ignore_empty_lines=False)
#: per row kind (objects?): how the body opens and closes, and bytes it holds nowhere else
_FRAME = {False: (b"[[", b"]]", (b"{", b"}", b":")), True: (b"[{", b"}]", (b"[", b"]"))}
#: per row kind: the byte that opens and the byte that closes a row
_ROW_ENDS = {False: (ord("["), ord("]")), True: (ord("{"), ord("}"))}
#: the two empty fields that open every line (from `[[` / `],[` or `[{` / `},{`); never
#: converted: `_rows_joined` checks the bytes they come from
_LEAD = ("_lead0", "_lead1")


@dataclass(frozen=True)
class Layout:
    """The rows of one endpoint: each field in order as (name, type), type None for a field
    skipped unread. `objects`: rows are JSON objects with exactly these keys in this order.
    `quoted`: the fields the exchange sends as JSON strings (numbers in quotes included).
    `true`/`false`: the only words a bool field may hold."""

    fields: tuple[tuple[str, pa.DataType | None], ...]
    quoted: frozenset[str]
    objects: bool = False
    true: tuple[str, ...] = ("true",)
    false: tuple[str, ...] = ("false",)
    names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        kept = tuple(name for name, dtype in self.fields if dtype is not None)
        object.__setattr__(self, "names", kept)

    @cached_property
    def _columns(self) -> list[str]:
        columns = list(_LEAD)
        for name, _ in self.fields:
            columns += [f"_{name}:key", name] if self.objects else [name]
        return columns

    @cached_property
    def _keys(self) -> list[tuple[int, np.ndarray | None, np.ndarray]]:
        """Object rows: each key's `"key"` sits right before its row's n-th colon. Per distance
        before a colon: the colon numbers whose key reaches that far (None: all) and the
        byte each must find there."""
        quoted = [f'"{name}"'.encode() for name, _ in self.fields]
        checks = []
        for distance in range(1, max(map(len, quoted)) + 1):
            slots = [n for n, key in enumerate(quoted) if len(key) >= distance]
            expected = np.array([quoted[n][-distance] for n in slots], np.uint8)
            every = len(slots) == len(quoted)
            checks.append((distance, None if every else np.array(slots), expected))
        return checks

    @cached_property
    def _quoted_slots(self) -> np.ndarray:
        return np.array([name in self.quoted for name, _ in self.fields])

    @cached_property
    def _options(self) -> tuple[pcsv.ReadOptions, pcsv.ConvertOptions]:
        types = {name: dtype for name, dtype in self.fields if dtype is not None}
        read = pcsv.ReadOptions(column_names=self._columns, use_threads=False)
        convert = pcsv.ConvertOptions(
            column_types=types,
            include_columns=list(self.names),
            null_values=[],  # a null is a shape the reference parser handles
            true_values=list(self.true),
            false_values=list(self.false),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )
        return read, convert

    @cached_property
    def quotes_per_row(self) -> int:
        keys = len(self.fields) if self.objects else 0
        return 2 * (keys + len(self.quoted))

    @cached_property
    def empty(self) -> pa.RecordBatch:
        types = dict(self.fields)
        return pa.RecordBatch.from_pylist([], schema=pa.schema([(n, types[n]) for n in self.names]))


def array_rows(*fields: tuple[str, pa.DataType | None], quoted: set[str]) -> Layout:
    """Rows sent as JSON arrays: `[[1706630400000,"43519.34",…],…]`."""
    return Layout(tuple(fields), frozenset(quoted))


def object_rows(
    *fields: tuple[str, pa.DataType | None],
    quoted: set[str],
    true: tuple[str, ...] = ("true",),
    false: tuple[str, ...] = ("false",),
) -> Layout:
    """Rows sent as JSON objects with fixed keys in a fixed order: `[{"a":26129,…},…]`."""
    return Layout(tuple(fields), frozenset(quoted), objects=True, true=true, false=false)


def _keys_in_place(octets: np.ndarray, rows: int, layout: Layout) -> bool:
    """Every row's colons are exactly the layout's, each right after its `"key"`, in order,
    and right before a quote exactly where the layout's value is quoted."""
    colons = np.flatnonzero(octets == _COLON)
    width = len(layout.fields)
    if len(colons) != rows * width:
        return False
    for distance, slots, expected in layout._keys:
        before = octets[colons - distance].reshape(rows, width)
        if not ((before if slots is None else before[:, slots]) == expected).all():
            return False
    # Each value quoted as the layout says: the CSV reader converts `"26129"` to an int as
    # readily as `26129`, which the reference parser refuses.
    opens_quoted = octets[colons + 1].reshape(rows, width) == _QUOTE
    return bool((opens_quoted == layout._quoted_slots).all())


def _rows_joined(octets: np.ndarray, rows: int, layout: Layout) -> bool:
    """Rows follow one another with nothing but a comma between them: every row's closing
    byte but the last is followed by `,` and the next row's opening byte, and no other
    closing byte is there (arrays: the body's own last `]` aside). So each CSV line opens
    with the two empty fields, without reading them as columns."""
    opener, closer = _ROW_ENDS[layout.objects]
    ends = np.flatnonzero(octets == closer)
    if len(ends) != rows + (0 if layout.objects else 1):
        return False
    inner = ends[: rows - 1]
    return bool((octets[inner + 1] == _COMMA).all() and (octets[inner + 2] == opener).all())


def read(body: bytes, layout: Layout) -> pa.RecordBatch | None:
    """The kept fields of every row, in the layout's types; None when the body is not a compact
    array of the layout's rows (an error answer, a changed format, a truncated body): parse
    it the reference way then."""
    if body == b"[]":
        return layout.empty
    opening, closing, foreign = _FRAME[layout.objects]
    if body[:2] != opening or body[-2:] != closing:
        return None
    if any(c in body for c in _WHITESPACE) or any(body.find(c, 1, -1) >= 0 for c in foreign):
        return None
    read_options, convert_options = layout._options
    try:
        # The last byte is the array's own `]`: without it the CSV ends at the last row's
        # newline, so an empty line anywhere (`]][[` in the JSON) is an error, not skipped.
        # The streaming reader costs ~20 µs less a call than read_csv (a page is one call).
        table = pcsv.open_csv(
            pa.BufferReader(pa.py_buffer(body.translate(_TO_CSV))[:-1]),
            read_options=read_options,
            parse_options=_PARSE,
            convert_options=convert_options,
        ).read_all()
    except pa.ArrowInvalid:  # a field count, a value or a type that is not the layout's
        return None
    octets = np.frombuffer(body, np.uint8)
    if np.count_nonzero(octets == _QUOTE) != table.num_rows * layout.quotes_per_row:
        return None
    if not _rows_joined(octets, table.num_rows, layout):
        return None
    if layout.objects and not _keys_in_place(octets, table.num_rows, layout):
        return None
    if table.column(0).num_chunks > 1:  # a body over the CSV reader's block size
        table = table.combine_chunks()
    return table.to_batches()[0]
