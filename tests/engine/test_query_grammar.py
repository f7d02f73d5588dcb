"""The query grammar's operators (AND, NOT, -, !) and every ambiguous form refused with its position (issue 20)."""

from __future__ import annotations

import pytest

from crashdesk.engine.query import (
    MAX_DEPTH,
    MAX_TERMS,
    MAX_VALUE_LENGTH,
    And,
    BadValueError,
    FullText,
    Not,
    Or,
    QueryError,
    QuerySyntaxError,
    QueryTooLargeError,
    Term,
    parse_query,
)


def test_explicit_and_means_the_same_as_juxtaposition():
    explicit = parse_query("product:Firefox AND os:Linux").root
    implicit = parse_query("product:Firefox os:Linux").root
    assert isinstance(explicit, And)
    assert [(t.field, t.value) for t in explicit.items] == [(t.field, t.value) for t in implicit.items]
    # AND binds tighter than OR, written or not
    root = parse_query("a AND b OR c").root
    assert isinstance(root, Or) and isinstance(root.items[0], And)


@pytest.mark.parametrize("query", ["NOT os:Linux", "-os:Linux", "!os:Linux", "os:!Linux"])
def test_not_minus_and_bang_negate_a_field_term(query):
    root = parse_query(query).root
    assert isinstance(root, Term) and root.negate and root.value == "Linux"


@pytest.mark.parametrize(("query", "inner"), [
    ("NOT crash", FullText), ("-crash", FullText), ('-"a phrase"', FullText), ("NOT (a OR b)", Or),
    ("-(a b)", And),
])
def test_negation_of_words_phrases_and_groups(query, inner):
    root = parse_query(query).root
    assert isinstance(root, Not) and isinstance(root.item, inner)
    assert root.pos == 0


def test_negated_term_is_listed_negated():
    parsed = parse_query("product:A NOT os:Linux")
    assert [(t.field, t.negate) for t in parsed.terms] == [("product", False), ("os", True)]


def test_balanced_parentheses_stay_in_a_value():
    assert parse_query("function:foo(int)").root.value == "foo(int)"
    root = parse_query("(function:foo(int) OR os:Linux)").root
    assert root.items[0].value == "foo(int)"


@pytest.mark.parametrize(("query", "error", "column"), [
    ("product:X)", QuerySyntaxError, 9),             # the ')' used to stay in the value
    ("product:Fire)fox", QuerySyntaxError, 12),
    ("crash)", QuerySyntaxError, 5),
    ("product:(Firefox OR Thunderbird)", QuerySyntaxError, 8),   # Lucene-style field group
    ("version:>=abc", BadValueError, 10),            # used to be accepted, ordering nothing
    ("module_version:<beta", BadValueError, 16),
    ("module:xul.dll@>=abc", BadValueError, 7),
    ("a and b", QuerySyntaxError, 2),                # lower-case operators are ambiguous
    ("a or b", QuerySyntaxError, 2),
    ("not crash", QuerySyntaxError, 0),
    ("AND a", QuerySyntaxError, 0),
    ("a AND", QuerySyntaxError, 2),
    ("a AND OR b", QuerySyntaxError, 2),
    ("a OR AND b", QuerySyntaxError, 2),
    ("(a AND)", QuerySyntaxError, 3),
    ("NOT", QuerySyntaxError, 0),
    ("a NOT", QuerySyntaxError, 2),
    ("NOT OR a", QuerySyntaxError, 0),
    ("(NOT)", QuerySyntaxError, 1),
    ("- crash", QuerySyntaxError, 0),
    ("crash !", QuerySyntaxError, 6),
    ("NOT NOT crash", QuerySyntaxError, 4),
    ("--crash", QuerySyntaxError, 1),
    ("NOT -os:Linux", QuerySyntaxError, 4),
    ("-!os:Linux", QuerySyntaxError, 1),
    ("version:>=120 <130", QuerySyntaxError, 14),   # the second bound lost its field
    (":Firefox", QuerySyntaxError, 0),
    ("signature:x =y", QuerySyntaxError, 12),
])
def test_ambiguous_forms_are_errors_with_their_position(query, error, column):
    with pytest.raises(error) as info:
        parse_query(query)
    assert info.value.position == column, str(info.value)
    assert f"column {column + 1}" in str(info.value)


def test_quoting_searches_operator_words_and_parentheses_literally():
    root = parse_query('"and" product:"X)" signature:"(anonymous namespace)::f"').root
    assert isinstance(root, And)
    assert root.items[0] == FullText("and", True, 0, 5)
    assert [t.value for t in root.items[1:]] == ["X)", "(anonymous namespace)::f"]


# ------------------------------------------------------------------------------------------ bounds (issue 19 #13)


def test_nesting_is_bounded_with_the_position_of_the_first_group_too_deep():
    ok = "(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH
    assert parse_query(ok).root == FullText("a", False, MAX_DEPTH, MAX_DEPTH + 1)
    for depth in (MAX_DEPTH + 1, 400, 5000):
        with pytest.raises(QueryTooLargeError) as info:
            parse_query("(" * depth + "a" + ")" * depth)
        assert info.value.position == MAX_DEPTH


def test_term_count_is_bounded_at_the_first_term_over():
    words = [f"w{i}" for i in range(MAX_TERMS)]
    assert len(parse_query(" OR ".join(words)).root.items) == MAX_TERMS
    query = " ".join(f"product:p{i}" for i in range(1000))
    with pytest.raises(QueryTooLargeError) as info:
        parse_query(query)
    assert info.value.position == query.index(f"product:p{MAX_TERMS}")


@pytest.mark.parametrize("template", ["signature:{}", 'signature:"{}"', "{}", '"{}"', "ann.URL:~{}"])
def test_value_length_is_bounded(template):
    assert parse_query(template.format("x" * MAX_VALUE_LENGTH)).root is not None
    query = template.format("x" * 100_000)
    with pytest.raises(QueryTooLargeError) as info:
        parse_query(query)
    assert 0 <= info.value.position < len(template)
    assert "100,000 characters" in str(info.value)


def test_bound_errors_are_query_errors():
    assert issubclass(QueryTooLargeError, QueryError)
