"""``crashdesk import / search / show / export`` on real data folders, through ``crashdesk.cli.main`` and once
through the installed ``crashdesk`` command in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import pytest

from crashdesk.cli import main

BUNDLE_ID = "3f2a9c1e-7b4d-4e8a-9c2f-5d1e0b261129"


@pytest.fixture
def home(tmp_path):
    return str(tmp_path / "home")


def cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_import_search_show_export_round_trip(capsys, home, test_data, tmp_path):
    dump = test_data / "crashes" / "05-thread" / "dump.dmp"
    raw = test_data / "crashes" / "socorro" / "raw_crash_firefox.json"
    bundle = test_data / "crashes" / "socorro" / "bundle-01-null-deref"
    code, out, err = cli(capsys, "import", str(dump), "--annotations", '{"ProductName": "QA", "Version": "2.0"}',
                         "--data-dir", home, "--json")
    assert code == 0, err
    (imported,) = json.loads(out)["imported"]
    assert imported["state"] == "received" and imported["kind"] == "minidump"
    code, out, err = cli(capsys, "--data-dir", home, "import", str(raw), str(bundle))
    assert code == 0, err
    assert BUNDLE_ID in out

    code, out, err = cli(capsys, "search", "--data-dir", home, "--json", "--facet", "product", "--facet", "source")
    assert code == 0, err
    result = json.loads(out)
    assert set(result) == {"total", "hits", "facets"} and result["total"] == 3
    for hit in result["hits"]:
        assert {"crash_id", "signature", "server_signature", "product", "version", "os", "source",
                "state"} <= set(hit)
        assert not hit["crash_id"].startswith("bp-")
    assert {b["term"]: b["count"] for b in result["facets"]["product"]} == {"QA": 1, "Firefox": 1,
                                                                           "CrashFactoryDemo": 1}
    assert result["facets"]["source"] == [{"term": "import", "count": 3}]

    code, out, _ = cli(capsys, "search", "product:qa", "version:>=1.10", "--data-dir", home, "--json")
    assert json.loads(out)["hits"][0]["crash_id"] == imported["crash_id"]
    code, out, _ = cli(capsys, "search", "--data-dir", home, "--sort", "date", "--limit", "1", "--offset", "1",
                       "--json")
    assert json.loads(out)["total"] == 3 and len(json.loads(out)["hits"]) == 1
    code, out, _ = cli(capsys, "search", "--data-dir", home, "--facet", "product")
    assert code == 0 and "3 crashes" in out and "facet product:" in out

    code, out, err = cli(capsys, "show", f"bp-{BUNDLE_ID}", "--data-dir", home, "--json")
    assert code == 0, err
    shown = json.loads(out)
    server = json.loads((bundle / "processed_crash" / BUNDLE_ID).read_text())
    assert shown["crash_id"] == BUNDLE_ID and shown["processed"] is None
    assert shown["server_processed"] == server
    code, out, _ = cli(capsys, "show", BUNDLE_ID, "--data-dir", home)
    assert code == 0 and server["signature"] in out and "annotations:" in out

    dest = tmp_path / "out.zip"
    code, out, err = cli(capsys, "export", "--query", "source:import", "-o", str(dest), "--data-dir", home,
                         "--json")
    assert code == 0, err
    assert json.loads(out)["exported"] == 3
    with zipfile.ZipFile(dest) as zf:
        assert f"upload_file_minidump/{BUNDLE_ID}" in zf.namelist()
    code, out, err = cli(capsys, "import", str(dest), "--data-dir", str(tmp_path / "other"), "--json")
    assert code == 0, err
    assert sorted(r["crash_id"] for r in json.loads(out)["imported"]) == sorted(h["crash_id"]
                                                                                for h in result["hits"])


@pytest.mark.parametrize(("argv", "code", "needle"), [
    (["search", "product:x colour:red"], 1, "column 11"),
    (["search", 'signature:"OOM'], 1, "column 11"),
    (["search", "--sort", "-colour"], 2, "colour"),
    (["search", "--facet", "colour"], 2, "colour"),
    (["show", "not-a-crash-id"], 2, "not a crash id"),
    (["show", "00000000-0000-0000-0000-000000261129"], 1, "no crash"),
    (["export", "-o", "x.zip"], 2, "crash ids"),
])
def test_failures_are_one_line_with_the_right_exit_status(capsys, home, argv, code, needle):
    got, out, err = cli(capsys, *argv, "--data-dir", home)
    assert got == code
    assert needle in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert out == ""


def test_import_of_a_foreign_file_fails_but_imports_the_others(capsys, home, test_data, tmp_path):
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not a crash\n")
    good = test_data / "crashes" / "01-null-deref" / "dump.dmp"
    code, out, err = cli(capsys, "import", str(bogus), str(good), "--data-dir", home, "--json")
    assert code == 1
    report = json.loads(out)
    assert [e["file"] for e in report["errors"]] == [str(bogus)] and str(bogus) in err
    assert len(report["imported"]) == 1


def test_real_command_in_a_subprocess(home, test_data):
    env = dict(os.environ, CRASHDESK_HOME=home)
    dump = test_data / "crashes" / "01-null-deref" / "dump.dmp"
    run = [sys.executable, "-m", "crashdesk"]
    done = subprocess.run([*run, "import", str(dump), "--json"], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    crash_id = json.loads(done.stdout)["imported"][0]["crash_id"]
    done = subprocess.run([*run, "search", "function:__null__ state:received", "--json"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert [h["crash_id"] for h in json.loads(done.stdout)["hits"]] == [crash_id]
    done = subprocess.run([*run, "search", "date:~1d"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1 and "column 6" in done.stderr and "Traceback" not in done.stderr
