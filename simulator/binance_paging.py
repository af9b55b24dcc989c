"""Binance's paging rule over numbered rows, shared by every Binance route that pages."""


def page(lo: int, hi: int, start: int | None, end: int | None, limit: int) -> tuple[int, int]:
    """[first, stop) of the rows to serve.

    lo..hi (inclusive) are the rows that exist now; start is the first row at or after
    startTime, end the last row at or before endTime. startTime alone (or with endTime) gives
    the oldest `limit` rows from it; endTime alone or neither gives the newest up to it.
    """
    last = hi if end is None else min(hi, end)
    if start is not None:
        first = max(lo, start)
        return first, max(first, min(last + 1, first + limit))
    first = max(lo, last + 1 - limit)
    return first, max(first, last + 1)
