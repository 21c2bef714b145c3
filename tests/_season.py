"""A whole eight-week season for one study-camp cohort, shared by engine tests.

Members (all join Monday 2026-09-07 09:00 Asia/Shanghai unless said):
- a: checks in and posts daily → promoted to active on the first Friday, never noticed.
- b: checks in until Sep 10 → noticed, evicted Sep 20; pays Sep 23 → revived; in grace
  for the Sep 27 period; noticed and evicted again Oct 4; pays again → no second revival.
- c: checks in until Sep 15, is noticed Sep 25, checks in Sep 26 → spared Sep 27.
- d: a lecturer (exempt) who never checks in.
- e: joins Thursday Oct 1, never checks in → in grace for Oct 4, evicted Oct 11.
- f: checks in daily; posts daily until Sep 20 → promoted Sep 11, demoted Oct 2 when
  fewer than 3 posting days remain in the trailing 14 days (grace of 7 days passed).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from _books import camp_book

import groupops as go

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 9, 7, 9, 0, tzinfo=TZ)
END = datetime(2026, 11, 2, 9, 0, tzinfo=TZ)

BOOK = camp_book()


def day(month: int, d: int, hour: int = 10) -> datetime:
    return datetime(2026, month, d, hour, 0, tzinfo=TZ)


def _daily(kind: str, member: str, first: datetime, last: datetime) -> list[go.Event]:
    out = []
    t = first
    while t <= last:
        out.append(go.Event(id=f"{kind}-{member}-{t:%m%d}", kind=kind, member=member, group="camp", at=t))
        t += timedelta(days=1)
    return out


def events() -> list[go.Event]:
    ev: list[go.Event] = []
    for m in "abcdf":
        data = {"role": "lecturer"} if m == "d" else {}
        ev.append(go.Event(id=f"join-{m}", kind="joined", member=m, group="camp", at=START, data=data))
    ev.append(go.Event(id="join-e", kind="joined", member="e", group="camp", at=day(10, 1, 9)))
    ev += _daily("checkin", "a", day(9, 7), day(11, 1))
    ev += _daily("message", "a", day(9, 7), day(11, 1))
    ev += _daily("checkin", "b", day(9, 7), day(9, 10))
    ev.append(go.Event(id="pay-b-1", kind="payment", member="b", at=day(9, 23)))
    ev.append(go.Event(id="pay-b-2", kind="payment", member="b", at=day(10, 6)))
    ev += _daily("checkin", "c", day(9, 7), day(9, 15))
    ev += _daily("checkin", "c", day(9, 26), day(11, 1))
    ev += _daily("checkin", "f", day(9, 7), day(11, 1))
    ev += _daily("message", "f", day(9, 7), day(9, 20))
    return ev


# (member, action, local time of the decision) — every decision of the season, in order.
# The runs are at 21:00, an hour after each notice time: notices are decided when the run
# makes them, so each end waits until the whole 2d notice has passed (21:00 on Sunday).
EXPECTED = [
    ("a", "promote", day(9, 11, 21)),
    ("f", "promote", day(9, 11, 21)),
    ("b", "notice", day(9, 18, 21)),
    ("b", "evict", day(9, 20, 21)),
    ("b", "revive", day(9, 23, 21)),
    ("c", "notice", day(9, 25, 21)),
    ("c", "spare", day(9, 27, 21)),
    ("b", "notice", day(10, 2, 21)),
    ("f", "demote", day(10, 2, 21)),
    ("b", "evict", day(10, 4, 21)),
    ("e", "notice", day(10, 9, 21)),
    ("e", "evict", day(10, 11, 21)),
]


def run_times() -> list[datetime]:
    """Every day of the season at 21:00."""
    out = []
    t = START.replace(hour=21)
    while t <= END:
        out.append(t)
        t += timedelta(days=1)
    return out


def book() -> go.RuleBook:
    return go.RuleBook.load(BOOK)
