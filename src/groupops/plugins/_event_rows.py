"""Events as the rows a SQL store writes: the columns it filters and orders by, beside
the event's whole JSON (its payload), built from a validated :class:`~groupops.Event`
or straight from a record of the common shape without building the event at all.

Ingest spends most of its time outside SQLite turning records into rows. For a record
that :func:`~groupops._trusted.plain_event_fields` accepts (checked in plain Python, each
field what the model would make of it), :func:`event_row_from_mapping` writes the row
directly: the payload is put together from the checked pieces, byte for byte what
``Event.model_dump_json`` writes (a property test, ``tests/test_ingest_fast_path.py``,
holds it to that), and where a piece would need JSON escaping or an unusual number
form, that piece is written by pydantic's own serializer.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic_core import PydanticSerializationError, to_json

from .._model import Event
from .._time import as_instant, micros
from .._trusted import plain_event_fields, trusted, zone_of

__all__ = ["EventRow", "event_row", "event_row_from_mapping", "row_instant"]

EventRow = tuple[str, str, str | None, str, str, int, float, str | None, str]
"""One event as the columns of the ``events`` table, in order: id, member, group, kind,
at (``datetime.isoformat`` of the event's time, its offset kept), at_us (microseconds
since the Unix epoch), value, data (its JSON, None when empty), payload (the event's
JSON: ``Event.model_dump_json``)."""


def event_row(e: Event) -> EventRow:
    """The row of a validated event."""
    data = to_json(e.data).decode() if e.data else None
    return (
        e.id,
        e.member,
        e.group,
        e.kind,
        e.at.isoformat(),
        micros(e.at),
        e.value,
        data,
        e.model_dump_json(),
    )


def event_row_from_mapping(record: Mapping[str, Any]) -> EventRow | None:
    """The row of the event a record of the common shape describes, equal to
    ``event_row(Event.model_validate(record))``; ``None`` when the record is not of that
    shape (:func:`~groupops._trusted.plain_event_fields`), valid or not: validate it with
    the model then, which also says what is wrong with it."""
    fields = plain_event_fields(record)
    if fields is None:
        return None
    id_, kind, member, group, text, wall, (zone, offset), value, data = fields
    data_json = None
    if data is not None:
        try:
            data_json = to_json(data).decode()
        except PydanticSerializationError:  # a Python object JSON cannot hold: the model says so
            return None
    # as written, the time is isoformat's when it has no fraction and a +hh:mm offset
    # other than -00:00 (which isoformat writes +00:00)
    if len(text) == 25 and text[19] != "." and text[19:] != "-00:00":
        iso = text
    else:
        iso = wall.replace(tzinfo=zone).isoformat()
    at_us = (wall - _WALL_EPOCH) // _MICROSECOND - offset
    pieces = id_ + kind + member + (group or "")
    if (
        '"' in pieces
        or "\\" in pieces
        or not pieces.isprintable()
        or not (_REPR_FROM <= abs(value) < _REPR_TO or value == 0)
    ):
        # text that JSON escapes, a float written otherwise than by repr: the model's
        # own serializer writes the payload
        at = wall.replace(tzinfo=zone)
        given = {"id": id_, "kind": kind, "member": member, "group": group, "at": at, "value": value}
        payload = trusted(Event, {**given, "data": data or {}}, set()).model_dump_json()
    else:
        # pydantic writes a time at offset zero with a Z, any other as isoformat does
        when = iso[:-6] + "Z" if offset == 0 else iso
        where = "null" if group is None else f'"{group}"'
        payload = (
            f'{{"id":"{id_}","kind":"{kind}","member":"{member}","group":{where},'
            f'"at":"{when}","value":{value!r},"data":{data_json or "{}"}}}'
        )
    return (id_, member, group, kind, iso, at_us, value, data_json, payload)


def row_instant(row: EventRow) -> datetime:
    """The event's time as the model keeps it (:func:`~groupops._time.as_instant`), from its row."""
    iso = row[4]
    if len(iso) in (25, 32):  # an offset of hours and minutes (without or with microseconds)
        return datetime.fromisoformat(iso[:-6]).replace(tzinfo=zone_of(iso[-6:])[0])
    return as_instant(datetime.fromisoformat(iso))  # an offset with seconds, as Python allows


# the floats whose repr is the JSON pydantic writes (below, pydantic writes 0.00001
# where repr writes 1e-05; from 1e16 on, repr and pydantic differ in exponents)
_REPR_FROM = 1e-4
_REPR_TO = 1e16
_WALL_EPOCH = datetime(1970, 1, 1)
_MICROSECOND = timedelta(microseconds=1)
