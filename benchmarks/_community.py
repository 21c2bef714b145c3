"""The run and ingest benchmarks' community: the reference workload's three rules and
N members with about ten events each, as JSON-lines records (seeded, reproducible).

Every member joins the welfare group and the camp (two ``joined`` events) and has about
eight events over the 60 days before ``AT`` (check-ins and violations in the camp,
activities in the welfare group, purchases, redemptions and payments member-wide).
``AT`` is the notice time of the camp's weekly eviction (Friday 20:00, two days before
the period ends on Sunday 20:00).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")
AT = datetime(2026, 11, 20, 20, tzinfo=TZ)  # a Friday: the notice of the period ending 22 Nov
NEXT = AT + timedelta(hours=1)  # the next run, after 1 % more events

BOOK = """\
version: 1
timezone: Asia/Shanghai
groups:
  - {id: welfare-hz, name: Welfare, kind: general}
  - {id: vip-hz, name: VIP, kind: paid}
  - {id: camp-7, name: Camp, kind: general}
policies:
  - id: vip-threshold
    type: admission
    from: [welfare-hz]
    to: vip-hz
    expires: 14d
    when:
      any:
        - {count: purchase, within: 365d, above: 2}
        - {count: activity, at_least: 1}
        - {count: redemption, at_least: 2}
  - id: weekly-eviction
    type: eviction
    groups: [camp-7]
    schedule: "FREQ=WEEKLY;BYDAY=SU;BYHOUR=20"
    notice: 2d
    grace: 7d
    exempt: {role: [owner, admin, lecturer]}
    when:
      any:
        - {days_since: checkin, at_least: 7}
        - {count: violation, within: 30d, at_least: 3}
  - id: comeback
    type: revival
    groups: [camp-7]
    within: 14d
    max: 1
    when:
      all:
        - {count: violation, within: 30d, below: 3}
        - any:
            - {count: makeup_task, since: evicted, at_least: 2}
            - {count: payment, since: evicted, at_least: 1}
"""

_KINDS = [
    ("checkin", "camp-7"),
    ("checkin", "camp-7"),
    ("checkin", "camp-7"),
    ("violation", "camp-7"),
    ("activity", "welfare-hz"),
    ("purchase", None),
    ("purchase", None),
    ("redemption", None),
    ("makeup_task", "camp-7"),
    ("payment", None),
]


def _event(eid: str, kind: str, member: str, group: str | None, at: datetime) -> dict[str, object]:
    record: dict[str, object] = {"id": eid, "kind": kind, "member": member, "at": at.isoformat()}
    if group is not None:
        record["group"] = group
    return record


def records(members: int, seed: int = 11) -> Iterator[dict[str, object]]:
    """About ten events per member: two joins and eight more (0–16, mean 8)."""
    rng = random.Random(seed)
    for i in range(members):
        m = f"m{i}"
        joined = AT - timedelta(days=rng.randint(3, 60), minutes=rng.randint(0, 1439))
        yield _event(f"{m}-jw", "joined", m, "welfare-hz", joined)
        yield _event(f"{m}-jc", "joined", m, "camp-7", joined)
        for k in range(rng.randint(0, 16)):
            kind, group = rng.choice(_KINDS)
            at = AT - timedelta(minutes=rng.randint(0, 60 * 24 * 60))
            yield _event(f"{m}-{k}", kind, m, group, at)


def more_records(members: int, share: float = 0.01, seed: int = 12) -> Iterator[dict[str, object]]:
    """``share`` more events (1 %), on random members, between ``AT`` and ``NEXT``."""
    rng = random.Random(seed)
    for k in range(max(1, int(members * 10 * share))):
        m = f"m{rng.randrange(members)}"
        kind, group = rng.choice(_KINDS)
        at = AT + timedelta(minutes=rng.randint(1, 59))
        yield _event(f"more-{k}", kind, m, group, at)


def jsonl(rows: Iterator[dict[str, object]]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)
