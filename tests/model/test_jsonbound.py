"""model.jsonbound: untrusted JSON is parsed with a bound on nesting, and nothing deeper is handed on."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crashdesk.model.jsonbound import MAX_DEPTH, JsonTooDeep, loads, nests_deeper_than

values = st.recursive(st.none() | st.integers() | st.text(max_size=4),
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner,
                                                                                  max_size=3),
                      max_leaves=40)


def depth(value) -> int:
    """The definition: a scalar is level 0, a list or dict one more than its deepest member."""
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


@given(values, st.integers(0, 12))
def test_nests_deeper_than_follows_the_definition(value, bound):
    assert nests_deeper_than(value, bound) == (depth(value) > bound)


@pytest.mark.parametrize("opener, closer", [(b"[", b"]"), (b'{"a":', b"}")])
def test_loads_takes_the_bound_and_refuses_one_level_more(opener, closer):
    def nested(n: int) -> bytes:
        return opener * n + b"1" + closer * n if opener != b"[" else opener * n + closer * n

    assert depth(loads(nested(MAX_DEPTH))) == MAX_DEPTH
    with pytest.raises(JsonTooDeep):
        loads(nested(MAX_DEPTH + 1))
    with pytest.raises(JsonTooDeep):  # past the interpreter's recursion limit: a typed error, not a crash
        loads(nested(100_000))


def test_loads_gives_what_the_json_module_gives():
    doc = {"a": [1, {"b": None, "c": "\u00e9\U0001f600"}], "d": 1.5, "e": 10**30}
    assert loads(json.dumps(doc)) == doc
