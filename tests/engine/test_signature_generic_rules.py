"""Module rules (+app/-app), the generic walk's explanation, and the one profile-choice rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crashdesk.cli import main
from crashdesk.engine.signature import (
    ListSyntaxError,
    SignatureGenerator,
    create_generic_profile,
    generic_profile,
    load_profile,
)
from crashdesk.engine.signature.choice import ProfileChoice
from crashdesk.engine.signature.modules import ModuleClassifier, parse_module_rules

DATA = Path(__file__).resolve().parents[1] / "data" / "signatures-generic"


def test_default_module_rules_classify_system_libraries_of_every_platform():
    classify = ModuleClassifier(generic_profile().lists.module_rules).classify
    system = ["libc.so.6", "libc-2.19.so", "ld-linux-x86-64.so.2", "linux-gate.so", "linux-vdso.so.1", "[vdso]",
              "libstdc++.so.6", "ntdll.dll", "KERNELBASE.dll", "ucrtbase.dll", "VCRUNTIME140D.dll", "msvcp140.dll",
              "libsystem_kernel.dylib", "libc++abi.dylib", "libobjc.A.dylib", "dyld", "ld-musl-x86_64.so.1"]
    for name in system:
        assert classify(name)[0] is False, name
    for name, path in [("libfoo.so", "/usr/lib/x86_64-linux-gnu/libfoo.so"), ("foo.dll", r"C:\Windows\System32\foo.dll"),
                       ("bar.dll", r"\SystemRoot\System32\bar.dll"),
                       ("libcache.dylib", "/usr/lib/system/libcache.dylib"),
                       ("Foundation", "/System/Library/Frameworks/Foundation.framework/Foundation"),
                       ("libart.so", "/apex/com.android.art/lib64/libart.so"), ("libx.so", "/system/lib64/libx.so")]:
        assert classify(name, path)[0] is False, path
    for name in ["myapp", "libcrashplugin.so", "sentry_example.exe", "Electron Framework", "crash-client"]:
        assert classify(name) == (True, None), name
    # a build tree that has a "windows" folder is not the Windows folder (from google-breakpad's crash.exe)
    assert classify("crash.exe", r"C:\src\src\src\client\windows\x64\Release\crash.exe") == (True, None)
    assert classify("crashy", "/Users/ted/src/crashy") == (True, None)


def test_user_rules_come_first_and_bad_lines_name_file_and_line(tmp_path):
    dest = tmp_path / "mine"
    create_generic_profile(dest)
    rules = dest / "module_rules.txt"
    rules.write_text("# ours\n+app /usr/lib/myapp/*\n-app libvendorgl*.so\n" + rules.read_text(), encoding="utf-8")
    profile = load_profile(dest)
    classify = ModuleClassifier(profile.lists.module_rules).classify
    in_app, rule = classify("libmyapp.so", "/usr/lib/myapp/libmyapp.so")
    assert in_app and rule.line == 2 and rule.origin == str(rules)
    assert classify("libvendorgl3.so")[0] is False
    crash = {"os": "Linux", "module_paths": {"libmyapp.so": "/usr/lib/myapp/libmyapp.so"}, "threads": [{"frames": [
        {"module": "libvendorgl3.so", "function": "glDraw"},
        {"module": "libmyapp.so", "function": "render_scene"},
        {"module": "myapp", "function": "main"}]}]}
    result = SignatureGenerator(profile).generate(crash, explain=True)
    assert result.signature == "glDraw | render_scene"
    text = "\n".join(result.explanation)
    assert f"module rule {rules}:3 '-app libvendorgl*.so'" in text

    rules.write_text("+app ok\napp missing-sign\n", encoding="utf-8")
    with pytest.raises(ListSyntaxError) as err:
        load_profile(dest)
    assert err.value.path == str(rules) and err.value.line == 2
    with pytest.raises(ListSyntaxError, match="line 1"):
        parse_module_rules("+app   \n", "x.txt")


def test_explain_names_the_list_entry_or_module_rule_of_every_skipped_frame():
    doc = json.loads((DATA / "cases" / "c-assert.json").read_text(encoding="utf-8"))
    result = SignatureGenerator(generic_profile()).generate_from({"stackwalk": doc, "annotations": {}}, explain=True)
    assert result.signature == "__assert_fail | validate_header"
    details = result.frames
    walked = [d for d in details if d["fate"] not in ("unused", "cut")]
    assert [d["fate"] for d in walked][-2:] == ["kind", "app"]
    for d in walked[:-1]:
        # each skipped (or kept) frame names builtin:generic/<file>:<line> of its list entry or module rule
        assert d["why"].startswith(("builtin:generic/", "module rule builtin:generic/module_rules.txt:")), d
        assert ":" in d["why"].split("/", 1)[1]
    lines = "\n".join(result.explanation)
    assert "skipped: irrelevant (builtin:generic/irrelevant_signature_re.txt:" in lines
    assert "kept as the kind prefix" in lines and "first application frame" in lines


def test_unsymbolicated_app_frames_are_module_at_offset_never_bare_addresses():
    crash = {"os": "Windows NT", "threads": [{"frames": [
        {"offset": "0x1234"},
        {"module": "VCRUNTIME140.dll", "module_offset": "0x00000000000020476"},
        {"module": "MyApp.exe", "module_offset": "0x00000000000017fc"}]}]}
    assert SignatureGenerator(generic_profile()).generate(crash).signature == "vcruntime140.dll | myapp.exe@0x17fc"


def test_profile_choice_rule():
    rule = ProfileChoice((("MyApp", "myapp"),), "generic")
    assert rule.for_product("myapp") == "myapp"
    assert rule.for_product("Firefox") == "mozilla"
    assert rule.for_product("Other") == "generic"
    assert ProfileChoice((), "team").for_product("Other") == "team"
    assert rule.for_input({"crash_data": {"threads": []}}) == "mozilla"  # siggen-style input without a product
    assert rule.for_input({"stackwalk": {}, "annotations": {}}) == "mozilla"
    assert rule.for_input({"stackwalk": {}, "annotations": {"ProductName": "Other"}}) == "generic"
    assert rule.for_input({"stackwalk": {}, "annotations": {"ProductName": "MyApp"}}) == "myapp"


def test_signature_command_follows_the_rule_and_the_settings_table(tmp_path, capsys):
    home = tmp_path / "home"
    doc = json.loads((DATA / "cases" / "c-abort.json").read_text(encoding="utf-8"))
    path = tmp_path / "one.json"
    path.write_text(json.dumps({"stackwalk": doc, "annotations": {"ProductName": "EvalApp"}}), encoding="utf-8")
    assert main(["signature", str(path), "--json", "--data-dir", str(home)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["profile"] == "generic" and out["signature"] == "abort | shutdown_on_bad_state"

    from crashdesk.config.signature_profiles import save_choice

    save_choice(home, ProfileChoice((("EvalApp", "generic-v1"),), "generic"))
    assert main(["signature", str(path), "--json", "--data-dir", str(home)]) == 0
    assert json.loads(capsys.readouterr().out)["profile"] == "generic-v1"
    batch = tmp_path / "b.jsonl"
    batch.write_text(json.dumps({"id": 1, "stackwalk": doc, "annotations": {"ProductName": "Other"}}) + "\n"
                     + json.dumps({"id": 2, "crash_data": {"threads": [{"frames": [{"function": "f"}]}]}}) + "\n",
                     encoding="utf-8")
    assert main(["signature", "--batch", "--explain", str(batch), "--data-dir", str(home)]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["profile"] for r in records] == ["generic", "mozilla"]

    save_choice(home, ProfileChoice((("EvalApp", "no-such-profile"),), "generic"))
    assert main(["signature", str(path), "--data-dir", str(home)]) == 1
    err = capsys.readouterr().err
    assert "no-such-profile" in err and "Traceback" not in err


def test_processing_worker_follows_the_same_rule(tmp_path):
    from crashdesk.services.worker import WorkerConfig, _Processor

    config = WorkerConfig(profiles_dir=str(tmp_path), product_profiles=(("EvalApp", "generic-v1"),))
    proc = _Processor(config)
    assert proc._generator({"ProductName": "EvalApp"})[0] == "generic-v1"
    assert proc._generator({"ProductName": "Firefox"})[0] == "mozilla"
    assert proc._generator({"ProductName": "Else"})[0] == "generic"
    assert proc._generator({})[0] == "generic"


def test_processing_keeps_module_paths_and_path_rules_use_them(tmp_path):
    """A real Windows minidump (symbolic's crash.exe): the worker stores each module's path next to the
    stackwalk, and a path rule of a user profile decides with it."""
    from crashdesk.engine.signature.convert import MODULE_PATHS_KEY
    from crashdesk.services.worker import Job, WorkerConfig, _Processor

    dump = Path(__file__).resolve().parents[1] / "data" / "unwind" / "mini-windows" / "mini.dmp"
    result = _Processor(WorkerConfig(profiles_dir=str(tmp_path))).run(Job("c1", str(dump), {"ProductName": "Demo"}))
    assert result.ok and result.profile == "generic"
    paths = result.processed[MODULE_PATHS_KEY]
    assert paths["ntdll.dll"] == r"C:\Windows\System32\ntdll.dll"
    assert paths["crash.exe"] == r"C:\projects\breakpad-tools\windows\Release\crash.exe"
    default = SignatureGenerator(generic_profile()).generate_from(
        {"stackwalk": result.processed, "annotations": {}}, explain=True)
    assert default.signature == result.signature
    assert [d for d in default.frames if d["fate"] == "app"][0]["module"] == "crash.exe"

    dest = tmp_path / "vendor"
    create_generic_profile(dest)
    rules = dest / "module_rules.txt"
    rules.write_text("-app c:\\projects\\breakpad-tools\\*\n" + rules.read_text(), encoding="utf-8")
    mine = SignatureGenerator(load_profile(dest)).generate_from(
        {"stackwalk": result.processed, "annotations": {}}, explain=True)
    assert mine.signature != default.signature
    assert f"module rule {rules}:1" in "\n".join(mine.explanation)


def _f(function, module, **extra):
    return {"function": function, "module": module, **extra}


# Stacks as the platforms' runtimes produce them (frame names from the runtimes' public symbols); the last
# element is the application function that must lead, the one before it the expected kind prefix (or None).
FRAMEWORK_STACKS = {
    "rust-panic-unwrap": ("Linux", [
        _f("std::sys::pal::unix::abort_internal", "app", file="/rustc/x/library/std/src/sys/pal/unix/mod.rs"),
        _f("std::process::abort", "app", file="/rustc/x/library/std/src/process.rs"),
        _f("rust_begin_unwind", "app", file="/rustc/x/library/std/src/panicking.rs"),
        _f("core::panicking::panic_fmt", "app", file="/rustc/x/library/core/src/panicking.rs"),
        _f("core::result::unwrap_failed", "app", file="/rustc/x/library/core/src/result.rs"),
        _f("app::config::load", "app", file="/src/config.rs"),
        _f("app::main", "app", file="/src/main.rs")], "core::result::unwrap_failed", "app::config::load"),
    "rust-alloc-oom": ("Linux", [
        _f("std::alloc::rust_oom", "app", file="/rustc/x/library/std/src/alloc.rs"),
        _f("__rust_alloc_error_handler", "app"),
        _f("alloc::alloc::handle_alloc_error", "app", file="/rustc/x/library/alloc/src/alloc.rs"),
        _f("app::cache::grow", "app", file="/src/cache.rs")], "alloc::alloc::handle_alloc_error", "app::cache::grow"),
    "qt-qfatal": ("Linux", [
        _f("__pthread_kill_implementation", "libc.so.6"), _f("raise", "libc.so.6"), _f("abort", "libc.so.6"),
        _f("qAbort()", "libQt6Core.so.6"), _f("qt_message_fatal(QtMsgType, QMessageLogContext const&, QString const&)", "libQt6Core.so.6"),
        _f("QMessageLogger::fatal(char const*, ...) const", "libQt6Core.so.6"),
        _f("Editor::openDocument(QString const&)", "texteditor"), _f("main", "texteditor")],
        "QMessageLogger::fatal", "Editor::openDocument"),
    "chromium-log-fatal": ("Windows NT", [
        _f("base::debug::BreakDebugger()", "electron.exe"), _f("base::ImmediateCrash()", "electron.exe"),
        _f("logging::LogMessage::~LogMessage()", "electron.exe"),
        _f("logging::LogMessageFatal::~LogMessageFatal()", "electron.exe"),
        _f("app::Window::Restore()", "electron.exe"), _f("wWinMain", "electron.exe")],
        "logging::LogMessageFatal::~LogMessageFatal", "app::Window::Restore"),
    "partition-alloc-oom": ("Mac OS X", [
        _f("partition_alloc::internal::OnNoMemoryInternal(unsigned long)", "Electron Framework"),
        _f("partition_alloc::TerminateBecauseOutOfMemory(unsigned long)", "Electron Framework"),
        _f("partition_alloc::internal::PartitionExcessiveAllocationSize(unsigned long)", "Electron Framework"),
        _f("media::Decoder::AllocateFrame(int)", "Electron Framework")],
        "partition_alloc::internal::PartitionExcessiveAllocationSize", "media::Decoder::AllocateFrame"),
    "breakpad-dump-without-crash": ("Linux", [
        _f("google_breakpad::ExceptionHandler::WriteMinidump()", "game"),
        _f("sentry__breakpad_backend_callback", "game"),
        _f("Game::reportStall()", "game"), _f("main", "game")], None, "Game::reportStall"),
    "msvc-cxx-throw": ("Windows NT", [
        _f("RaiseException", "KERNELBASE.dll"), _f("_CxxThrowException", "VCRUNTIME140.dll"),
        _f("std::_Xout_of_range(char const*)", "MSVCP140.dll"),
        _f("Inventory::at(int)", "shop.exe"), _f("main", "shop.exe")], "std::_Xout_of_range", "Inventory::at"),
    "windows-fastfail": ("Windows NT", [
        _f("RtlReportCriticalFailure", "ntdll.dll"), _f("RtlpHeapHandleError", "ntdll.dll"),
        _f("RtlpLogHeapFailure", "ntdll.dll"), _f("RtlFreeHeap", "ntdll.dll"), _f("free_base", "ucrtbase.dll"),
        _f("Buffer::release()", "tool.exe")], "free_base", "Buffer::release"),
    "macos-objc-exception": ("Mac OS X", [
        _f("__pthread_kill", "libsystem_kernel.dylib"), _f("pthread_kill", "libsystem_pthread.dylib"),
        _f("abort", "libsystem_c.dylib"), _f("abort_message", "libc++abi.dylib"),
        _f("std::__terminate(void (*)())", "libc++abi.dylib"), _f("objc_exception_throw", "libobjc.A.dylib"),
        _f("-[NSArray objectAtIndex:]", "CoreFoundation"),
        _f("-[Controller selectRow:]", "MyMacApp")], "-[NSArray objectAtIndex:]", "-[Controller selectRow:]"),
    "android-bionic-abort": ("Android", [
        _f("abort", "libc.so"), _f("__assert2", "libc.so"),
        _f("Renderer::draw()", "libgame.so"), _f("android_main", "libgame.so")], "__assert2", "Renderer::draw"),
    "musl-abort": ("Linux", [
        _f("raise", "ld-musl-x86_64.so.1"), _f("abort", "ld-musl-x86_64.so.1"),
        _f("parse_args", "tool"), _f("main", "tool")], "abort", "parse_args"),
}


@pytest.mark.parametrize("name", sorted(FRAMEWORK_STACKS))
def test_runtime_and_framework_fatal_paths(name):
    os_name, frames, kind, app = FRAMEWORK_STACKS[name]
    crash = {"os": os_name, "module_paths": {"CoreFoundation": "/System/Library/Frameworks/CoreFoundation.framework/CoreFoundation"},
             "threads": [{"frames": frames}]}
    result = SignatureGenerator(generic_profile()).generate(crash, explain=True)
    assert result.signature == (f"{kind} | {app}" if kind else app), "\n".join(result.explanation)


HOSTILE = [
    {"threads": [{"frames": [{"module": 5, "function": "f"}, {"module": ["x"], "module_offset": "0x10"}]}]},
    {"module_paths": {"a.so": 7, 3: "/x", "b.so": ["/y"]}, "threads": [{"frames": [{"module": "a.so"}, {"module": "b.so"}]}]},
    {"module_paths": "not a dict", "threads": [{"frames": [{"module": "app", "module_offset": "zz"}]}]},
    {"threads": [{"frames": [{"module": "app", "module_offset": 12}, {"module": "[vdso]"}]}]},
    {"threads": [{"frames": [{"module": "m" * 100000, "module_offset": "0x" + "f" * 5000}]}]},
    {"threads": [{"frames": [{"module": "libc.so.6", "function": "__" + "memmove_" * 5000 + "avx"}]}]},
    {"threads": [{"frames": [{"function": "__GI___GI___GI_abort"}] * 50}]},
]


@pytest.mark.parametrize("crash", HOSTILE)
def test_hostile_frames_and_module_paths_give_a_signature_not_a_failure(crash):
    result = SignatureGenerator(generic_profile()).generate(crash, explain=True)
    assert result.signature and len(result.signature) <= 255
    assert not any("Rule failed" in n for n in result.notes), result.notes


def test_hostile_module_rules_are_refused_or_harmless(tmp_path):
    # a glob that would backtrack badly in a naive matcher, against a long name: fnmatch's translation is linear
    rules = parse_module_rules("-app " + "*a" * 40 + "b\n", "x.txt")
    classify = ModuleClassifier(rules).classify
    assert classify("a" * 5000) == (True, None)
    for bad in ("+appx foo", "app foo", "+app", "-app # only a comment", "\x00"):
        with pytest.raises(ListSyntaxError):
            parse_module_rules(bad + "\n", "x.txt")
    with pytest.raises(ListSyntaxError, match="UTF-8"):
        parse_module_rules(b"+app \xff\n", "x.txt")


def test_a_broken_product_table_is_a_one_line_error(tmp_path, capsys):
    home = tmp_path / "home"
    home.mkdir()
    (home / "signature-profiles.json").write_text("{not json", encoding="utf-8")
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"crash_data": {"threads": []}}), encoding="utf-8")
    assert main(["signature", str(path), "--data-dir", str(home)]) == 1
    err = capsys.readouterr().err
    assert "signature-profiles.json" in err and err.count("\n") == 1 and "Traceback" not in err
    (home / "signature-profiles.json").write_text(json.dumps({"products": {"A": 5}}), encoding="utf-8")
    assert main(["signature", str(path), "--data-dir", str(home)]) == 1
    assert "'products' must map" in capsys.readouterr().err
