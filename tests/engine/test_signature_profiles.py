"""Profiles: built-in Mozilla (siggen's lists read at run time), generic, editable folders, list errors."""

from __future__ import annotations

import copy
import json
import subprocess
from importlib.resources import files
from pathlib import Path

import pytest
import siggen.generator as siggen_generator

from crashdesk.engine.signature import (
    ListSyntaxError,
    ProfileError,
    SignatureGenerator,
    create_generic_profile,
    create_profile_from_mozilla,
    generic_profile,
    list_profiles,
    load_profile,
    mozilla_profile,
    resolve_profile,
    save_profile,
)
from crashdesk.engine.signature.lists import LIST_FILES

DATA = Path(__file__).resolve().parents[1] / "data" / "signatures"
REPO = Path(__file__).resolve().parents[2]


def _cases() -> list[dict]:
    with open(DATA / "cases_subset.jsonl", encoding="utf-8") as fp:
        return [json.loads(line) for line in fp if line.strip()]


def test_mozilla_lists_come_from_the_installed_siggen_package():
    profile = mozilla_profile()
    shipped = files("siggen").joinpath("siglists")
    prefix_text = shipped.joinpath("prefix_signature_re.txt").read_text(encoding="utf-8")
    entries = [ln.strip() for ln in prefix_text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    assert list(profile.lists.prefix) == entries
    assert "siggen" in profile.lists.origins["prefix"]


def test_siggen_lists_are_not_copied_into_the_repository():
    """No committed file carries siggen's list names (a packaged build in the git-ignored dist/ does, rightly)."""
    names = set(LIST_FILES.values())
    tracked = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True,
                             text=True, check=False)
    if tracked.returncode == 0:
        paths = [REPO / line for line in tracked.stdout.splitlines()]
    else:  # not a git checkout: every file except what the project ignores
        paths = [p for p in REPO.rglob("*") if not set(IGNORED_FOLDERS) & set(p.relative_to(REPO).parts)]
    found = [p for p in paths if p.name in names and not in_environment(p, REPO)]
    assert found == []


# folders a user or a tool creates inside a checkout (a virtual environment holds siggen's own lists)
IGNORED_FOLDERS = (".git", "dist", "build", ".work", ".venv", "venv", "env", ".env", ".tox", ".nox", ".eggs")


def in_environment(path: Path, root: Path) -> bool:
    """Whether ``path`` lies in a virtual environment (a folder holding ``pyvenv.cfg``) or an ignored folder
    under ``root``."""
    rel = path.relative_to(root)
    if set(IGNORED_FOLDERS) & set(rel.parts[:-1]):
        return True
    return any((root / Path(*rel.parts[:n]) / "pyvenv.cfg").is_file() for n in range(1, len(rel.parts)))


def test_environments_and_build_folders_are_ignored(tmp_path):
    """A venv inside the checkout (any name) does not count as committed files, and git ignores the usual
    environment and build folders (issue 20: the suite failed with a .venv in the checkout)."""
    venv = tmp_path / "myenv"
    (venv / "lib" / "siggen" / "siglists").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    listed = venv / "lib" / "siggen" / "siglists" / "prefix_signature_re.txt"
    assert in_environment(listed, tmp_path)
    assert in_environment(tmp_path / ".venv" / "x" / "prefix_signature_re.txt", tmp_path)
    assert not in_environment(tmp_path / "crashdesk" / "prefix_signature_re.txt", tmp_path)
    if subprocess.run(["git", "rev-parse"], cwd=REPO, capture_output=True).returncode == 0:
        for folder in (".venv", "venv", "env", ".tox", "build", "dist"):
            check = subprocess.run(["git", "check-ignore", "-q", "--no-index", f"{folder}/lib/x.txt"], cwd=REPO)
            assert check.returncode == 0, f"{folder}/ is not git-ignored"


def test_new_profile_from_mozilla_copies_siggen_files_verbatim(tmp_path):
    dest = tmp_path / "profiles" / "mine"
    profile = create_profile_from_mozilla(dest)
    shipped = files("siggen").joinpath("siglists")
    for filename in LIST_FILES.values():
        assert (dest / filename).read_bytes() == shipped.joinpath(filename).read_bytes()
    assert profile.name == "mine"
    assert profile.lists == mozilla_profile().lists
    meta = json.loads((dest / "profile.json").read_text(encoding="utf-8"))
    assert meta["follows"] == "siggen 2.2.20241029"
    with pytest.raises(ProfileError):
        create_profile_from_mozilla(dest)  # not empty: refuse to overwrite silently


def test_edited_profile_matches_siggen_with_the_same_list_dir(tmp_path):
    """Add a prefix entry and an irrelevant entry; siggen given the same folder is the reference."""
    dest = tmp_path / "edited"
    create_profile_from_mozilla(dest)
    with open(dest / "prefix_signature_re.txt", "a", encoding="utf-8") as fp:
        fp.write("\nmozilla::dom::\n")
    with open(dest / "irrelevant_signature_re.txt", "a", encoding="utf-8") as fp:
        fp.write("\njs::frontend::\n")
    ours = SignatureGenerator(load_profile(dest))
    reference = siggen_generator.SignatureGenerator(signature_list_dir=str(dest))
    changed = 0
    for case in _cases():
        crash = case["crash_data"]
        expected = reference.generate(copy.deepcopy(crash)).signature
        if "RunWatchdog" in json.dumps(crash):
            continue  # siggen's watchdog rule ignores custom lists (documented divergence)
        assert ours.generate(crash).signature == expected, case["id"]
        changed += expected != case["expected_signature"]
    assert changed > 0  # the edits really moved some signatures


def test_bad_regex_names_file_and_line(tmp_path):
    dest = tmp_path / "broken"
    create_profile_from_mozilla(dest)
    path = dest / "irrelevant_signature_re.txt"
    lines = path.read_text(encoding="utf-8").split("\n")
    lines.insert(10, "foo(bar")
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(ListSyntaxError) as info:
        load_profile(dest)
    assert info.value.line == 11
    assert info.value.path == str(path)
    assert str(path) in str(info.value) and "line 11" in str(info.value)


def test_entry_that_breaks_the_combined_regex_is_named(tmp_path):
    dest = tmp_path / "flags"
    create_generic_profile(dest)
    path = dest / "prefix_signature_re.txt"
    path.write_text(path.read_text(encoding="utf-8") + "(?i)late_flag\n", encoding="utf-8")
    with pytest.raises(ListSyntaxError) as info:
        load_profile(dest)
    assert "late_flag" in str(info.value)
    assert info.value.line == len(path.read_text(encoding="utf-8").split("\n")) - 1


def test_invalid_utf8_list_is_an_error(tmp_path):
    dest = tmp_path / "bytes"
    create_generic_profile(dest)
    (dest / "signature_sentinels.txt").write_bytes(b"ok\n\xff\xfe\n")
    with pytest.raises(ListSyntaxError) as info:
        load_profile(dest)
    assert info.value.line == 2


def test_unknown_rule_in_profile_json(tmp_path):
    dest = tmp_path / "rules"
    create_generic_profile(dest)
    meta = json.loads((dest / "profile.json").read_text(encoding="utf-8"))
    meta["rules"].append("NoSuchRule")
    (dest / "profile.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ProfileError, match="NoSuchRule"):
        load_profile(dest)
    (dest / "profile.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ProfileError, match="profile.json"):
        load_profile(dest)


def test_rule_order_and_selection_are_honoured(tmp_path):
    dest = tmp_path / "norules"
    create_profile_from_mozilla(dest)
    meta = json.loads((dest / "profile.json").read_text(encoding="utf-8"))
    meta["rules"] = [r for r in meta["rules"] if r != "AbortSignature"]
    (dest / "profile.json").write_text(json.dumps(meta), encoding="utf-8")
    gen = SignatureGenerator(load_profile(dest))
    crash = {"abort_message": "boom", "threads": [{"frames": [{"function": "f"}]}]}
    assert gen.generate(crash).signature == "f"
    assert SignatureGenerator(mozilla_profile()).generate(crash).signature == "Abort | boom | f"


def test_resolve_profile_user_folder_builtin_and_path(tmp_path):
    profiles = tmp_path / "profiles"
    create_generic_profile(profiles / "mozilla")  # a user profile may shadow a built-in name
    assert resolve_profile("mozilla", profiles).source == str(profiles / "mozilla")
    assert resolve_profile("generic", profiles).source == "builtin:generic"
    assert resolve_profile(None, tmp_path / "none").name == "mozilla"
    assert resolve_profile(str(profiles / "mozilla")).rules == generic_profile().rules
    with pytest.raises(ProfileError, match="available"):
        resolve_profile("nope", profiles)
    assert list_profiles(profiles) == ["mozilla", "generic", "generic-v1"]


def test_save_and_reload_roundtrip(tmp_path):
    profile = generic_profile()
    save_profile(profile, tmp_path / "g")
    again = load_profile(tmp_path / "g")
    assert again.lists == profile.lists
    assert again.rules == profile.rules
    assert again.follows == profile.follows


def test_empty_list_matches_nothing(tmp_path):
    dest = tmp_path / "empty"
    create_generic_profile(dest)
    (dest / "prefix_signature_re.txt").write_text("# nothing\n", encoding="utf-8")
    gen = SignatureGenerator(load_profile(dest))
    crash = {"threads": [{"frames": [{"function": "malloc"}, {"function": "app::main"}]}]}
    assert gen.generate(crash).signature == "malloc"


def _stackwalk_case(name: str) -> tuple[dict, dict]:
    folder = DATA / "linux-crashpad" / name
    return (json.loads((folder / "expected.json").read_text(encoding="utf-8")),
            json.loads((folder / "annotations.json").read_text(encoding="utf-8")))


SYSTEM_MODULES = ("libc.so.6", "libstdc++.so.6", "libm.so.6", "ld-linux-x86-64.so.2")


@pytest.mark.parametrize("case", ["03-abort", "05-thread", "07-cxx-terminate"])
def test_generic_profile_ends_at_the_first_application_frame(case):
    """On real Crashpad crashes the generic profile skips libc/libstdc++ plumbing and stops at the first
    frame of the application's own code (read from the stackwalker output)."""
    stackwalk, annotations = _stackwalk_case(case)
    thread = stackwalk["threads"][stackwalk["crash_info"]["crashing_thread"]]
    app_frames = [f for f in thread["frames"] if f.get("module") not in SYSTEM_MODULES]
    first_app = app_frames[0]["function"].split("(")[0]
    result = SignatureGenerator(generic_profile()).generate_from(
        {"stackwalk": stackwalk, "annotations": annotations}, explain=True)
    parts = result.signature.split(" | ")
    assert parts[-1] == first_app
    # glibc's __GI_ alias prefix is dropped by the generic walk
    system_functions = {(f.get("function") or "").removeprefix("__GI_") for f in thread["frames"]
                        if f.get("module") in SYSTEM_MODULES}
    # at most one kind prefix precedes the app frame, and it is a system frame of the crashing thread
    assert len(parts) <= 2
    assert all(p in system_functions for p in parts[:-1])
    assert result.explanation  # explained


def test_explanation_names_list_entries_and_fates():
    crash = {"crashing_thread": 0, "os": "Windows NT", "threads": [{"frames": [
        {"function": "KiFastSystemCallRet", "module": "ntdll.dll"},
        {"module": "XUL.DLL"}, {"module": "xul.dll"},
        {"function": "malloc"},
        {"function": "static void mozilla::Foo<int>::Bar(int) const", "file": "/a.cpp", "line": 3},
        {"function": "never_reached"},
    ]}]}
    result = SignatureGenerator(mozilla_profile()).generate(crash, explain=True)
    text = "\n".join(result.explanation)
    assert result.signature == siggen_generator.SignatureGenerator().generate(copy.deepcopy(crash)).signature
    assert result.signature == "xul.dll | malloc | mozilla::Foo<T>::Bar"
    assert "irrelevant" in text and "irrelevant_signature_re.txt line" in text
    assert "combined" in text
    assert "prefix_signature_re.txt" in text
    assert "normalised to 'mozilla::Foo<T>::Bar'" in text
    assert "not a prefix, stop" in text
    assert "lowercased" in text
    assert "module name 'XUL.DLL' gives 'xul.dll'" in text
    assert "frames 5-5 not used" in text
    assert [f["fate"] for f in result.frames] == ["irrelevant", "prefix", "merged", "prefix", "stop", "unused"]
    shipped = files("siggen").joinpath("siglists", "prefix_signature_re.txt").read_text(encoding="utf-8")
    malloc_line = shipped.split("\n").index("malloc") + 1
    assert result.frames[3]["entry"] == "malloc" and result.frames[3]["line"] == malloc_line
    assert result.frames[1]["raw"] == "XUL.DLL" and result.frames[1]["text"] == "xul.dll"
    json.dumps(result.to_dict(explain=True))  # JSON-ready


def test_list_file_with_byte_order_mark_and_crlf(tmp_path):
    dest = tmp_path / "bom"
    create_generic_profile(dest)
    (dest / "prefix_signature_re.txt").write_bytes("\ufeffmy_prefix\r\n# comment\r\n\r\n".encode())
    profile = load_profile(dest)
    assert profile.lists.prefix == ("my_prefix",)
    crash = {"threads": [{"frames": [{"function": "my_prefix_fn"}, {"function": "app::f"}]}]}
    assert SignatureGenerator(profile).generate(crash).signature == "my_prefix_fn | app::f"


def test_diff_profiles_lists_added_and_removed_entries(tmp_path):
    from crashdesk.engine.signature import diff_profiles

    dest = tmp_path / "d"
    create_profile_from_mozilla(dest)
    path = dest / "prefix_signature_re.txt"
    text = path.read_text(encoding="utf-8").replace("\nmalloc\n", "\n") + "my::new_entry\n"
    path.write_text(text, encoding="utf-8")
    diff = diff_profiles(mozilla_profile(), load_profile(dest))
    assert diff == {"prefix": {"added": ["my::new_entry"], "removed": ["malloc"], "reordered": False}}
    assert diff_profiles(mozilla_profile(), mozilla_profile()) == {}


@pytest.mark.parametrize("frames, os_name, last", [
    # Windows: a system runtime DLL frame is kept as a prefix; the application's own module ends the walk
    ([{"module": "vcruntime140d.dll"}, {"module": "sentry_example.exe"}], "Windows NT", "sentry_example.exe"),
    # Linux: versioned glibc file names are system libraries too
    ([{"module": "libpthread-2.19.so"}, {"module": "driver"}], "Linux", "driver"),
    # Rust: pointer helpers are skipped, the panicking function is reached
    ([{"function": "core::ptr::write_volatile<T>", "file": "/rustc/x/library/core/src/ptr/mod.rs"},
      {"function": "app::crash_here", "file": "/src/main.rs"}], "Linux", "app::crash_here"),
])
def test_generic_profile_walks_past_system_frames(frames, os_name, last):
    crash = {"os": os_name, "threads": [{"frames": frames}]}
    assert SignatureGenerator(generic_profile()).generate(crash).signature.split(" | ")[-1] == last


def test_frame_details_for_sentinel_cut_and_fallback():
    reference = siggen_generator.SignatureGenerator()
    gen = SignatureGenerator(mozilla_profile())
    cut = {"threads": [{"frames": [{"function": "foo"}, {"function": "_purecall"}, {"function": "bar"}]}]}
    result = gen.generate(cut, explain=True)
    assert result.signature == reference.generate(copy.deepcopy(cut)).signature
    assert [f["fate"] for f in result.frames] == ["cut", "prefix", "stop"]
    assert result.frames[1]["sentinel"]["entry"] == "_purecall"
    fallback = {"threads": [{"frames": [{"function": "NtWaitForSingleObject"}, {"function": "KiFastSystemCallRet"}]}]}
    result = gen.generate(fallback, explain=True)
    assert result.signature == reference.generate(copy.deepcopy(fallback)).signature
    assert [f["fate"] for f in result.frames] == ["fallback", "irrelevant"]
