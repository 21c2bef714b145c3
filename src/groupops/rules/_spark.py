"""Verdicts on Apache Spark: the SQL :func:`~groupops.rules.compile_sql` writes, in the ``spark``
dialect, run by a :class:`pyspark.sql.SparkSession` over an events table, for a community
too large for one machine or whose events live in a data warehouse.

Spark answers one question: which subjects meet a condition at one instant. It runs no
engine: decisions, memberships and messages stay with an :class:`~groupops.Engine` and its
store. The events table may be a warehouse table the session can read (``events=`` its
name: ``"warehouse.community.events"``) or a DataFrame; either has the columns the
compiled query reads, as the SQLite store's ``events`` table does: ``member``, ``grp``
(NULL for a member-wide event), ``kind`` and ``at_us`` (the event's instant in integer
microseconds since the epoch). The subjects and their members' labels go in as two small
DataFrames under temporary views of this session.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any

from .._errors import MissingExtraError
from .._model import Member
from ._conditions import Condition, Scope
from ._facts_api import Subject
from ._sql import compile_sql, subject_rows

__all__ = ["spark_verdicts"]

_SUBJECT_SCHEMA = (
    "sid BIGINT, member STRING, grp STRING, period_start_us BIGINT, joined_us BIGINT,"
    " evicted_us BIGINT, revived_us BIGINT, promoted_us BIGINT, role STRING, source STRING,"
    " referrer STRING"
)
_LABEL_SCHEMA = "sid BIGINT, label STRING"
_views = itertools.count()


def _pyspark() -> None:
    try:
        import pyspark  # noqa: F401
        import sqlglot  # noqa: F401
    except ImportError:
        raise MissingExtraError("spark", feature="verdicts on Spark") from None


def spark_verdicts(
    spark: Any,
    condition: Condition | Mapping[str, object],
    subjects: Sequence[Subject],
    *,
    at: datetime,
    tz: tzinfo,
    events: str | Any = "events",
    profiles: Mapping[str, Member] | None = None,
    default_scope: Scope = "group",
) -> list[bool]:
    """Whether ``condition`` holds for each of ``subjects`` at ``at``, in order, computed
    by ``spark`` (a :class:`pyspark.sql.SparkSession`) in one query.

    :param events: the name of a table the session can read (a warehouse table), or a
        :class:`pyspark.sql.DataFrame`, with the columns ``member``, ``grp``, ``kind``
        and ``at_us``.
    :param profiles: member id -> profile, for ``label``, ``source`` and ``referrer``
        leaves.
    :param tz: the rule book's time zone (calendar windows are counted in it).
    :raises NotCompilable: a leaf has no SQL form (a metric plugin, a sum, ...): evaluate
        that condition with :func:`groupops.rules.holds` instead.
    :raises MissingExtraError: pyspark or sqlglot is not installed (``groupops[spark]``).
    """
    _pyspark()
    n = next(_views)
    names = {"subjects": f"groupops_subjects_{n}", "labels": f"groupops_subject_labels_{n}"}
    if isinstance(events, str):
        table = events
    else:
        table = f"groupops_events_{n}"
        events.createOrReplaceTempView(table)
        names["events"] = table
    query = compile_sql(
        condition,
        at=at,
        tz=tz,
        default_scope=default_scope,
        dialect="spark",
        events=table,
        subjects=names["subjects"],
        labels=names["labels"],
    )
    rows, labels = subject_rows(
        [s.membership for s in subjects], profiles or {}, [s.period_start for s in subjects]
    )
    spark.createDataFrame(rows, _SUBJECT_SCHEMA).createOrReplaceTempView(names["subjects"])
    spark.createDataFrame(labels, _LABEL_SCHEMA).createOrReplaceTempView(names["labels"])
    try:
        found = spark.sql(query.sql, args=query.params).collect()
    finally:
        for view in names.values():
            spark.catalog.dropTempView(view)
    verdicts = [False] * len(subjects)
    for sid, verdict in found:
        verdicts[sid] = bool(verdict)
    return verdicts
