"""The rule book: groups, policies and message templates, loaded from YAML, JSON or TOML.

Loading validates everything up front and reports every problem with its path::

    policies[1].when.any[0].within: '7x' is not a duration like '7d' (units: m, h, d, w, mo, y)

A book is data of bounded shape: at most :data:`MAX_BOOK_DEPTH` levels of nesting and
:data:`MAX_BOOK_VALUES` values once YAML aliases are expanded (a small file whose aliases
expand to billions of values is refused, not expanded). YAML and JSON keys must not
repeat within a mapping.

Why it is this long: it owns one thing, turning a file into a valid :class:`RuleBook`:
parsing with bounded shape, the model, the checks across policies, groups and segments
that no single field can make, and the schema and dump of the same model.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from datetime import tzinfo
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, TypeVar

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    create_model,
    field_validator,
    model_validator,
)

from .._errors import Problem, RuleError, UnknownGroupError, UnknownPolicyError
from .._i18n import locales
from .._model import Family, Group, name_placeholders
from .._time import zone
from .._validation import problems_from
from ._conditions import CONDITION_TYPES, Condition, Metric, Segment, _Rule, iter_leaves
from ._policies import Policy, policy_union
from ._templates import check_template
from .kinds import BUILTIN_KINDS, KindRegistry, PolicyBase
from .kinds._registry import BookRefs

__all__ = [
    "MAX_BOOK_DEPTH",
    "MAX_BOOK_VALUES",
    "RuleBook",
    "book_model",
    "dump_rule_book",
    "load_rule_book",
    "rule_book_schema",
]

Format = Literal["yaml", "json", "toml"]

P = TypeVar("P", bound=PolicyBase)
"""A policy model, for :meth:`RuleBook.policies_of`."""

MAX_BOOK_DEPTH = 64
"""How deeply a rule book's data may nest (mappings and lists, the book itself level 1)."""
MAX_BOOK_VALUES = 100_000
"""How many values a rule book may hold, counting each use of a YAML alias in full."""
_TOO_DEEP = f"nested more than {MAX_BOOK_DEPTH} levels deep (the limit for a rule book)"


_LATER_GROUP_DEFAULTS: dict[str, Any] = {
    "announcement": "",
    "rules": "",
    "welcome": "",
    "vars": {},
    "status": "open",
}


def _known_locale(value: str) -> str:
    if value not in locales():
        raise ValueError(
            f"{value!r} is not a locale of the message catalogue (one of {', '.join(locales())})"
        )
    return value


LocaleField = Annotated[
    str, AfterValidator(_known_locale), WithJsonSchema({"type": "string", "enum": list(locales())})
]
"""The language of a book's messages: a locale the message catalogue has
(``groupops/locales/<locale>.yaml``)."""


class RuleBook(_Rule):
    """Groups and the policies that run them, in one time zone.

    Build one from a file with :func:`load_rule_book`, from a mapping with
    :meth:`RuleBook.load`, or from Python objects directly.
    """

    version: Literal[1] = 1
    timezone: str = "UTC"
    locale: LocaleField = "en"
    families: tuple[Family, ...] = ()
    groups: tuple[Group, ...] = Field(min_length=1)
    segments: dict[Annotated[str, Field(min_length=1)], Condition] = Field(default_factory=dict)
    policies: tuple[Policy, ...] = ()
    templates: dict[str, str] = Field(default_factory=dict)

    _placeholders: ClassVar[frozenset[str]] = frozenset()
    """Template placeholders the book's kinds add (see :func:`book_model`)."""
    _kinds: ClassVar[KindRegistry | None] = None
    """The book's kinds, when not the built-ins (see :func:`book_model`)."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone(value)
        return value

    @model_validator(mode="after")
    def _references(self, info: ValidationInfo) -> RuleBook:
        if info.context and info.context.get("defer_cross_check"):
            return self
        problems = self.cross_check()
        if problems:
            raise ValueError("; ".join(map(str, problems)))
        return self

    @model_validator(mode="after")
    def _resolve_segments(self) -> RuleBook:
        problems = resolve_segments(self.segments, self.policies)
        if problems:
            raise ValueError("; ".join(map(str, problems)))
        return self

    def __eq__(self, other: object) -> bool:
        # a book loaded with plugin kinds is an instance of a subclass (book_model); it
        # equals the same book loaded with any other set of kinds that accepts it
        if not isinstance(other, RuleBook):
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in RuleBook.model_fields)

    def __hash__(self) -> int:
        return hash(self.revision)

    # -- derived ---------------------------------------------------------------------

    @property
    def tz(self) -> tzinfo:
        """The book's time zone; calendar logic happens here."""
        return zone(self.timezone)

    @cached_property
    def revision(self) -> str:
        """A content hash of the book: equal books have equal revisions."""
        canonical = json.dumps(self.to_data(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]

    def group(self, group_id: str) -> Group:
        """The group named ``group_id``; :class:`UnknownGroupError` otherwise."""
        for g in self.groups:
            if g.id == group_id:
                return g
        raise UnknownGroupError(group_id, known=[g.id for g in self.groups])

    def family(self, family_id: str) -> Family:
        """The family named ``family_id``; ``KeyError`` naming the known ones otherwise."""
        for f in self.families:
            if f.id == family_id:
                return f
        known = ", ".join(f.id for f in self.families) or "none declared"
        raise KeyError(f"unknown family {family_id!r} (families: {known})")

    def policy(self, policy_id: str) -> Policy:
        """The policy named ``policy_id``; :class:`UnknownPolicyError` otherwise."""
        for p in self.policies:
            if p.id == policy_id:
                return p
        raise UnknownPolicyError(policy_id, known=[p.id for p in self.policies])

    def policies_of(self, kind: type[P]) -> list[P]:
        """The policies of one type (a policy model such as
        :class:`~groupops.rules.Eviction`), in book order."""
        return [p for p in self.policies if isinstance(p, kind)]

    def metrics_used(self) -> set[str]:
        """Names of plugin metrics the book's conditions refer to."""
        return {
            leaf.metric
            for _, cond in self.conditions()
            for leaf in iter_leaves(cond)
            if isinstance(leaf, Metric)
        }

    def conditions(self) -> list[tuple[str, Any]]:
        """Every condition in the book with its path (``policies[0].when``,
        ``policies[2].steps[1].keep``), whatever kind the policy is: found by walking
        each policy's fields (plugin kinds included), in field order; the book's named
        ``segments`` first."""
        out: list[tuple[str, Any]] = [(f"segments.{name}", cond) for name, cond in self.segments.items()]

        def walk(value: Any, path: str) -> None:
            if isinstance(value, CONDITION_TYPES):
                out.append((path, value))
            elif isinstance(value, BaseModel):
                for name, info in type(value).model_fields.items():
                    walk(getattr(value, name), f"{path}.{info.alias or name}")
            elif isinstance(value, tuple | list):
                for j, item in enumerate(value):
                    walk(item, f"{path}[{j}]")
            elif isinstance(value, dict):
                for key, item in value.items():
                    walk(item, f"{path}.{key}")

        for i, p in enumerate(self.policies):
            walk(p, f"policies[{i}]")
        return out

    def template(self, action: str, policy: Any = None) -> str | None:
        """The template for an action: the policy's own, else the book's, else None."""
        if policy is not None and action in policy.templates:
            return str(policy.templates[action])
        return self.templates.get(action)

    # -- checks across the book ------------------------------------------------------

    def cross_check(self) -> list[Problem]:
        """Problems that need the whole book: unknown or duplicate ids, bad templates."""
        return cross_check(self.to_data(), placeholders=self._placeholders, kinds=self._kinds)

    # -- (de)serialisation -----------------------------------------------------------

    @classmethod
    def load(cls, data: Any, *, source: str | None = None, kinds: KindRegistry | None = None) -> RuleBook:
        """Validate a mapping into a book; :class:`RuleError` lists every problem.

        ``policies`` validate against ``kinds`` (default: the built-in kinds, unless
        called on a model from :func:`book_model`); an unknown ``type`` lists them."""
        if kinds is not None:
            cls = book_model(kinds)
        if not isinstance(data, dict):
            raise RuleError(
                [Problem("", f"a rule book is a mapping, not {type(data).__name__}")], source=source
            )
        shape = check_shape(data)
        if shape is not None:
            raise RuleError([shape], source=source)
        problems = cross_check(data, placeholders=cls._placeholders, kinds=cls._kinds)
        try:
            book = cls.model_validate(data, context={"defer_cross_check": True})
        except ValidationError as exc:
            raise RuleError(problems_from(exc) + problems, source=source) from None
        if problems:
            raise RuleError(problems, source=source)
        return book

    def to_data(self) -> dict[str, Any]:
        """The book as plain data (what YAML/JSON/TOML hold); ``load`` reads it back."""
        data = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        # fields added with groups in the store are left out while they hold their
        # defaults, so that a book written before them keeps its revision; ``status`` is
        # the store's (a book's groups are open)
        if not data["families"]:
            del data["families"]
        if not data["segments"]:
            del data["segments"]
        for g in data["groups"]:
            for key, default in _LATER_GROUP_DEFAULTS.items():
                if g.get(key) == default:
                    del g[key]
        for policy, dumped in zip(self.policies, data["policies"], strict=True):
            for key in type(policy).later_fields:
                if key in dumped and getattr(policy, key) == type(policy).model_fields[key].default:
                    del dumped[key]
        return data


def _segment_uses(value: Any, path: str) -> list[tuple[str, Segment]]:
    """Every ``{segment: ...}`` inside ``value`` (a policy, a condition, any model or
    container of them), with its path, not following definitions."""
    if isinstance(value, Segment):
        return [(path, value)]
    found: list[tuple[str, Segment]] = []
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            found += _segment_uses(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, tuple | list):
        for i, item in enumerate(value):
            found += _segment_uses(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            found += _segment_uses(item, f"{path}.{key}")
    return found


def resolve_segments(segments: dict[str, Any], policies: Any) -> list[Problem]:
    """Point every ``{segment: name}`` in ``segments`` and ``policies`` at the named
    segment's condition; the problems: names not defined, segments in a circle."""
    problems: list[Problem] = []
    known = ", ".join(segments) or "none defined"
    uses = _segment_uses(dict(segments), "segments") + _segment_uses(tuple(policies), "policies")
    for path, ref in uses:
        definition = segments.get(ref.segment)
        if definition is None:
            problems.append(Problem(path, f"unknown segment {ref.segment!r} (segments: {known})"))
        else:
            ref._definition = definition

    def circle(name: str, trail: tuple[str, ...]) -> tuple[str, ...] | None:
        if name in trail:
            return (*trail[trail.index(name) :], name)
        definition = segments.get(name)
        if definition is None:
            return None
        for ref in _segment_refs_deep(definition):
            found = circle(ref.segment, (*trail, name))
            if found is not None:
                return found
        return None

    reported: set[frozenset[str]] = set()
    for name in segments:
        found = circle(name, ())
        if found is not None and frozenset(found) not in reported:
            reported.add(frozenset(found))
            problems.append(
                Problem(
                    f"segments.{found[0]}", "segments refer to each other in a circle: " + " -> ".join(found)
                )
            )
    return problems


def _segment_refs_deep(cond: Any) -> list[Segment]:
    return [ref for _, ref in _segment_uses(cond, "")] if not isinstance(cond, Segment) else [cond]


def check_shape(data: Any) -> Problem | None:
    """A problem if ``data`` nests deeper than :data:`MAX_BOOK_DEPTH`, holds more than
    :data:`MAX_BOOK_VALUES` values (shared parts, such as YAML aliases, counted at each
    use) or contains itself; else None. Shared parts are measured once, so checking a
    small file whose aliases would expand to billions of values stays cheap."""
    sizes: dict[int, tuple[int, int]] = {}  # id -> (values, levels) of a measured part
    open_: set[int] = set()

    class _Refused(Exception):
        pass

    problem: list[Problem] = []

    def refuse(path: str, message: str) -> _Refused:
        problem.append(Problem(path, message))
        return _Refused()

    def measure(value: Any, path: str, depth: int) -> tuple[int, int]:
        if not isinstance(value, dict | list | tuple):
            return 1, 0
        key = id(value)
        if key in sizes:
            size, levels = sizes[key]
        else:
            if key in open_:
                raise refuse(path, "contains itself (a recursive YAML alias)")
            if depth > MAX_BOOK_DEPTH:
                raise refuse(path, _TOO_DEEP)
            open_.add(key)
            size, levels = 1, 0
            children = value.items() if isinstance(value, dict) else enumerate(value)
            for k, v in children:
                child = f"{path}[{k}]" if isinstance(k, int) else (f"{path}.{k}" if path else str(k))
                s, lv = measure(v, child, depth + 1)
                size, levels = size + s, max(levels, lv + 1)
                if size > MAX_BOOK_VALUES:
                    break
            open_.discard(key)
            sizes[key] = (size, levels)
        if depth + levels > MAX_BOOK_DEPTH:
            raise refuse(path, _TOO_DEEP)
        return size, levels

    try:
        total, _ = measure(data, "", 1)
    except _Refused:
        return problem[0]
    if total > MAX_BOOK_VALUES:
        return Problem(
            "",
            f"holds more than {MAX_BOOK_VALUES:,} values once YAML aliases are expanded "
            "(the limit for a rule book)",
        )
    return None


def _items(value: Any) -> list[tuple[int, Any]]:
    return list(enumerate(value)) if isinstance(value, list | tuple) else []


def _entries(data: dict[str, Any], section: str) -> list[tuple[str, dict[str, Any]]]:
    """The mappings listed under ``section`` (``policies``), each with its path
    (``policies[2]``); anything else there is left to the field checks."""
    return [(f"{section}[{i}]", e) for i, e in _items(data.get(section)) if isinstance(e, dict)]


def _repeated_id(entry: dict[str, Any], base: str, noun: str, seen: set[str]) -> list[Problem]:
    """The problem at ``<base>.id`` when the entry's id is already in ``seen`` (which it
    then joins): one check for the groups', policies' and families' unique ids."""
    eid = entry.get("id")
    if not isinstance(eid, str):
        return []
    repeated = eid in seen
    seen.add(eid)
    return [Problem(f"{base}.id", f"duplicate {noun} id {eid!r}")] if repeated else []


def cross_check(
    data: Any, *, placeholders: frozenset[str] = frozenset(), kinds: KindRegistry | None = None
) -> list[Problem]:
    """Problems that need the whole book, found on plain data so that they are reported
    together with field errors: unknown or duplicate ids, each policy's own (its kind's
    :meth:`~groupops.Kind.book_problems`: group references, a ladder's roles), templates
    with unknown placeholders. ``kinds``: the book's kinds (default: the built-ins)."""
    if not isinstance(data, dict):
        return []
    kinds = kinds if kinds is not None else _BUILTINS
    problems: list[Problem] = _check_families(data)
    groups = _entries(data, "groups")
    seen_groups: set[str] = set()
    for base, g in groups:
        problems.extend(_repeated_id(g, base, "group", seen_groups))
    book = BookRefs(
        groups=tuple(g["id"] for _, g in groups if isinstance(g.get("id"), str)),
        families=frozenset(f["id"] for _, f in _entries(data, "families") if isinstance(f.get("id"), str)),
    )
    seen_policies: set[str] = set()
    for base, p in _entries(data, "policies"):
        problems.extend(_repeated_id(p, base, "policy", seen_policies))
        kind = p.get("type")
        if isinstance(kind, str) and kind in kinds:  # an unknown type is a field error
            problems.extend(kinds.get(kind).book_problems(p, base, book))
        templates = p.get("templates")
        if isinstance(templates, dict):
            for action, text in templates.items():
                if isinstance(text, str):
                    found = check_template(text, placeholders)
                    problems.extend(Problem(f"{base}.templates.{action}", m) for m in found)
    templates = data.get("templates")
    if isinstance(templates, dict):
        for action, text in templates.items():
            if isinstance(text, str):
                problems.extend(Problem(f"templates.{action}", m) for m in check_template(text, placeholders))
    return problems


def _check_families(data: dict[str, Any]) -> list[Problem]:
    """Families: unique ids, name patterns whose placeholders are ``{n}`` or declared in
    ``vars``, welcome templates; groups: a ``family`` the book declares (when it declares
    any), a welcome template, no ``status`` but ``open`` (the store keeps it)."""
    problems: list[Problem] = []
    family_ids: list[str] = []
    seen_families: set[str] = set()
    for base, f in _entries(data, "families"):
        problems.extend(_repeated_id(f, base, "family", seen_families))
        if isinstance(fid := f.get("id"), str):
            family_ids.append(fid)
        pattern = f.get("name")
        raw_vars = f.get("vars")
        variables: dict[Any, Any] = raw_vars if isinstance(raw_vars, dict) else {}
        if isinstance(pattern, str):
            allowed = ["n", *sorted(k for k in variables if isinstance(k, str))]
            for key in name_placeholders(pattern):
                if key not in allowed:
                    problems.append(
                        Problem(
                            f"{base}.name",
                            f"{pattern!r}: unknown placeholder {{{key}}} "
                            f"(known: {', '.join('{' + k + '}' for k in allowed)}; "
                            f"declare it in {base}.vars)",
                        )
                    )
        welcome = f.get("welcome")
        if isinstance(welcome, str):
            problems.extend(Problem(f"{base}.welcome", m) for m in check_template(welcome))
    declared = set(family_ids)
    for base, g in _entries(data, "groups"):
        if g.get("status", "open") != "open":
            problems.append(
                Problem(
                    f"{base}.status",
                    f"{g['status']!r}: a group's status is kept by the store; a rule book's groups are open",
                )
            )
        fam = g.get("family")
        if family_ids and isinstance(fam, str) and fam not in declared:
            problems.append(
                Problem(f"{base}.family", f"unknown family {fam!r} (families: {', '.join(family_ids)})")
            )
        welcome = g.get("welcome")
        if isinstance(welcome, str):
            problems.extend(Problem(f"{base}.welcome", m) for m in check_template(welcome))
    return problems


def _detect_format(path: Path) -> Format:
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return "yaml"
    if suffix == ".json":
        return "json"
    if suffix == ".toml":
        return "toml"
    raise RuleError([Problem("", f"{path.name!r}: expected a .yaml, .yml, .json or .toml file")])


class _ShapeError(yaml.YAMLError):
    """A YAML document the book loader refuses (duplicate key, nesting too deep)."""


class _BookLoader(yaml.SafeLoader):
    """PyYAML's SafeLoader, refusing duplicate keys (naming the key and both lines) and
    nesting deeper than MAX_BOOK_DEPTH (PyYAML composes recursively: a document nested
    a thousand deep would otherwise end in RecursionError)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_BOOK_DEPTH:
                line = self.peek_event().start_mark.line + 1  # type: ignore[no-untyped-call]
                raise _ShapeError(f"line {line}: {_TOO_DEEP}")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # '<<: *base' merges, and keys after it may override the base's
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                if key in first:
                    raise _ShapeError(f"line {line}: duplicate key {key!r} (first on line {first[key]})")
            except TypeError:  # an unhashable key: the base class says so
                continue
            first[key] = line
        return super().construct_mapping(node, deep)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def parse_text(text: str, fmt: Format, *, source: str | None = None) -> Any:
    """Parse YAML / JSON / TOML text into plain data; :class:`RuleError` on syntax errors,
    duplicate keys and nesting deeper than :data:`MAX_BOOK_DEPTH`."""
    try:
        if fmt == "yaml":
            return yaml.load(text, Loader=_BookLoader)  # a SafeLoader
        if fmt == "json":
            return json.loads(text, object_pairs_hook=_unique_keys)
        return tomllib.loads(text)
    except _ShapeError as exc:
        raise RuleError([Problem("", str(exc))], source=source) from None
    except (yaml.YAMLError, json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RuleError([Problem("", f"not valid {fmt.upper()}: {exc}")], source=source) from None
    except ValueError as exc:  # a duplicate JSON key
        raise RuleError([Problem("", f"not valid {fmt.upper()}: {exc}")], source=source) from None
    except RecursionError:
        raise RuleError(
            [Problem("", _TOO_DEEP)],
            source=source,
        ) from None


def load_rule_book(
    source: str | Path, *, format: Format | None = None, kinds: KindRegistry | None = None
) -> RuleBook:
    """Load and validate a rule book from a YAML, JSON or TOML file.

    ``format`` defaults to the file's suffix. Policies validate against ``kinds``:
    by default the built-in kinds and the kinds of installed plugins (``groupops``
    entry points, loaded by a fresh plugin manager at the first call). Raises
    :class:`RuleError` listing every problem, each with its path; an unknown policy
    ``type`` lists the known kinds.
    """
    path = Path(source)
    fmt = format or _detect_format(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleError([Problem("", f"cannot read {str(path)!r}: {exc.strerror}")]) from None
    registry = kinds if kinds is not None else installed_kinds()
    return RuleBook.load(parse_text(text, fmt, source=str(path)), source=str(path), kinds=registry)


def dump_rule_book(book: RuleBook, format: Literal["yaml", "json"] = "yaml") -> str:
    """The book as YAML or JSON text; :func:`load_rule_book` reads it back equal."""
    data = book.to_data()
    if format == "json":
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def rule_book_schema(kinds: KindRegistry | None = None) -> dict[str, Any]:
    """The JSON Schema of a rule book with ``kinds`` (default: the built-in kinds and
    those of installed plugins), for editors and other tools."""
    registry = kinds if kinds is not None else installed_kinds()
    schema = book_model(registry).model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "groupops rule book"
    return schema


_BUILTINS = KindRegistry(BUILTIN_KINDS)
_BUILTIN_KEY = _BUILTINS.key()
_MODELS: dict[Any, type[RuleBook]] = {}


def book_model(kinds: KindRegistry) -> type[RuleBook]:
    """The :class:`RuleBook` model whose ``policies`` are of ``kinds``: ``RuleBook``
    itself for the built-in kinds, else a subclass (one per set of kinds)."""
    key = kinds.key()
    if key == _BUILTIN_KEY:
        return RuleBook
    model = _MODELS.get(key)
    if model is None:
        policies: Any = tuple.__class_getitem__((policy_union(kinds), ...))
        model = create_model("RuleBook", __base__=RuleBook, __module__=__name__, policies=(policies, ()))
        model._placeholders = kinds.placeholders()
        model._kinds = kinds
        _MODELS[key] = model
    return model


def installed_kinds() -> KindRegistry:
    """The built-in kinds and those of installed plugins (``groupops`` entry points),
    found once per process by a fresh plugin manager."""
    global _INSTALLED
    if _INSTALLED is None:
        from ..plugins._manager import registered_kinds

        _INSTALLED = registered_kinds()
    return _INSTALLED


_INSTALLED: KindRegistry | None = None
