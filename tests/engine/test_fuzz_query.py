"""Fuzz target for the query language (issue 19): queries built from the grammar's pieces, well-formed and not,
against the parser and a real store. Each either answers or raises a QueryError whose position lies inside the
query; never another exception (no RecursionError, no SQLite error), whatever the nesting, count or length.
The example count is bounded so the suite and CI run it every time."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crashdesk.engine.query import FIELDS, MAX_DEPTH, MAX_TERMS, MAX_VALUE_LENGTH, QueryError, parse_query

VALUES = st.one_of(
    st.sampled_from(["Firefox", "120.0", ">=120", "<9", "~tile", "^ns", "$Run", "!x", "__null__", "7d",
                     ">=2024-10-15", "xul.dll@>=1", "foo(int)", "a)", "(b", "", "!", "=>1", "é", "\\", "::"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12),
    st.integers(0, 3).map(lambda k: "v" * (MAX_VALUE_LENGTH - 1 + k)),   # around the length bound
)
FIELD_NAMES = st.sampled_from([*FIELDS, "ann.URL", "ann.X", "platform", "uuid", "nosuch", "ann."])


@st.composite
def terms(draw):
    kind = draw(st.integers(0, 4))
    if kind == 0:
        return f"{draw(FIELD_NAMES)}:{draw(VALUES)}"
    if kind == 1:
        value = draw(VALUES).replace("\\", "\\\\").replace('"', '\\"')
        return f'{draw(FIELD_NAMES)}:{draw(st.sampled_from(["", "!", "~", "!="]))}"{value}"'
    if kind == 2:
        return draw(st.sampled_from(["crash", "tile_blit", "AND", "OR", "NOT", "and", "-", "!", "x*", "NEAR"]))
    if kind == 3:
        return '"' + draw(VALUES).replace('"', "") + '"'
    return draw(st.sampled_from(["-", "!", "NOT "])) + draw(st.sampled_from(["os:Linux", "crash", '"a b"']))


def _join(parts: list[str], ops: list[str]) -> str:
    out = parts[0]
    for part, op in zip(parts[1:], ops, strict=False):
        out += op + part
    return out


queries = st.recursive(
    terms(),
    lambda inner: st.one_of(
        st.tuples(st.lists(inner, min_size=2, max_size=4),
                  st.lists(st.sampled_from([" ", " AND ", " OR ", " NOT ", "  "]), min_size=3, max_size=3))
        .map(lambda t: _join(*t)),
        st.tuples(st.sampled_from(["(", "NOT (", "-(", "(("]), inner, st.sampled_from([")", "", "))"]))
        .map("".join),
    ),
    max_leaves=12,
)

# runaway sizes around each bound
HUGE = st.one_of(
    st.integers(MAX_DEPTH - 1, MAX_DEPTH + 400).map(lambda d: "(" * d + "x" + ")" * d),
    st.integers(MAX_TERMS - 1, MAX_TERMS + 800).map(lambda n: " OR ".join(f"product:p{i}" for i in range(n))),
    st.integers(MAX_TERMS - 1, MAX_TERMS + 800).map(lambda n: " ".join(["-w"] * n)),
    st.integers(1, 100_000).map(lambda n: "signature:~" + "y" * n),
    st.integers(1, 3000).map(lambda n: "NOT (" * n + "x" + ")" * n),
)


def _check_parse(text: str):
    try:
        return parse_query(text)
    except QueryError as exc:
        assert 0 <= exc.position <= len(text), (text[:80], exc)
        assert "\n" not in str(exc)
        return None


@settings(max_examples=400, deadline=None)
@given(queries)
def test_fuzz_parser(text):
    parsed = _check_parse(text)
    if parsed is not None:
        assert parsed.text == text


@settings(max_examples=60, deadline=None)
@given(HUGE)
def test_fuzz_parser_at_the_bounds(text):
    _check_parse(text)


@pytest.fixture(scope="module")
def fuzz_store(tmp_path_factory, request):
    import json

    from crashdesk.store import CrashStore
    from crashdesk.store.crashes import SignatureRecord

    folder = request.config.rootpath / "tests" / "data" / "crashes" / "01-null-deref"
    store = CrashStore.open(tmp_path_factory.mktemp("fuzz-store"))
    crash_id = store.add_crash(json.loads((folder / "annotations.json").read_text()),
                               {"upload_file_minidump": (folder / "dump.dmp").read_bytes()}, source="import")
    store.save_processed(crash_id, json.loads((folder / "expected.json").read_text()),
                         signature=SignatureRecord("tile_blit | main", profile="test"))
    yield store
    store.close()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(queries, HUGE))
def test_fuzz_store_search(fuzz_store, text):
    try:
        result = fuzz_store.search(text, facets=["signature", "module"], limit=3)
    except QueryError as exc:
        assert 0 <= exc.position <= len(text)
        return
    assert 0 <= len(result.hits) <= min(result.total, 3)


@pytest.mark.parametrize("text", ["trend:Firefox", "trend:__null__", "trend:~spi", "product:x OR trend:>=2"])
def test_a_bad_trend_value_is_a_query_error_with_its_column(fuzz_store, text):
    """Found by test_fuzz_store_search: ``trend:`` with anything but ``spike`` was a BadSearchRequest from the
    SQL compiler (no column) instead of the parser's QueryError pointing at the value."""
    with pytest.raises(QueryError) as caught:
        fuzz_store.search(text, facets=["signature"], limit=3)
    assert text.index("trend:") + len("trend:") <= caught.value.position <= len(text)
