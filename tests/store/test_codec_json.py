"""codec.dumps: every document the store keeps is compact JSON the json module reads back as it was."""

import json

from hypothesis import given
from hypothesis import strategies as st

from crashdesk.store import codec

scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text() | st.floats(allow_nan=False,
                                                                                            allow_infinity=False)
documents = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.text(max_size=8) | st.integers(-5, 5), inner, max_size=4), max_leaves=20)


def _plain(value):
    """What a JSON reader gives back for ``value`` (dictionary keys become strings)."""
    return json.loads(json.dumps(value))


@given(documents)
def test_dumps_reads_back_as_the_json_module_writes_it(doc):
    # string keys (orjson's fast path), integer keys (orjson's option) and integers past 64 bits (the json
    # module) must all come out as JSON equal to the json module's own
    assert json.loads(codec.dumps(doc)) == _plain(doc)
    assert codec.loads(codec.dumps(doc)) == _plain(doc)


def test_dumps_takes_each_path():
    assert codec.dumps({"a": [1, "x"]}) == b'{"a":[1,"x"]}'
    assert codec.dumps({1: "a"}) == b'{"1":"a"}'  # a non-string key
    assert json.loads(codec.dumps({"big": 2**70, 3: None})) == {"big": 2**70, "3": None}


def test_integers_past_64_bits_read_back_exactly():
    # orjson alone reads these as floats (found by the test above: -2**63 - 1 came back as -9.223372036854776e18)
    for value in (-(2**63) - 1, 2**64, 2**64 + 1, -(10**30) - 7, {"a": [2**70 + 3, {"b": -(2**65) - 1}]}):
        assert codec.loads(codec.dumps(value)) == value
        assert codec.unpack(codec.pack(value)) == value
    assert codec.loads(codec.dumps(2**63)) == 2**63  # within orjson's range: its own fast path
