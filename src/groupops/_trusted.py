"""Models without a second validation: for records of the common shape, and for values
our own validated code has just produced.

Validating every field of every event through the models' Python validators costs more
than storing it. :func:`event_from_mapping` checks the common shape of an event record
(ASCII ids, an ISO 8601 time with an offset, a finite number, plain data) in plain
Python and builds the :class:`~groupops.Event` directly; anything else (a ``datetime``
object, non-ASCII text, an unusual time form, any bad value) gets ``None``, and the
caller validates it with the model, so every error, and every edge case of what the
model accepts, stays the model's own. :func:`trusted` builds a model from values that
are already valid (the fields of validated models), as ``model_construct`` does but
without its per-field bookkeeping.
"""

from __future__ import annotations

import copy
import functools
import math
import re
from collections.abc import Callable, Collection, Mapping
from datetime import datetime, timedelta, tzinfo
from typing import Any, TypeVar, cast

from pydantic import BaseModel

from ._model import EARLIEST_TIME, LATEST_TIME, MAX_DATA_ITEMS, MAX_TEXT_LENGTH, Event, _check_data
from ._time import as_instant

__all__ = [
    "PlainFields",
    "built",
    "event_from_mapping",
    "plain_event_fields",
    "share_fields_set",
    "shared_fields_set",
    "trusted",
    "zone_of",
]

_M = TypeVar("_M", bound=BaseModel)
_setattr = object.__setattr__

_EVENT_FIELDS = frozenset(Event.model_fields)
# The one time form taken without the model: date, T, time to the second (a fraction of
# up to six digits), and Z or a +hh:mm offset. ASCII digits only.
_PLAIN_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)
# an offset as written ("+08:00", "Z") -> its zone as the model keeps it, and the offset
# in microseconds
_ZONES: dict[str, tuple[tzinfo, int]] = {}
_EXACT_INT = 2**53  # beyond this an int is not exactly a float: leave it to the model


class _SharedFieldsSet(set[str]):
    """The names of the fields given, shared by every instance given the same ones: a
    ``set`` (pydantic's serializer takes nothing else) that refuses to change, and copies
    (``model_copy``, ``deepcopy``, pickling) as a plain set of the copy's own."""

    __slots__ = ()

    def _shared(self, *args: object) -> None:
        raise TypeError("this model's fields set is shared with others built alike: copy it to change it")

    add = discard = remove = pop = clear = update = _shared  # type: ignore[assignment]
    difference_update = intersection_update = symmetric_difference_update = _shared
    __ior__ = __iand__ = __isub__ = __ixor__ = _shared  # type: ignore[assignment]

    def __copy__(self) -> set[str]:
        return set(self)

    def __deepcopy__(self, memo: object) -> set[str]:
        return set(self)

    def __reduce__(self) -> tuple[type[set[str]], tuple[list[str]]]:
        return (set, (list(self),))


_FIELDS_SETS: dict[tuple[str, ...] | frozenset[str], set[str]] = {}


def shared_fields_set(names: Collection[str]) -> set[str]:
    """One read-only fields set per combination of names, for the models a run holds by
    the hundred thousand (decisions, their explanations, memberships): a set of nine
    names is 728 bytes, a third of a decision's memory when each had its own. A frozen
    model never changes its fields set; a copy gets a plain set of its own."""
    key = names if isinstance(names, tuple) else frozenset(names)
    found = _FIELDS_SETS.get(key)
    if found is None:
        found = _FIELDS_SETS[key] = _SharedFieldsSet(names)
    return found


def share_fields_set(instance: _M) -> _M:
    """``instance`` (frozen) with its fields set replaced by the shared one of the same names."""
    _setattr(instance, "__pydantic_fields_set__", shared_fields_set(instance.__pydantic_fields_set__))
    return instance


def trusted(model: type[_M], values: dict[str, Any], fields_set: set[str]) -> _M:
    """An instance of ``model`` holding ``values`` (every field, each already valid for
    it), with ``fields_set`` as the fields given: what ``model_construct`` builds, at a
    quarter of its cost. Only for values validated code has produced."""
    instance = model.__new__(model)
    _setattr(instance, "__dict__", values)
    _setattr(instance, "__pydantic_fields_set__", fields_set)
    _setattr(instance, "__pydantic_extra__", None)
    _setattr(instance, "__pydantic_private__", None)
    return instance


def built(model: type[_M], **given: Any) -> _M:
    """``model(**given)`` for values that are valid already (each the value of a
    validated model's field of the same type), without validating them again: the
    given fields, the defaults of the others, and ``given``'s names as the fields set.
    ``TypeError`` if a field without a default is not given."""
    table = _TABLES.get(model)
    if table is None:
        table = _TABLES[model] = _table(model)
    template, made, required = table
    if not required <= given.keys():
        missing = sorted(required - given.keys())
        raise TypeError(f"{model.__name__}: {', '.join(missing)} is required")
    values = template.copy()  # every field, in the model's order
    values.update(given)
    for name, make in made.items():
        if name not in given:
            values[name] = make()
    return trusted(model, values, set(given))


def _table(
    model: type[BaseModel],
) -> tuple[dict[str, Any], dict[str, Callable[[], Any]], frozenset[str]]:
    """For :func:`built`: the fields with a plain, immutable default (and None for the
    others, in the model's order), the fields whose default is made afresh for each
    instance (a factory, or a copy of a mutable default), and the required fields."""
    template: dict[str, Any] = {}
    made: dict[str, Callable[[], Any]] = {}
    required: set[str] = set()
    for name, field in model.model_fields.items():
        template[name] = None
        if field.default_factory is not None:
            made[name] = field.default_factory  # type: ignore[assignment]
        elif field.is_required():
            required.add(name)
        elif isinstance(field.default, dict | list | set):
            made[name] = functools.partial(copy.deepcopy, field.default)
        else:
            template[name] = field.default
    return template, made, frozenset(required)


_TABLES: dict[type[BaseModel], tuple[dict[str, Any], dict[str, Callable[[], Any]], frozenset[str]]] = {}


def event_from_mapping(record: Mapping[str, Any]) -> Event | None:
    """The event a record of the common shape describes, equal in every field (and in
    the fields set) to what ``Event.model_validate`` makes of it; ``None`` when the
    record is not of that shape, valid or not (validate it with the model then)."""
    fields = plain_event_fields(record)
    if fields is None:
        return None
    id_, kind, member, group, _, wall, (zone, _), value, data = fields
    values = {
        "id": id_,
        "kind": kind,
        "member": member,
        "group": group,
        "at": wall.replace(tzinfo=zone),
        "value": value,
        "data": dict(data) if data else {},
    }
    return trusted(Event, values, set(record))


PlainFields = tuple[
    str, str, str, str | None, str, datetime, tuple[tzinfo, int], float, dict[str, Any] | None
]
"""A record of the common shape, checked: id, kind, member, group, ``at`` as written,
``at``'s wall clock (a naive datetime), its offset (:func:`zone_of`: the zone as the
model keeps it, :func:`~groupops._time.as_instant`, so that ``wall.replace(tzinfo=zone)``
is the model's ``at``; and the offset in microseconds), value (a float), and data (the
record's own dict, not copied; None when empty or absent). Kept apart, the wall clock
and the offset cost less than an aware datetime for what ingest computes from them."""


def plain_event_fields(record: Mapping[str, Any]) -> PlainFields | None:
    """The fields of a record of the common shape, each what the model would make of
    it (:data:`PlainFields`); ``None`` when the record is not of that shape, valid or
    not. What :func:`event_from_mapping` builds an event from, and ingest a store's row."""
    if not _EVENT_FIELDS.issuperset(record):
        return None
    get = record.get
    id_, kind, member, group, at = get("id"), get("kind"), get("member"), get("group"), get("at")
    # plain ids: text, ASCII (no lone surrogate to find), together within the length
    # of one, each with more than space (strip() takes off what isspace() calls space)
    if type(id_) is not str or type(kind) is not str or type(member) is not str:
        return None
    if group is None:
        ids = id_ + kind + member
    elif type(group) is not str or not group.strip():
        return None
    else:
        ids = id_ + kind + member + group
    if not (
        ids.isascii() and len(ids) <= MAX_TEXT_LENGTH and id_.strip() and kind.strip() and member.strip()
    ):
        return None
    if type(at) is not str or _PLAIN_TIME.fullmatch(at) is None:
        return None
    # the offset is a valid one (the pattern says so): the rest is read without it
    z = -1 if at[-1] == "Z" else -6
    try:
        wall = datetime.fromisoformat(at[:z])
    except ValueError:
        return None
    offset = _ZONES.get(at[z:]) or zone_of(at[z:])
    # a year from 1971 to 2198 is in range whatever the offset; comparing aware
    # datetimes costs more than all the other checks together
    if not "1971" <= at[:4] <= "2198" and not EARLIEST_TIME <= wall.replace(tzinfo=offset[0]) < LATEST_TIME:
        return None
    value: Any = get("value", 1.0)
    if type(value) is int:
        if not -_EXACT_INT <= value <= _EXACT_INT:
            return None
        value = float(value)
    elif type(value) is not float or not math.isfinite(value):
        return None
    data: Any = get("data")
    if data is None:
        if "data" in record:
            return None
    elif type(data) is not dict:
        return None
    elif data:
        try:
            _check_data(data, "data", depth=1, budget=[MAX_DATA_ITEMS])
        except ValueError:
            return None
    else:
        data = None
    # each checked above: the ids are str, value a float, data a dict or None
    return cast(PlainFields, (id_, kind, member, group, at, wall, offset, value, data))


def zone_of(offset: str) -> tuple[tzinfo, int]:
    """The zone an offset written ``Z`` or ``+hh:mm`` stands for, as the model keeps it
    (:func:`as_instant`), and the offset in microseconds: found once per offset."""
    found = _ZONES.get(offset)
    if found is None:
        instant = as_instant(datetime.fromisoformat("2000-01-01T00:00:00" + offset))
        zone, delta = instant.tzinfo, instant.utcoffset()
        assert zone is not None and delta is not None  # as_instant's datetimes are aware
        found = _ZONES[offset] = (zone, delta // timedelta(microseconds=1))
    return found
