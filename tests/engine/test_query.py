"""The query language parser: AST shape, defaults from cli-conventions.md, and typed errors with positions."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crashdesk.engine.query import (
    FIELDS,
    And,
    BadOperatorError,
    BadValueError,
    DateValue,
    FullText,
    Or,
    QueryError,
    QuerySyntaxError,
    Term,
    UnbalancedQuoteError,
    UnknownFieldError,
    parse_query,
)
from crashdesk.errors import CrashDeskError


def one(query: str) -> Term:
    root = parse_query(query).root
    assert isinstance(root, Term), root
    return root


def test_empty_query_has_no_root():
    assert parse_query("").root is None
    assert parse_query("   ").root is None


@pytest.mark.parametrize("name", ["product", "version", "os", "cpu", "source", "state", "module", "build_id",
                                  "channel"])
def test_keyword_fields_default_to_exact(name):
    term = one(f"{name}:Value")
    assert (term.op, term.value, term.explicit, term.negate) == ("=", "Value", False, False)


@pytest.mark.parametrize("name", ["signature", "function", "reason", "ann.URL"])
def test_text_fields_default_to_contains(name):
    term = one(f"{name}:Value")
    assert (term.op, term.value) == ("~", "Value")


@pytest.mark.parametrize(("spec", "op", "negate"), [
    ("=x", "=", False), ("~x", "~", False), ("^x", "^", False), ("$x", "$", False),
    ("!x", "~", True), ("!~x", "~", True), ("!=x", "=", True), ("!^x", "^", True), ("!$x", "$", True),
])
def test_string_operators_and_negation(spec, op, negate):
    term = one(f"signature:{spec}")
    assert (term.op, term.negate, term.value) == (op, negate, "x")


@pytest.mark.parametrize("op", [">", ">=", "<", "<="])
def test_ordering_operators_on_versions_numbers_and_dates(op):
    assert one(f"version:{op}120.0.1").op == op
    assert one(f"build_id:{op}20240101000000").op == op
    term = one(f"date:{op}2024-10-15")
    assert term.op == op and term.value.day


def test_quoted_values_keep_spaces_and_escapes():
    term = one(r'signature:"OOM | small \"x\" \\"')
    assert term.value == 'OOM | small "x" \\'
    term = one('signature:!="a b"')
    assert (term.op, term.negate, term.value) == ("=", True, "a b")


def test_positions_cover_each_term():
    q = 'product:Firefox  ann.URL:~"example.com/x y" nsThread'
    root = parse_query(q).root
    assert isinstance(root, And)
    spans = [q[item.pos:item.end] for item in root.items]
    assert spans == ["product:Firefox", 'ann.URL:~"example.com/x y"', "nsThread"]


def test_bare_words_and_phrases_are_full_text():
    root = parse_query('nsThread "OOM | small" nsThread::Run').root
    assert isinstance(root, And)
    assert [(i.text, i.phrase) for i in root.items] == [("nsThread", False), ("OOM | small", True),
                                                         ("nsThread::Run", False)]
    assert all(isinstance(i, FullText) for i in root.items)


def test_or_and_parentheses():
    root = parse_query("product:Firefox (os:Linux OR os:Windows) OR crash").root
    assert isinstance(root, Or)
    left, right = root.items
    assert isinstance(left, And) and isinstance(left.items[1], Or)
    assert [t.value for t in left.items[1].items] == ["Linux", "Windows"]
    assert isinstance(right, FullText)


def test_closing_parenthesis_after_a_bare_value_closes_the_group():
    root = parse_query("(signature:foo(bar) OR os:Linux)").root
    assert isinstance(root, Or)
    assert root.items[0].value == "foo(bar)" and root.items[1].value == "Linux"


def test_annotation_keys_keep_their_case_and_punctuation():
    term = one("ann.Add-ons:formautofill")
    assert term.annotation_key == "Add-ons" and term.field == "ann.Add-ons"


def test_module_with_version_ties_both_to_one_module():
    term = one("module:xul.dll@>=120.0")
    assert (term.field, term.value, term.module_version) == ("module", "xul.dll", (">=", "120.0"))
    assert one("module:xul.dll@120.0").module_version == ("=", "120.0")
    assert one("module:xul.dll").module_version is None


def test_dates_relative_and_absolute():
    term = one("date:>=7d")
    assert term.value == DateValue(age=dt.timedelta(days=7)) and term.op == ">="
    assert one("date:24h").op == ">="  # an age without operator means "within the last 24 hours"
    assert one("processed:<2w").value.age == dt.timedelta(weeks=2)
    term = one("date:>2024-10-15T11:00:00+02:00")
    assert term.value.absolute == dt.datetime(2024, 10, 15, 9, 0, tzinfo=dt.UTC)
    assert one("date:>=2024-10-15T11:00:00").value.absolute.tzinfo == dt.UTC  # naive = UTC


def test_prefix_negation_of_a_whole_term():
    term = one("!os:Linux")
    assert term.negate and term.value == "Linux"
    assert not one("-signature:!~x").negate  # two negations cancel


def test_null_value():
    term = one("product:__null__")
    assert term.op == "null" and term.value is None
    assert one("ann.URL:!__null__").negate


def test_aliases_map_to_fields():
    assert one("platform:Linux").field == "os"
    assert one("uuid:abc").field == "crash_id"


@pytest.mark.parametrize(("query", "error", "column"), [
    ("foo:bar", UnknownFieldError, 0),
    ("product:Firefox sgnature:x", UnknownFieldError, 16),
    ("signature:>x", BadOperatorError, 10),
    ("product:!<=x", BadOperatorError, 9),
    ("date:~7d", BadOperatorError, 5),
    ("version:=>120", BadOperatorError, 8),
    ('signature:"OOM | small', UnbalancedQuoteError, 10),
    ('crash "abc', UnbalancedQuoteError, 6),
    ("date:>=yesterday", BadValueError, 7),
    ("build_id:>abc", BadValueError, 10),
    ("product:", QuerySyntaxError, 8),
    ("product:>", QuerySyntaxError, 9),
    ("(os:Linux", QuerySyntaxError, 0),
    ("os:Linux )", QuerySyntaxError, 9),
    ("OR os:Linux", QuerySyntaxError, 0),
    ("os:Linux OR", QuerySyntaxError, 9),
    ("()", QuerySyntaxError, 0),
    ("module:@120", BadValueError, 7),
])
def test_errors_are_typed_and_carry_the_position(query, error, column):
    with pytest.raises(error) as info:
        parse_query(query)
    assert info.value.position == column
    assert isinstance(info.value, CrashDeskError)
    assert f"column {column + 1}" in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_field_error_names_the_field_and_lists_known_ones():
    with pytest.raises(UnknownFieldError) as info:
        parse_query("sgnature:x")
    assert info.value.field == "sgnature"
    assert "signature" in str(info.value) and "ann.KEY" in str(info.value)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list('ab :!~^$<>=()"\\.@-_') + ["OR", "date", "ann.", "7d", *FIELDS]),
                max_size=20).map("".join))
def test_any_input_parses_or_raises_a_query_error(text):
    try:
        parsed = parse_query(text)
    except QueryError as exc:
        assert 0 <= exc.position <= len(text)
    else:
        assert parsed.text == text
