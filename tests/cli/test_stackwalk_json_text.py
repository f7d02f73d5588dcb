"""``stackwalk --json``'s text: the document written as serde_json writes it (keys sorted, compact, non-ASCII as
is). The command writes an ASCII-only document through the C encoder's faster ``ensure_ascii`` path and any other
document again without it; the text must not depend on which path it took."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from crashdesk.cli.cmd_stackwalk import _dumps_json

# Text near the boundaries that matter: ASCII, DEL (escaped only with ensure_ascii), control characters, a
# backslash followed by "u", non-ASCII, astral (surrogate pairs when escaped), lone surrogates.
_TEXT = st.text(alphabet=st.one_of(st.characters(max_codepoint=0x7F), st.sampled_from("\\u\x7f\x00\x1f\u00e9\u4e2d\U0001f600"),
                                   st.characters(min_codepoint=0x80)), max_size=12)  # fmt: skip
_DOCS = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), _TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_TEXT, inner, max_size=4)),
    max_leaves=20,
)


def _serde_text(doc) -> str:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


@settings(max_examples=400, deadline=None)
@given(_DOCS)
def test_compact_text_is_the_same_whichever_encoder_wrote_it(doc) -> None:
    assert _dumps_json(doc, pretty=False) == _serde_text(doc)


def test_ascii_and_non_ascii_documents() -> None:
    for doc in ({"a": "plain", "b": [1, 2]}, {"module": "c:\\users\\w\\app.exe"}, {"f": "caf\u00e9"},
                {"k\u4e2d": "\x7f"}, {"x": "\\u0041"}, {"emoji": "\U0001f600"}):  # fmt: skip
        assert _dumps_json(doc, pretty=False) == _serde_text(doc)
        assert _dumps_json(doc, pretty=True) == json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True)
