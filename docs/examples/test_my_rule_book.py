from hypothesis import given

import groupops as go
from groupops.testing import assert_invariants, histories, no_eviction_in_grace, recording_engine, replay

BOOK = go.load_rule_book(go.example_path("community.yaml"))  # your rule book here


@given(histories(book=BOOK))
def test_my_rule_book_keeps_every_promise(history):
    engine = recording_engine(BOOK)  # in memory, fresh for each history, messages recorded
    replay(history, engine)  # ingest what happened, run the engine when it would have run
    assert_invariants(engine)  # grace, exemptions, notices, revivals, ladder, reruns


@given(histories(book=BOOK))
def test_nobody_is_evicted_inside_the_grace_period(history):
    engine = recording_engine(BOOK)
    replay(history, engine)
    assert no_eviction_in_grace(BOOK, engine.decisions(), engine.store.memberships()) == []
