"""Module rules are matched by one alternation of their globs per subject (issue 24); the first matching rule
must be the one ``fnmatch.fnmatchcase`` tried rule by rule picks (the documented rule), for name and path rules
interleaved, with the bundled generic rules and with fuzzed globs."""

from __future__ import annotations

import fnmatch

from hypothesis import given, settings
from hypothesis import strategies as st

from crashdesk.engine.signature import SignatureGenerator, resolve_profile
from crashdesk.engine.signature.appwalk import AppWalker
from crashdesk.engine.signature.modules import ModuleClassifier, ModuleRule, _basename, _FirstMatch


def _reference(rules, name: str, path: str):
    """The documented rule: the first rule whose glob matches the module's file name (taken from its path when
    the name is not known), or its path, case-insensitively."""
    name, path = name.lower(), path.lower()
    if not name and path:
        name = _basename(path)
    name = name.strip("[]")
    for rule in rules:
        subject = name if rule.target == "name" else path
        if subject and fnmatch.fnmatchcase(subject, rule.glob):
            return rule
    return None


def _generic_rules():
    return AppWalker(SignatureGenerator(resolve_profile("generic", None))).lists.module_rules


NAMES = ["ntdll.dll", "kernelbase.dll", "libc.so.6", "libpthread-2.31.so", "myapp.exe", "libxul.so",
         "[vdso]", "linux-gate.so", "xul.dll", "libsystem_kernel.dylib", "", "a", "libstdc++.so.6", "ld-2.31.so"]
PATHS = ["/usr/lib/x86_64-linux-gnu/libc.so.6", "c:\\windows\\system32\\ntdll.dll", "/opt/myapp/bin/myapp",
         "/system/library/frameworks/foo.framework/foo", "", "/lib/ld-linux.so.2"]


def test_the_generic_rules_pick_what_fnmatch_picks():
    rules = _generic_rules()
    assert any(r.target == "name" for r in rules) and any(r.target != "name" for r in rules)
    classifier = ModuleClassifier(rules)
    decided = set()
    for name in NAMES:
        for path in PATHS:
            want = _reference(rules, name, path)
            got = classifier.classify(name, path)
            if name or path:
                assert got == ((want.in_app, want) if want else (True, None)), (name, path)
                decided.add(got[1] is None)
    assert decided == {True, False}  # some modules matched a rule, some none


GLOB = st.text(alphabet=st.sampled_from(list("ab.*?[]!-/\\")), min_size=1, max_size=6).map(str.lower)
SUBJECT = st.text(alphabet=st.sampled_from(list("ab.-/\\]")), max_size=8)


@given(st.lists(st.tuples(GLOB, st.sampled_from(["name", "path"]), st.booleans()), max_size=8), SUBJECT, SUBJECT)
@settings(max_examples=300, deadline=None)
def test_fuzzed_rules_pick_what_fnmatch_picks(specs, name, path):
    rules = tuple(ModuleRule(in_app, glob, target, i + 1, "fuzz") for i, (glob, target, in_app) in enumerate(specs))
    classifier = ModuleClassifier(rules)
    want = _reference(rules, name, path)
    if name or path:
        assert classifier.classify(name, path)[1] is want
    by_rule = _FirstMatch([r for r in rules if r.target != "name"])
    by_rule.pattern = None  # the rule-by-rule fallback (a glob translation holding a group of its own)
    assert by_rule.first(path) is _reference([r for r in rules if r.target != "name"], "\0", path)


def test_a_prepared_generator_has_its_matchers_and_signs_the_same(test_data):
    import json

    from crashdesk.services.worker import WorkerConfig, _Processor

    stackwalk = json.loads((test_data / "crashes" / "01-null-deref" / "expected.json").read_text())
    crash = {"stackwalk": stackwalk, "annotations": {"ProductName": "X"}}
    fresh = SignatureGenerator(resolve_profile("generic", None))
    prepared = SignatureGenerator(resolve_profile("generic", None))
    prepared.prepare()
    assert prepared._app_walker.modules._matchers is not None and not hasattr(fresh, "_app_walker")
    got, want = prepared.generate_from(crash), fresh.generate_from(crash)
    assert got.signature == want.signature and got.signature and got.proto_signature == want.proto_signature
    # a worker prepares its generators while no crash waits (before it says it is ready, when started ahead)
    processor = _Processor(WorkerConfig(memory_limit=None))
    while processor.prepare_next():
        pass
    walker = processor.generators[processor.config.default_profile]._app_walker
    assert walker.modules._matchers is not None
