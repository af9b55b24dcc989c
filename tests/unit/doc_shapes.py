"""Comparing the shape of a served JSON body with a documentation example: the same keys in
the same order, the same JSON types, recursively.

Rules: a null in the example matches anything (the docs do not tell the type); integers and
floats are both "number"; a list of mixed scalars (a kline row) is compared position by
position and must have the same length; any other list has each served element compared with
the example's first one. `prefix=True` lets the served object carry keys after the example's
(for examples our stored copies cut short); `optional` names example keys that may be absent;
`opaque` names keys whose values are not compared (lists of unlike objects, like filters).
"""

from __future__ import annotations

from collections.abc import Collection


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _is_row(values: list) -> bool:
    scalars = [v for v in values if not isinstance(v, list | dict)]
    return len(scalars) == len(values) and len({_kind(v) for v in values}) > 1


def mismatches(
    doc: object,
    served: object,
    path: str = "$",
    prefix: bool = False,
    optional: Collection[str] = (),
    opaque: Collection[str] = (),
) -> list[str]:
    """Every difference of shape, as `path: reason` lines (empty if the shapes agree)."""
    if doc is None:
        return []
    if _kind(doc) != _kind(served):
        return [f"{path}: documented {_kind(doc)}, served {_kind(served)} ({served!r:.60})"]
    if isinstance(doc, dict):
        assert isinstance(served, dict)
        wanted = [k for k in doc if k in served or k not in optional]
        keys = list(served)
        problems = []
        if prefix:
            if keys[: len(wanted)] != wanted:
                problems.append(f"{path}: keys {keys[: len(wanted)]} do not start with {wanted}")
        elif keys != wanted:
            problems.append(f"{path}: keys {keys} differ from the documented {wanted}")
        for key in wanted:
            if key in served and key not in opaque:
                problems += mismatches(
                    doc[key], served[key], f"{path}.{key}", prefix, optional, opaque
                )
        return problems
    if isinstance(doc, list):
        assert isinstance(served, list)
        if not doc or not served:
            return []
        if _is_row(doc):
            if len(doc) != len(served):
                return [f"{path}: row of {len(served)} values, documented {len(doc)}"]
            problems = []
            for i, (d, s) in enumerate(zip(doc, served, strict=True)):
                problems += mismatches(d, s, f"{path}[{i}]", prefix, optional, opaque)
            return problems
        problems = []
        for i, item in enumerate(served):
            problems += mismatches(doc[0], item, f"{path}[{i}]", prefix, optional, opaque)
        return problems
    return []
