"""Per-member verdicts on the reference workload: groupops against hand-written Python and peers.

Three rules per member, the example book's paid-group admission (``vip-threshold``),
eviction (``weekly-eviction``) and revival (``comeback``), at one instant, over the
community of ``benchmarks/evaluate.py``. Two inputs:

- **pre-aggregated fields**: seven numbers per member (days since the last check-in, with
  "never" as 1e9; violations in 30 days; purchases in 365 days; activities; redemptions;
  make-up tasks and payments since the eviction), computed once before timing and given
  to every contender in the form it takes (a dict, a CEL activation, a row in leaf order);
- **event histories**: groupops and the hand-written loop over each member's events.

Contenders: groupops compiled verdicts (``CompiledCondition.decide`` on fields,
``.holds`` on histories), groupops ``evaluate`` (explanation trees) and ``holds`` (the
cached wrappers), hand-written Python, and the peer rule engines zen-engine (compiled
expressions), rule-engine, business-rules, json-logic (the ``panzi-json-logic`` package:
pure Python, complete; ``python-jsonlogic`` 0.2 has no ``and``/``or`` yet, ``json-logic``
was last released in 2015), cel-python and durable-rules. Peers are not dependencies of
groupops; install them into the benchmark's environment:

    .venv/bin/pip install -r benchmarks/requirements.txt
    .venv/bin/python benchmarks/per_member.py [--members 10000] [--rounds 5]

A peer that is not installed is skipped with the reason printed. Timing is interleaved:
each round runs every contender over every member, in turn (the fast ones several
passes, so that a timed stretch is about 0.2 s of CPU), so drift in a shared machine's
load falls on all of them; the table shows the median round's CPU time per pass
(``time.process_time``) and wall time. Every contender's verdicts are compared with the
hand-written ones (mismatches printed; any mismatch fails the run). Results go to
``benchmarks/results/per_member.json``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))

from evaluate import AT, TZ, by_hand, community

import groupops as go
from groupops.rules._evaluate import holds

NEVER = 1e9  # "never checked in", as a number every engine can compare
FIELDS = (
    "days_since_checkin",
    "violations_30d",
    "purchases_365d",
    "activities",
    "redemptions",
    "makeups",
    "payments",
)
# each leaf of the three rules, by (test, subject, window), is one field
FIELD_OF_LEAF = {
    ("days_since", "checkin", None): "days_since_checkin",
    ("count", "violation", "within 30d"): "violations_30d",
    ("count", "purchase", "within 365d"): "purchases_365d",
    ("count", "activity", None): "activities",
    ("count", "redemption", None): "redemptions",
    ("count", "makeup_task", "since evicted"): "makeups",
    ("count", "payment", "since evicted"): "payments",
}
# the same three rules in each peer's language: eviction, admission, revival
TEXT_RULES = (
    "days_since_checkin >= 7 or violations_30d >= 3",
    "purchases_365d > 2 or activities >= 1 or redemptions >= 2",
    "violations_30d < 3 and (makeups >= 2 or payments >= 1)",
)
CEL_RULES = (
    "days_since_checkin >= 7.0 || violations_30d >= 3.0",
    "purchases_365d > 2.0 || activities >= 1.0 || redemptions >= 2.0",
    "violations_30d < 3.0 && (makeups >= 2.0 || payments >= 1.0)",
)


def _ge(f: str, n: float) -> dict[str, Any]:
    return {">=": [{"var": f}, n]}


JSON_LOGIC_RULES = (
    {"or": [_ge("days_since_checkin", 7), _ge("violations_30d", 3)]},
    {"or": [{">": [{"var": "purchases_365d"}, 2]}, _ge("activities", 1), _ge("redemptions", 2)]},
    {"and": [{"<": [{"var": "violations_30d"}, 3]}, {"or": [_ge("makeups", 2), _ge("payments", 1)]}]},
)

Verdicts = list[tuple[bool, bool, bool]]


def aggregate(ms: go.Membership, evs: list[go.Event]) -> dict[str, float]:
    """The seven fields of one member, by a plain loop over the events (untimed set-up)."""
    d30, d365 = AT - timedelta(days=30), AT - timedelta(days=365)
    f = dict.fromkeys(FIELDS, 0.0)
    last = None
    for e in evs:
        if e.at > AT:
            continue
        if e.kind == "checkin" and (last is None or e.at > last):
            last = e.at
        elif e.kind == "violation" and e.at >= d30:
            f["violations_30d"] += 1
        elif e.kind == "purchase" and e.at >= d365:
            f["purchases_365d"] += 1
        elif e.kind == "activity":
            f["activities"] += 1
        elif e.kind == "redemption":
            f["redemptions"] += 1
        elif e.kind == "makeup_task" and ms.evicted_at and e.at >= ms.evicted_at:
            f["makeups"] += 1
        elif e.kind == "payment" and ms.evicted_at and e.at >= ms.evicted_at:
            f["payments"] += 1
    f["days_since_checkin"] = NEVER if last is None else (AT - last).total_seconds() / 86400
    return f


class Subject:
    """One reusable per-member view for compiled verdicts (what a Context carries)."""

    __slots__ = ("group", "history", "member", "membership", "period_start")

    def __init__(self) -> None:
        self.group = "camp-7"
        self.member = None
        self.period_start = None
        self.history: Any = None
        self.membership: Any = None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--single-calls", type=int, default=2000, help="calls for the single-call costs")
    args = parser.parse_args()
    n = args.members

    book = go.load_rule_book(go.example_path("community.yaml"))
    policies = [book.policy("weekly-eviction"), book.policy("vip-threshold"), book.policy("comeback")]
    rules = [p.when for p in policies]
    scopes = [p.default_scope for p in policies]
    c, memberships, raw = community(n)
    fields = [aggregate(ms, raw[ms.member]) for ms in memberships]
    compiled = [
        go.rules.compile_condition(r, at=AT, tz=TZ, default_scope=s)
        for r, s in zip(rules, scopes, strict=True)
    ]
    # each compiled rule's row holds its leaves' fields in leaf order
    layouts = [[FIELD_OF_LEAF[_leaf_key(x)] for x in cc.leaves] for cc in compiled]
    rows = [tuple(tuple(f[name] for name in layout) for layout in layouts) for f in fields]
    histories = [c.history(ms.member) for ms in memberships]
    _check_fields(compiled, memberships, histories, rows)

    contenders: dict[str, tuple[str, Callable[[], Verdicts]]] = {}
    skipped: dict[str, str] = {}

    def hand_fields() -> Verdicts:
        return [
            (
                f["days_since_checkin"] >= 7 or f["violations_30d"] >= 3,
                f["purchases_365d"] > 2 or f["activities"] >= 1 or f["redemptions"] >= 2,
                f["violations_30d"] < 3 and (f["makeups"] >= 2 or f["payments"] >= 1),
            )
            for f in fields
        ]

    evict, admit, revive = (cc.decide for cc in compiled)

    def groupops_fields() -> Verdicts:
        return [(evict(r0), admit(r1), revive(r2)) for r0, r1, r2 in rows]

    contenders["hand-written Python"] = ("fields", hand_fields)
    contenders["groupops compiled"] = ("fields", groupops_fields)
    _add_peers(contenders, skipped, fields)

    def hand_events() -> Verdicts:
        return [by_hand(ms, raw[ms.member]) for ms in memberships]

    e_holds, a_holds, r_holds = (cc.holds for cc in compiled)

    def groupops_compiled_events() -> Verdicts:
        out: Verdicts = []
        s = Subject()
        for ms, h in zip(memberships, histories, strict=True):
            s.history, s.membership = h, ms
            out.append((e_holds(s), a_holds(s), r_holds(s)))
        return out

    def groupops_public(decide: Callable[[Any, go.rules.Context], Any]) -> Callable[[], Verdicts]:
        def run() -> Verdicts:
            out: Verdicts = []
            for ms, h in zip(memberships, histories, strict=True):
                v = []
                for rule, scope in zip(rules, scopes, strict=True):
                    ctx = go.rules.Context(
                        at=AT, tz=TZ, history=h, group="camp-7", membership=ms, default_scope=scope
                    )
                    v.append(bool(decide(rule, ctx)))
                out.append((v[0], v[1], v[2]))
            return out

        return run

    contenders["hand-written loop over events"] = ("events", hand_events)
    contenders["groupops compiled over events"] = ("events", groupops_compiled_events)
    contenders["groupops holds() per Context"] = ("events", groupops_public(holds))
    contenders["groupops evaluate() (explanations)"] = (
        "events",
        groupops_public(lambda r, ctx: go.rules.evaluate(r, ctx).passed),
    )

    expected = hand_fields()
    mismatches: dict[str, int] = {}
    for name, (_, fn) in contenders.items():  # warm-up, and the verdicts to compare
        mismatches[name] = sum(a != b for a, b in zip(fn(), expected, strict=True))
    # the fastest contenders take milliseconds a pass: repeat each so a timed pass takes
    # about 0.2 s of CPU, which a shared machine's noise cannot swamp
    repeat: dict[str, int] = {}
    for name, (_, fn) in contenders.items():
        t = time.process_time()
        fn()
        repeat[name] = max(1, round(0.2 / max(time.process_time() - t, 1e-6)))
    cpu: dict[str, list[float]] = {name: [] for name in contenders}
    wall: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.rounds):
        for name, (_, fn) in contenders.items():
            w, t = time.perf_counter(), time.process_time()
            for _ in range(repeat[name]):
                fn()
            cpu[name].append((time.process_time() - t) / repeat[name])
            wall[name].append((time.perf_counter() - w) / repeat[name])

    rate = {name: n / statistics.median(cpu[name]) for name in contenders}
    hand, zen = rate["hand-written Python"], rate.get("zen-engine")
    header = (
        f"{'contender':38} {'input':7} {'CPU s':>8} {'wall s':>8} {'members/s':>12}"
        f" {'vs hand':>9} {'vs zen':>8} {'wrong':>6}"
    )
    print(
        f"{n:,} members x 3 rules, {args.rounds} interleaved rounds, median round (CPU and wall s per pass)"
    )
    print(header)
    print("-" * len(header))
    table = []
    for name, (kind, _) in contenders.items():
        row = {
            "contender": name,
            "input": kind,
            "cpu_seconds": statistics.median(cpu[name]),
            "wall_seconds": statistics.median(wall[name]),
            "members_per_second": rate[name],
            "ratio_to_hand_written": rate[name] / hand,
            "ratio_to_zen_engine": rate[name] / zen if zen else None,
            "mismatches": mismatches[name],
            "passes_per_round": repeat[name],
        }
        table.append(row)
        vs_zen = f"{row['ratio_to_zen_engine']:7.2f}x" if zen else "      -"
        print(
            f"{name:38} {kind:7} {row['cpu_seconds']:8.3f} {row['wall_seconds']:8.3f} {rate[name]:12,.0f}"
            f" {row['ratio_to_hand_written']:8.3f}x {vs_zen} {mismatches[name]:6}"
        )
    for name, reason in skipped.items():
        print(f"skipped {name}: {reason}")
    single = _single_call_costs(rules[0], histories, memberships, args.single_calls)
    print("single calls (µs per call, eviction rule):")
    for name, us in single.items():
        print(f"  {name:52} {us:8.1f}")
    print(f"mismatches: {sum(mismatches.values())}")

    out = Path(__file__).parent / "results" / "per_member.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "members": n,
                "rules_per_member": 3,
                "rounds": args.rounds,
                "machine": _machine(),
                "rows": table,
                "skipped": skipped,
                "single_call_microseconds": single,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out}")
    if any(mismatches.values()):
        raise SystemExit("verdicts differ")


def _leaf_key(spec: Any) -> tuple[str, str, str | None]:
    leaf = spec.leaf
    window = leaf.window_text() if hasattr(leaf, "window_text") else None
    return spec.test, getattr(leaf, spec.test), window


def _check_fields(
    compiled: list[go.rules.CompiledCondition], memberships: list[Any], histories: list[Any], rows: list[Any]
) -> None:
    """The pre-aggregated fields are what groupops measures from the events itself."""
    s = Subject()
    for ms, h, row in zip(memberships, histories, rows, strict=True):
        s.history, s.membership = h, ms
        for cc, given in zip(compiled, row, strict=True):
            measured = tuple(NEVER if v == float("inf") else v for v in cc.measure(s))
            assert all(abs(a - b) < 1e-6 for a, b in zip(measured, given, strict=True)), (
                ms.member,
                measured,
                given,
            )


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _add_peers(contenders: dict[str, Any], skipped: dict[str, str], fields: list[dict[str, float]]) -> None:
    hint = "pip install -r benchmarks/requirements.txt"

    if _installed("zen"):
        import zen

        zen_exprs = [zen.compile_expression(t) for t in TEXT_RULES]

        def run_zen() -> Verdicts:
            e, a, r = (x.evaluate for x in zen_exprs)
            return [(e(f), a(f), r(f)) for f in fields]

        contenders["zen-engine"] = ("fields", run_zen)
    else:
        skipped["zen-engine"] = f"not installed ({hint})"

    if _installed("rule_engine"):
        import rule_engine

        re_rules = [rule_engine.Rule(t) for t in TEXT_RULES]

        def run_rule_engine() -> Verdicts:
            e, a, r = (x.matches for x in re_rules)
            return [(e(f), a(f), r(f)) for f in fields]

        contenders["rule-engine"] = ("fields", run_rule_engine)
    else:
        skipped["rule-engine"] = f"not installed ({hint})"

    if _installed("business_rules"):
        contenders["business-rules"] = ("fields", _business_rules(fields))
    else:
        skipped["business-rules"] = f"not installed ({hint})"

    if _installed("json_logic"):
        from json_logic import jsonLogic

        def run_json_logic() -> Verdicts:
            e, a, r = JSON_LOGIC_RULES
            return [(bool(jsonLogic(e, f)), bool(jsonLogic(a, f)), bool(jsonLogic(r, f))) for f in fields]

        contenders["json-logic (panzi-json-logic)"] = ("fields", run_json_logic)
    else:
        skipped["json-logic (panzi-json-logic)"] = f"not installed ({hint})"

    if _installed("celpy"):
        import celpy

        env = celpy.Environment()
        programs = [env.program(env.compile(t)) for t in CEL_RULES]
        activations = [{k: celpy.celtypes.DoubleType(v) for k, v in f.items()} for f in fields]

        def run_cel() -> Verdicts:
            e, a, r = (p.evaluate for p in programs)
            return [(bool(e(x)), bool(a(x)), bool(r(x))) for x in activations]

        contenders["cel-python"] = ("fields", run_cel)
    else:
        skipped["cel-python"] = f"not installed ({hint})"

    if _installed("durable"):
        contenders["durable-rules"] = ("fields", _durable_rules(fields))
    else:
        skipped["durable-rules"] = f"not installed ({hint})"


def _business_rules(fields: list[dict[str, float]]) -> Callable[[], Verdicts]:
    from business_rules import run_all
    from business_rules.actions import BaseActions, rule_action
    from business_rules.variables import BaseVariables, numeric_rule_variable

    def variable(name: str) -> Any:
        return numeric_rule_variable(lambda self: self.f[name])

    Variables = type("Variables", (BaseVariables,), {name: variable(name) for name in FIELDS})
    Variables.__init__ = lambda self, f: setattr(self, "f", f)  # type: ignore[method-assign]

    class Actions(BaseActions):  # type: ignore[misc]
        def __init__(self, fired: list[bool]) -> None:
            self.fired = fired

        @rule_action(params={"rule": "numeric"})  # type: ignore[misc]
        def decide(self, rule: float) -> None:
            self.fired[int(rule)] = True

    ops = {">=": "greater_than_or_equal_to", ">": "greater_than", "<": "less_than"}

    def cond(name: str, op: str, value: float) -> dict[str, Any]:
        return {"name": name, "operator": ops[op], "value": value}

    conditions = [
        {"any": [cond("days_since_checkin", ">=", 7), cond("violations_30d", ">=", 3)]},
        {"any": [cond("purchases_365d", ">", 2), cond("activities", ">=", 1), cond("redemptions", ">=", 2)]},
        {
            "all": [
                cond("violations_30d", "<", 3),
                {"any": [cond("makeups", ">=", 2), cond("payments", ">=", 1)]},
            ]
        },
    ]
    rule_list = [
        {"conditions": c, "actions": [{"name": "decide", "params": {"rule": i}}]}
        for i, c in enumerate(conditions)
    ]

    def run() -> Verdicts:
        out: Verdicts = []
        for f in fields:
            fired = [False, False, False]
            run_all(rule_list=rule_list, defined_variables=Variables(f), defined_actions=Actions(fired))
            out.append((fired[0], fired[1], fired[2]))
        return out

    return run


def _durable_rules(fields: list[dict[str, float]]) -> Callable[[], Verdicts]:
    """One ruleset, one rule per branch of each rule's disjunction (how durable-rules says
    "or"); each member's fields posted once per rule as an event, which the firing rule
    consumes. A host without dispatch timers, as in tests/test_durable_differential.py."""
    import durable.engine as durable_engine

    class QuietHost(durable_engine.Host):  # type: ignore[misc]
        def _run(self) -> None:
            return None

    fired: set[tuple[int, int]] = set()

    def record(c: Any) -> None:
        fired.add((c.m["rule"], c.m["i"]))

    def m(rule: int, *tests: dict[str, Any]) -> dict[str, Any]:
        return {"all": [{"m": {"$and": [{"rule": rule}, *tests]}}], "run": record}

    definition = {
        "e1": m(0, {"$gte": {"days_since_checkin": 7}}),
        "e2": m(0, {"$gte": {"violations_30d": 3}}),
        "a1": m(1, {"$gt": {"purchases_365d": 2}}),
        "a2": m(1, {"$gte": {"activities": 1}}),
        "a3": m(1, {"$gte": {"redemptions": 2}}),
        "r1": m(2, {"$lt": {"violations_30d": 3}}, {"$gte": {"makeups": 2}}),
        "r2": m(2, {"$lt": {"violations_30d": 3}}, {"$gte": {"payments": 1}}),
    }
    host = QuietHost()
    host.register_rulesets({"per-member": definition})
    facts = [[{**f, "rule": rule, "i": i} for rule in range(3)] for i, f in enumerate(fields)]

    def run() -> Verdicts:
        fired.clear()
        for member in facts:
            for fact in member:
                try:
                    host.post("per-member", fact)
                except durable_engine.MessageNotHandledException:
                    pass  # no rule matched: a "no" verdict
        return [((0, i) in fired, (1, i) in fired, (2, i) in fired) for i in range(len(fields))]

    return run


def _single_call_costs(
    rule: Any, histories: list[Any], memberships: list[Any], calls: int
) -> dict[str, float]:
    """µs per call of ``holds``/``evaluate`` called one at a time, compiled form against the
    evaluator as it was before compilation (tests/_old_evaluate.py): at one instant (the
    compiled form cached), and at an instant never seen before on every call (compiled
    anew each call; every contender gets instants of its own, so none finds the other's
    window arithmetic cached). Interleaved over three rounds; the median is shown."""
    import _old_evaluate as old

    fresh = iter(range(1, 10**9))

    def contexts(new_instant: bool) -> list[go.rules.Context]:
        base = AT + timedelta(seconds=next(fresh) * calls)
        return [
            go.rules.Context(
                at=base + timedelta(seconds=i) if new_instant else AT,
                tz=TZ,
                history=histories[i % len(histories)],
                group="camp-7",
                membership=memberships[i % len(memberships)],
            )
            for i in range(calls)
        ]

    cases: dict[str, tuple[Callable[[go.rules.Context], Any], bool]] = {
        "holds, one instant (cached)": (lambda ctx: holds(rule, ctx), False),
        "holds before compilation, one instant": (lambda ctx: old.holds(rule, ctx), False),
        "holds, a new instant every call (compiled each call)": (lambda ctx: holds(rule, ctx), True),
        "holds before compilation, a new instant every call": (lambda ctx: old.holds(rule, ctx), True),
        "evaluate, one instant (cached)": (lambda ctx: go.rules.evaluate(rule, ctx), False),
        "evaluate before compilation, one instant": (lambda ctx: old.evaluate(rule, ctx), False),
        "evaluate, a new instant every call": (lambda ctx: go.rules.evaluate(rule, ctx), True),
        "evaluate before compilation, a new instant every call": (lambda ctx: old.evaluate(rule, ctx), True),
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(3):
        for name, (fn, new_instant) in cases.items():
            ctxs = contexts(new_instant)
            t = time.process_time()
            for ctx in ctxs:
                fn(ctx)
            times[name].append((time.process_time() - t) / calls * 1e6)
    return {name: statistics.median(ts) for name, ts in times.items()}


def _machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": model or platform.processor(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "system": platform.platform(),
    }


if __name__ == "__main__":
    main()
