"""Differential tests: CrashDesk against the installed reference implementation (siggen) on generated input.

Expected values come from siggen itself, run on the same input; the generated frames mix real-looking C++,
Rust and module names with bracket soup, qualifiers, odd types and special-rule fields.
"""

from __future__ import annotations

import copy

import pytest
import siggen.generator as siggen_generator  # the reference implementation (a CrashDesk dependency)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crashdesk.engine.signature import SignatureGenerator, mozilla_profile

SYMBOL_PARTS = [
    "mozilla::", "js::", "std::", "alloc::", "core::panicking::", "ns", "Foo", "Bar", "::", "operator", "operator<",
    "operator()", "operator new", "<", ">", "(", ")", "[", "]", " ", ",", "*", "&", "const", " const&", "&&",
    "`anonymous namespace'", "(anonymous namespace)", "$_3::", " [clone .cold.1]", " [clone .isra.0]",
    " as ", "name omitted", "IPC::ParamTraits", " in ", "::h0123abcd", "js_Interpret", "RunWatchdog",
    "NS_ABORT_OOM", "malloc", "memcpy", "_purecall", "KiFastSystemCallRet", "static void * ", "é", "\u3000", "\t",
    "{", "}", "'", "`",
]
ODD = st.sampled_from([None, 0, 1, 1.5, True, "", [], ["x"], {}, {"a": 1}, "0x10", "zz"])
symbols = st.lists(st.sampled_from(SYMBOL_PARTS), min_size=0, max_size=8).map("".join)
files = st.sampled_from([None, "", "/src/a.rs", "C:\\src\\b.rs", "git:github.com/r:src/libcore/panicking.rs:1",
                         "hg:h:src/libstd/panicking.rs:2", "rel/c.rs", "/src/x.cpp", "dir\\", "/"])
modules = st.sampled_from([None, "", "xul.dll", "XUL.DLL", "XUL", "libxul.so", "libc.so.6", "[vdso]", "app"])
offsets = st.sampled_from([None, "", "0x0", "0x00000abc", "40", " 40 ", "zz", "-0x10", 16])


@st.composite
def frames(draw, inline=False):
    frame = {}
    if draw(st.booleans()):
        frame["function"] = draw(st.one_of(symbols, symbols, ODD))
    if draw(st.booleans()):
        frame["file"] = draw(st.one_of(files, ODD) if draw(st.integers(0, 9)) == 0 else files)
    if draw(st.booleans()):
        frame["line"] = draw(st.sampled_from([0, 1, 42, None, "7", 12.0]))
    if inline:
        return frame
    frame["module"] = draw(st.one_of(modules, ODD) if draw(st.integers(0, 9)) == 0 else modules)
    frame["offset"] = draw(offsets)
    if draw(st.integers(0, 9)) == 0:
        frame["unloaded_modules"] = draw(st.sampled_from([[{"module": "u.dll"}], [{}], [{"module": 5}], {"a": 1}]))
    if draw(st.integers(0, 5)) == 0:
        frame["inlines"] = draw(st.lists(frames(inline=True), max_size=3))
    return frame


@st.composite
def crashes(draw):
    n_threads = draw(st.integers(1, 3))
    crash = {
        "threads": [{"frames": draw(st.lists(frames(), max_size=12))} for _ in range(n_threads)],
        "crashing_thread": draw(st.sampled_from([0, 1, 2, -1, None, "1", "abc", 1.9, True, 7])),
    }
    optional = {
        "os": ["Windows NT", "Linux", "windows nt"],
        "reason": ["EXCEPTION_STACK_OVERFLOW", "x STATUS_DEVICE_DATA_ERROR", "STATUS_NO_MEMORY", 5],
        "oom_allocation_size": [1, 262144, 262145, "abc", " 500 ", [1], True],
        "js_large_allocation_failure": ["Reporting", "Reported"],
        "abort_message": ["###!!! ABORT: file x", "###!!! ABORT: boom: file a.cpp:1", "é\tbad", "x" * 100, 5,
                          ["x"]],
        "async_shutdown_timeout": ['{"phase":"p","conditions":[{"name":"b"},"a"]}', "{bad", "[1]", 5],
        "ipc_channel_error": ["ShutDownKill", "y" * 150, ["a"], 5],
        "additional_minidumps": [["upload_file_minidump_browser"], 5],
        "ipc_message_name": ["PContent::Msg", 5],
        "hang": [0, 1, "", True, "ui"],
        "mdsw_status_string": ["OK", 5],
        "java_stack_trace": ["java.lang.Ex: boom @0123abcd\n\tat a.b(C.java:12)", "NoColon", " ", 5],
        "java_exception": [{"exception": {"values": [{"stacktrace": {"type": "T", "frames": [{"module": "m"}]}}]}},
                           [1]],
    }
    for key, values in optional.items():
        if draw(st.integers(0, 7)) == 0:
            crash[key] = draw(st.sampled_from(values))
    return crash


@pytest.fixture(scope="module")
def both():
    return siggen_generator.SignatureGenerator(), SignatureGenerator(mozilla_profile())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(crash=crashes())
def test_same_signature_proto_and_notes_as_siggen(both, crash):
    reference, ours = both
    expected = reference.generate(copy.deepcopy(crash))
    got = ours.generate(crash)
    assert got.signature == expected.signature
    assert got.proto_signature == expected.extra.get("proto_signature", "")
    assert got.notes == expected.notes
    assert ours.generate(crash, explain=True).signature == expected.signature


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(function=symbols, rust=st.booleans(), line=st.sampled_from([None, 3, "9"]))
def test_single_symbol_normalisation_matches_siggen(both, function, rust, line):
    reference, ours = both
    frame = {"function": function, "line": line, "file": "/src/lib.rs" if rust else "/src/x.cpp"}
    crash = {"crashing_thread": 0, "threads": [{"frames": [frame]}]}
    expected = reference.generate(copy.deepcopy(crash))
    got = ours.generate(crash)
    assert got.proto_signature == expected.extra.get("proto_signature", "")
    assert got.signature == expected.signature
