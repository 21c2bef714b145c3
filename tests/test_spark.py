"""Verdicts on Spark (``local[2]``): the SQL compiled for the ``spark`` dialect gives the
reference verdicts for generated conditions and histories (the cases of
``tests/test_sql_differential.py``: window edges, time zones, clock changes), over a
DataFrame and over a table the session reads by name, as a warehouse table is read.
Skipped, with the reason printed, where pyspark or a Java runtime is missing (CI installs
both: ``.ci/run``)."""

from __future__ import annotations

import importlib.util
import os
import shutil
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from test_sql_differential import LONG, MEMBERS, _reference, cases

import groupops as go
from groupops.rules._facts_api import Subject

HAS_SPARK = all(importlib.util.find_spec(m) is not None for m in ("pyspark", "sqlglot"))
HAS_JAVA = shutil.which("java") is not None or "JAVA_HOME" in os.environ
NO_SPARK = (
    "the spark extra is not installed: pip install 'groupops[spark]'"
    if not HAS_SPARK
    else "no Java runtime (java on PATH or JAVA_HOME): Spark runs on the JVM"
)
pytestmark = pytest.mark.skipif(not (HAS_SPARK and HAS_JAVA), reason=NO_SPARK)
# a Spark query costs about a second on local[2]: few examples in the default run
SPARK_EXAMPLES = 300 if LONG else int(os.environ.get("SPARK_EXAMPLES", 6))
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("groupops-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _frame(spark, events: list[go.Event]):
    rows = [(e.id, e.member, e.group, e.kind, (e.at - EPOCH) // timedelta(microseconds=1)) for e in events]
    return spark.createDataFrame(rows, "id STRING, member STRING, grp STRING, kind STRING, at_us BIGINT")


@settings(
    max_examples=SPARK_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=cases())
def test_spark_sql_gives_the_reference_verdicts(spark, case):
    tz, events, condition, scope, at, subjects, profiles = case
    explained, _ = _reference(*case)
    got = go.rules.spark_verdicts(
        spark,
        condition,
        subjects,
        at=at,
        tz=tz,
        events=_frame(spark, events),
        profiles=profiles,
        default_scope=scope,
    )
    assert got == explained


def test_spark_reads_events_from_a_table_by_name_as_from_a_warehouse(spark):
    tz = ZoneInfo("Asia/Shanghai")
    at = datetime(2026, 11, 29, 20, tzinfo=tz)
    events = [
        go.Event(id=f"c{i}", kind="checkin", member=m, group="camp", at=at - timedelta(days=d))
        for i, (m, d) in enumerate([("a", 1), ("a", 3), ("b", 6), ("b", 8), ("c", 20)])
    ]
    _frame(spark, events).createOrReplaceTempView("community_events")
    subjects = [
        Subject(go.Membership(member=m, group="camp", joined_at=at - timedelta(days=30))) for m in MEMBERS
    ]
    rule = {"count": "checkin", "within": "7d", "at_least": 2}
    got = go.rules.spark_verdicts(spark, rule, subjects, at=at, tz=tz, events="community_events")
    assert got == [True, False, False, False]  # a: two check-ins this week; b: one; c, d: none
    # the views of the subjects are the call's own: none is left behind
    assert [t.name for t in spark.catalog.listTables() if t.name.startswith("groupops_")] == []


def test_a_condition_with_no_sql_form_is_refused_before_spark_runs(spark):
    at = datetime(2026, 11, 29, 20, tzinfo=UTC)
    subjects = [Subject(go.Membership(member="a", group="camp", joined_at=at))]
    with pytest.raises(go.NotCompilable, match="'sum': 'purchase'"):
        go.rules.spark_verdicts(
            spark, {"sum": "purchase", "above": 1}, subjects, at=at, tz=UTC, events="community_events"
        )
