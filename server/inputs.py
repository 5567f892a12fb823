"""What an input may hold so that the database and the code after it can take it.

One place for the ranges every request is checked against (the URL converter, the API's
request schemas and its document all read them): past them a request gets a 4xx that
says so, never an overflow deep in SQLite, PostgreSQL or the date arithmetic.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, date, datetime

from werkzeug.routing import IntegerConverter, Map

from server.services.errors import N_, Invalid

# Every id and count column is PostgreSQL's `integer` (4 bytes); SQLite holds 8 bytes.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
# Instants and dates a schedule, a report or a preview may name. Far enough either way
# for any real plan; the resolver and the report arithmetic stay far from year 1 and 9999.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)  # exclusive
TIME_RANGE = N_("Times and dates must be in the years 2000 to 2099.")
UNSTORABLE = N_("%(field)s contains a character that cannot be stored "
                "(a NUL character or an unpaired surrogate).")
NOT_FINITE = N_("%(field)s must be a finite number (not NaN or Infinity).")


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` in every URL: an id no row can have is a 404, not an OverflowError."""

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None,  # noqa: A002
                 max: int | None = INT_MAX, signed: bool = False) -> None:  # noqa: A002
        super().__init__(map, fixed_digits, min, max, signed)


def in_time_range(value: datetime | date) -> bool:
    if isinstance(value, datetime):
        return EARLIEST <= value < LATEST
    return EARLIEST.date() <= value < LATEST.date()


def storable(text: str) -> bool:
    """PostgreSQL refuses NUL in text, and UTF-8 cannot encode a lone surrogate."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _leaves(value: object, name: str) -> Iterator[tuple[str, object]]:
    """(field name, value) for every string and number in a JSON value, keys included."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield name or str(k), str(k)
            yield from _leaves(v, name or str(k))
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v, name)
    else:
        yield name, value


# Inputs the code cleans itself before keeping them: an upload's file name becomes a safe
# display name (content/names.py), whatever a browser or a script sent.
CLEANED = frozenset({"filename"})


def check_values(*sources: object) -> None:
    """Raise Invalid (422) naming the first field whose text cannot be stored, or whose
    number is NaN or infinite (Python reads them from JSON; PostgreSQL's json refuses
    them, and no field means them)."""
    for source in sources:
        for field, value in _leaves(source, ""):
            name = field if storable(field) else None
            if isinstance(value, str) and field not in CLEANED and not storable(value):
                raise Invalid(UNSTORABLE, field=name)
            if isinstance(value, float) and not math.isfinite(value):
                raise Invalid(NOT_FINITE, field=name)
