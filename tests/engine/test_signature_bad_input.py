"""Bad input never raises: huge stacks, absurd lengths, unicode, wrong types, odd containers.

Expected values are siggen's on the same input (the reference implementation, a CrashDesk dependency).
"""

from __future__ import annotations

import copy

import pytest
import siggen.generator as siggen_generator

from crashdesk.engine.signature import SignatureGenerator, generic_profile, mozilla_profile


@pytest.fixture(scope="module")
def both():
    return siggen_generator.SignatureGenerator(), SignatureGenerator(mozilla_profile())


def _frames(functions):
    return {"crashing_thread": 0, "threads": [{"frames": [{"function": f} for f in functions]}]}


CASES = {
    "huge_stack": _frames([f"ns::f{i}(int)" for i in range(20000)]),
    "huge_prefix_chain": _frames(["malloc"] * 30 + ["memcpy"] * 30 + ["app::real"]),
    "absurd_symbol": _frames(["a" * 300000 + "<" * 5000 + "(" * 5000]),
    "absurd_template_nesting": _frames(["f" + "<" * 20000 + ">" * 20000 + "::g(int)"]),
    "long_signature_truncated": _frames(["malloc"] + ["x" * 300]),
    "unicode": _frames(["日本語::関数(int)", "e\u0301t\u00e9::f", "😀::g"]),
    "whitespace_zoo": _frames(["\u3000f\u2028g\x85h\t"]),
    "control_chars": _frames(["\x00\x01f\x7f"]),
    "function_number": _frames([123]),
    "function_list": _frames([["a"]]),
    "function_empty_after_qualifier": _frames(["const"]),
    "frames_none": {"threads": [{"frames": None}]},
    "frames_dict": {"threads": [{"frames": {"a": 1}}]},
    "thread_none": {"threads": [None]},
    "threads_string": {"threads": "abc"},
    "threads_dict_keys": {"crashing_thread": 1, "threads": {"1": {"frames": [{"function": "f"}]}}},
    "negative_thread": {"crashing_thread": -1, "threads": [{"frames": [{"function": "a"}]},
                                                           {"frames": [{"function": "b"}]}]},
    "thread_out_of_range": {"crashing_thread": 99, "threads": [{"frames": [{"function": "a"}]}]},
    "crash_data_list": [1, 2, 3],
    "crash_data_none": None,
    "crash_data_string": "crash",
    "inlines_garbage": {"threads": [{"frames": [{"function": "f", "inlines": 5}]}]},
    "unloaded_dict": {"threads": [{"frames": [{"unloaded_modules": {"m": 1}}]}]},
    "offset_weird": {"threads": [{"frames": [{"offset": "0X1F"}, {"offset": 16}, {"offset": "zz"}]}]},
    "oom_garbage": {"oom_allocation_size": "abc", "threads": [{"frames": [{"function": "f"}]}]},
    "async_not_object": {"async_shutdown_timeout": "[1]", "threads": [{"frames": [{"function": "f"}]}]},
    "async_deep": {"async_shutdown_timeout": "[" * 100000, "threads": [{"frames": [{"function": "f"}]}]},
    "abort_list": {"abort_message": ["x", "é", 5], "threads": [{"frames": [{"function": "f"}]}]},
    "java_none_frames": {"java_exception": {"exception": {"values": [{"stacktrace": {"frames": [None]}}]}}},
    "java_unicode": {"java_stack_trace": "java.lang.Ex: ü\u2028at a.b(C.java:1)"},
    "hang_list": {"hang": [1], "threads": [{"frames": []}]},
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_graceful_result_as_siggen(both, name):
    reference, ours = both
    crash = CASES[name]
    expected = reference.generate(copy.deepcopy(crash))
    got = ours.generate(crash)
    assert got.signature == expected.signature
    assert got.notes == expected.notes
    assert len(got.signature) <= 255
    # explanations and the generic profile must cope with the same input
    assert ours.generate(crash, explain=True).signature == expected.signature
    SignatureGenerator(generic_profile()).generate(crash, explain=True)


def test_stackwalk_input_with_garbage_never_raises():
    gen = SignatureGenerator(mozilla_profile())
    for stackwalk in (None, 5, "x", [], {"threads": 5}, {"crash_info": [], "threads": [None]},
                      {"crash_info": {"crashing_thread": "zz"}, "threads": [{"frames": [{"function": 7}]}]}):
        for annots in (None, [], {"OOMAllocationSize": "1e99"}, {"JavaException": "{bad"},
                            {"additional_minidumps": 5}):
            result = gen.generate_from({"stackwalk": stackwalk, "annotations": annots})
            assert isinstance(result.signature, str)
