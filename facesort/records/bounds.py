"""Settings records with each field's bounds beside it (boxmot's config style): ``bounded``
declares a field, ``check_bounds`` refuses a record outside them in one line."""
from __future__ import annotations

from dataclasses import field, fields
from typing import Any


def bounded(default: Any, low: float, high: float) -> Any:
    """A dataclass field whose value must lie in [low, high] (check_bounds reads them)."""
    return field(default=default, metadata={"bounds": (low, high)})


def check_bounds(record: Any) -> None:
    """ValueError naming the first field outside the bounds its ``bounded`` gave it."""
    for spec in fields(record):
        bounds = spec.metadata.get("bounds")
        value = getattr(record, spec.name)
        if bounds is not None and not bounds[0] <= value <= bounds[1]:
            raise ValueError(f"{type(record).__name__}.{spec.name} = {value!r} is outside "
                             f"[{bounds[0]:g}, {bounds[1]:g}]")
