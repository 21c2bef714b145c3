"""The message catalogue (issue 17, item 2): one place for every word, every id in every
locale with the same placeholders, one fallback rule, and a locale added in one place."""

import re
import string
from pathlib import Path

import pytest
import yaml

import groupops as go
from groupops import _i18n
from groupops._i18n import Messages, locales, messages, pick, plural_form, text
from groupops.rules import _book
from groupops.rules._book import installed_kinds

SRC = Path(go.__file__).parent
_FORMATTER = string.Formatter()

# ids whose locales word one fact from different values, each with its reason
_DIFFERENT_PLACEHOLDERS = {
    # English counts the reminders after the first invitation ("reminder 1 of 1"),
    # Chinese counts the invitations ("第 2 次邀请，共 2 次")
    "admission.invitation.reminder",
}


def _catalogue(locale):
    return yaml.safe_load((SRC / "locales" / f"{locale}.yaml").read_text(encoding="utf-8"))


def _placeholders(message):
    return {field for _, field, _, _ in _FORMATTER.parse(message) if field is not None}


def test_the_catalogue_ships_english_and_chinese():
    assert locales() == ("en", "zh")
    assert len(_catalogue("en")) > 400


@pytest.mark.parametrize("locale", locales())
def test_every_id_has_every_locale(locale):
    english, other = set(_catalogue("en")), set(_catalogue(locale))
    assert sorted(english - other) == [], f"{locale}.yaml lacks these ids"
    assert sorted(other - english) == [], f"{locale}.yaml has ids English does not"


@pytest.mark.parametrize("locale", locales())
def test_every_locale_has_the_same_placeholders(locale):
    english, other = _catalogue("en"), _catalogue(locale)
    differ = {
        key: (sorted(_placeholders(english[key])), sorted(_placeholders(other[key])))
        for key in english
        if key in other
        and key not in _DIFFERENT_PLACEHOLDERS
        and _placeholders(english[key]) != _placeholders(other[key])
    }
    assert differ == {}


def test_the_exceptions_to_equal_placeholders_are_still_exceptions():
    # an entry that comes back in line must leave the list, so the list stays honest
    for key in _DIFFERENT_PLACEHOLDERS:
        assert _placeholders(_catalogue("en")[key]) != _placeholders(_catalogue("zh")[key])


def test_no_entry_is_duplicated_word_for_word():
    # a word said the same in every locale belongs under one id, used wherever it is said
    seen: dict[tuple[str, ...], str] = {}
    twins = []
    tables = [_catalogue(locale) for locale in locales()]
    for key in tables[0]:
        words = tuple(table[key] for table in tables)
        if words in seen:
            twins.append((seen[words], key))
        seen.setdefault(words, key)
    # labels that are a kind's name and an action's name at once, and words that happen to
    # match but name different things (a health state and a role bucket), are not twins
    allowed = {
        ("composition.bucket.active", "report.active"),
        ("health.state.active", "report.active"),
        ("health.group_dormant.label", "health.state.dormant"),
        ("health.group_dead.label", "health.state.dead"),
        ("composition.bucket.guests", "report.guests"),
        ("composition.bucket.lecturers", "report.lecturers"),
        ("composition.bucket.kols", "report.kols"),
        ("explain.event.violation", "policy_type.violation"),
    }
    assert [pair for pair in twins if tuple(sorted(pair)) not in allowed] == []


def _literal_ids():
    """Every message id the source names literally: text("..."), messages("..."), ..."""
    pattern = re.compile(
        r'\b(?:text|_t|i18n_text|messages|_known|catalogued_action)\(\s*f?"([a-z_][a-z0-9_.]*)"'
    )
    found = {}
    for path in SRC.rglob("*.py"):
        for match in pattern.finditer(path.read_text(encoding="utf-8")):
            if "." in match.group(1):
                found.setdefault(match.group(1), path.name)
    return found


def test_every_id_the_code_names_is_in_the_catalogue():
    english = _catalogue("en")
    named = _literal_ids()
    assert len(named) > 50
    assert {key: where for key, where in named.items() if key not in english} == {}


@pytest.mark.parametrize("locale", locales())
def test_every_built_in_action_has_its_words_in_every_locale(locale):
    for kind in installed_kinds():
        if isinstance(kind.label, Messages):
            assert kind.label[locale]
        for action in kind.actions:
            if isinstance(action.templates, Messages):
                assert action.templates[locale], (kind.name, action.name)
            if isinstance(action.labels, Messages):
                assert action.labels[locale], (kind.name, action.name)


def test_text_fills_values_and_leaves_templates_alone():
    assert text("cli.run_none", "en", at="2026-01-01") == "Nothing due at 2026-01-01."
    assert text("cli.run_none", "zh", at="2026-01-01") == "2026-01-01 没有到期的决定。"
    # a message template is returned as written: its renderer, not str.format, fills it
    assert "{member.name}" in text("eviction.notice", "en")


def test_the_fallback_is_the_locale_then_its_language_then_english():
    assert text("word.group", "zh-TW") == text("word.group", "zh") == "群"
    assert text("word.group", "zh_Hant") == "群"
    assert text("word.group", "ja") == "group"
    assert pick({"en": "hello", "zh": "你好"}, "zh-TW") == "你好"
    assert pick({"en": "hello"}, "zh") == "hello"
    assert pick({"zh": "你好"}, "fr") is None


def test_a_missing_id_is_an_error_that_names_it():
    with pytest.raises(KeyError, match=r"no message 'cli\.no_such_word' in the catalogue \(locale 'zh'"):
        text("cli.no_such_word", "zh")
    with pytest.raises(KeyError):
        messages("kind.no_such")["en"]


def test_plural_forms():
    assert plural_form(1) == plural_form("1") == "one"
    assert plural_form(0) == plural_form(2) == plural_form("1.5") == "other"
    assert text("duration.d.one", "en", n=1) == "1 day"
    assert text("duration.d.other", "en", n=3) == "3 days"


def test_a_catalogue_entry_reads_as_a_mapping_of_locales():
    notice = messages("eviction.notice")
    assert set(notice) == set(locales())
    assert len(notice) == len(locales())
    assert notice["zh"] == _catalogue("zh")["eviction.notice"]
    assert notice == messages("eviction.notice") and hash(notice) == hash(messages("eviction.notice"))
    assert notice != messages("eviction.evict")
    assert repr(notice) == "messages('eviction.notice')"
    with pytest.raises(KeyError):
        notice["ja"]


def test_a_catalogue_file_that_is_not_a_mapping_of_texts_is_refused(monkeypatch, tmp_path):
    class _Files:
        def __init__(self, text):
            self._text = text

        def __truediv__(self, _):
            return self

        def read_text(self, encoding):
            return self._text

    _i18n._catalogue.cache_clear()
    try:
        monkeypatch.setattr(_i18n.resources, "files", lambda _: _Files("- a list\n"))
        with pytest.raises(ValueError, match=r"locales/xx\.yaml: expected a mapping"):
            _i18n._catalogue("xx")
        monkeypatch.setattr(_i18n.resources, "files", lambda _: _Files("cli.task: 3\n"))
        with pytest.raises(ValueError, match=r"locales/xy\.yaml: 'cli\.task': 3 is not a text"):
            _i18n._catalogue("xy")
    finally:
        _i18n._catalogue.cache_clear()


@pytest.fixture
def japanese(monkeypatch):
    """A third locale, as a contributor adds it: one more catalogue file (here, only a few
    of its ids: the rest fall back to English)."""
    real = _i18n._catalogue
    ja = {
        "word.group": "グループ",
        "eviction.notice": "{member.name}さん、{group.name}から外れる恐れがあります。",
    }
    monkeypatch.setattr(_i18n, "locales", lambda: ("en", "ja", "zh"))
    monkeypatch.setattr(_book, "locales", _i18n.locales)
    monkeypatch.setattr(_i18n, "_catalogue", lambda locale: ja if locale == "ja" else real(locale))
    return ja


def test_a_locale_added_to_the_catalogue_reaches_the_kinds_and_the_book(japanese):
    assert text("word.group", "ja") == "グループ"
    assert text("word.member", "ja") == "member"  # not translated yet: English
    notice = installed_kinds().action("notice")
    assert notice is not None and notice.template("ja") == japanese["eviction.notice"]
    book = go.RuleBook.load({"locale": "ja", "groups": [{"id": "g"}]})
    assert book.locale == "ja"


def test_a_book_in_a_locale_the_catalogue_lacks_is_refused():
    with pytest.raises(go.RuleError, match=r"locale: .*'ja' is not a locale of the message catalogue"):
        go.RuleBook.load({"locale": "ja", "groups": [{"id": "g"}]})
    assert go.rule_book_schema()["properties"]["locale"]["enum"] == ["en", "zh"]
