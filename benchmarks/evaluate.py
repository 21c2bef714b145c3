"""Evaluation speed on the reference workload: three rules per member.

For N members with a few weeks of events each, evaluate the example book's three
member rules (eviction ``when``, admission ``when``, revival ``when``) at one moment:

- ``groupops.rules.evaluate``: the full explanation tree (what decisions carry);
- ``groupops.holds``-style verdicts via ``Explanation.passed`` of leaves only;
- hand-written Python over the same in-memory event lists (the ceiling).

Prints a table and writes ``benchmarks/results/evaluate.json``. Ratios, not absolute
times, are what to compare across machines.

    .venv/bin/python benchmarks/evaluate.py [--members 20000]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import groupops as go
from groupops.rules._evaluate import holds

TZ = ZoneInfo("Asia/Shanghai")
AT = datetime(2026, 11, 22, 20, tzinfo=TZ)


def community(
    n: int, seed: int = 7
) -> tuple[go.rules.Community, list[go.Membership], dict[str, list[go.Event]]]:
    rng = random.Random(seed)
    c = go.rules.Community(TZ)
    raw: dict[str, list[go.Event]] = {}
    memberships = []
    for i in range(n):
        m = f"m{i}"
        joined = AT - timedelta(days=rng.randint(10, 60))
        memberships.append(
            go.Membership(
                member=m,
                group="camp-7",
                joined_at=joined,
                status="evicted",
                evicted_at=AT - timedelta(days=3),
            )
        )
        evs = []
        for k in range(rng.randint(0, 30)):
            kind = rng.choice(["checkin", "checkin", "violation", "purchase", "makeup_task", "payment"])
            group = None if kind in ("purchase", "payment") else "camp-7"
            at = AT - timedelta(hours=rng.randint(0, 24 * 60))
            evs.append(go.Event(id=f"{m}-{k}", kind=kind, member=m, group=group, at=at))
        raw[m] = evs
        c.add_all(evs)
    return c, memberships, raw


def by_hand(ms: go.Membership, evs: list[go.Event]) -> tuple[bool, bool, bool]:
    d30 = AT - timedelta(days=30)
    d365 = AT - timedelta(days=365)
    last_checkin = None
    violations = purchases = activities = redemptions = makeups = payments = 0
    for e in evs:
        if e.at > AT:
            continue
        if e.kind == "checkin" and (last_checkin is None or e.at > last_checkin):
            last_checkin = e.at
        elif e.kind == "violation" and e.at >= d30:
            violations += 1
        elif e.kind == "purchase" and e.at >= d365:
            purchases += 1
        elif e.kind == "activity":
            activities += 1
        elif e.kind == "redemption":
            redemptions += 1
        elif e.kind == "makeup_task" and ms.evicted_at and e.at >= ms.evicted_at:
            makeups += 1
        elif e.kind == "payment" and ms.evicted_at and e.at >= ms.evicted_at:
            payments += 1
    days = float("inf") if last_checkin is None else (AT - last_checkin).total_seconds() / 86400
    evict = days >= 7 or violations >= 3
    admit = purchases > 2 or activities >= 1 or redemptions >= 2  # the book says above: 2
    revive = violations < 3 and (makeups >= 2 or payments >= 1)
    return evict, admit, revive


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=20000)
    args = parser.parse_args()
    book = go.load_rule_book(go.example_path("community.yaml"))
    rules = [
        book.policy("weekly-eviction").when,
        book.policy("vip-threshold").when,
        book.policy("comeback").when,
    ]
    scopes = ["group", "member", "group"]
    c, memberships, raw = community(args.members)

    def run_groupops(full: bool) -> list[tuple[bool, ...]]:
        out = []
        for ms in memberships:
            h = c.history(ms.member)
            verdicts = []
            for rule, scope in zip(rules, scopes, strict=True):
                ctx = go.rules.Context(
                    at=AT, tz=TZ, history=h, group="camp-7", membership=ms, default_scope=scope
                )  # type: ignore[arg-type]
                verdicts.append(go.rules.evaluate(rule, ctx).passed if full else holds(rule, ctx))
            out.append(tuple(verdicts))
        return out

    def run_by_hand() -> list[tuple[bool, ...]]:
        return [by_hand(ms, raw[ms.member]) for ms in memberships]

    rows = []
    results = {}
    for name, fn in [
        ("hand-written Python", run_by_hand),
        ("groupops verdicts (holds)", lambda: run_groupops(False)),
        ("groupops with explanations", lambda: run_groupops(True)),
    ]:
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            results[name] = fn()
            best = min(best, time.perf_counter() - t)
        rows.append((name, args.members / best))
    assert results["groupops verdicts (holds)"] == results["hand-written Python"], "verdicts differ"
    assert results["groupops with explanations"] == results["hand-written Python"], "verdicts differ"
    base = rows[0][1]
    print(f"{'engine':32} {'members/s':>12} {'vs hand-written':>16}")
    for name, rate in rows:
        print(f"{name:32} {rate:12,.0f} {rate / base:15.3f}x")
    out = Path(__file__).parent / "results" / "evaluate.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "members": args.members,
                "rules_per_member": 3,
                "python": platform.python_version(),
                "machine": platform.machine(),
                "rows": [
                    {"engine": n, "members_per_second": r, "ratio_to_hand_written": r / base} for n, r in rows
                ],
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
