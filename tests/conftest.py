"""Shared test set-up: Hypothesis profiles.

``ci`` (the default, so the README's test command is deterministic): a fixed 100 examples
per test, derandomized. ``dev``: 60 random examples. ``long``: 2,000 random examples, run
before each submission (docs/testing.md).
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=60, deadline=None)
settings.register_profile(
    "long", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
# mutation testing runs the rules' tests once per mutant: fewer examples, still derandomized
settings.register_profile("mutation", max_examples=40, deadline=None, derandomize=True, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_sessionstart(session: object) -> None:
    """Start each session with groupops' process-wide caches empty (the memoized
    durations, schedules and compiled conditions). A session of its own process starts
    so anyway; mutmut runs each mutant in a process forked from one that already ran
    the tests, and a cached result computed by the unmutated code would hide the mutant."""
    from groupops import _time
    from groupops.rules import _compile, _evaluate

    _time._shift.cache_clear()
    _time._compiled.cache_clear()
    _time._offset_zone.cache_clear()
    _compile._plans.clear()
    _evaluate._compiled.clear()
