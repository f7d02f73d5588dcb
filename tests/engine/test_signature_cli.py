"""``crashdesk signature``: single object, --batch JSON Lines, profiles, errors (exit codes, no tracebacks)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from crashdesk.cli import main

DATA = Path(__file__).resolve().parents[1] / "data" / "signatures"


def _cases() -> list[dict]:
    with open(DATA / "cases_subset.jsonl", encoding="utf-8") as fp:
        return [json.loads(line) for line in fp if line.strip()]


def _batch_input(tmp_path: Path, shape: str = "case") -> tuple[Path, list[dict]]:
    cases = [c for c in _cases() if shape == "case" or "stackwalk" in c]
    path = tmp_path / "in.jsonl"
    with open(path, "w", encoding="utf-8") as fp:
        for c in cases:
            obj = ({"id": c["id"], "crash_data": c["crash_data"]} if shape == "case"
                   else {"id": c["id"], "stackwalk": c["stackwalk"], "annotations": c["annotations"]})
            fp.write(json.dumps(obj, ensure_ascii=False) + "\n")
    return path, cases


def test_batch_subprocess_agrees_with_siggen(tmp_path):
    path, cases = _batch_input(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "crashdesk", "--data-dir", str(tmp_path / "home"), "signature",
                           "--batch", str(path)], capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    lines = proc.stdout.decode("utf-8").split("\n")
    assert lines[-1] == ""
    records = [json.loads(line) for line in lines[:-1]]
    assert len(records) == len(cases)
    for rec, case in zip(records, cases, strict=True):
        assert rec["id"] == case["id"]
        assert rec["signature"] == case["expected_signature"]
        assert set(rec) == {"id", "signature", "proto_signature", "notes"}


def test_batch_stackwalk_shape_from_stdin(tmp_path, capsysbinary, monkeypatch):
    path, cases = _batch_input(tmp_path, "stackwalk")
    import io

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(path.read_bytes())))
    code = main(["signature", "--batch", "-", "--data-dir", str(tmp_path / "home")])
    out = capsysbinary.readouterr().out.decode("utf-8")
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["signature"] for r in records] == [c["expected_signature"] for c in cases]


def test_batch_bad_lines_give_error_records_and_exit_1(tmp_path, capsys):
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b'{"id": 1, "crash_data": {"threads": [{"frames": [{"function": "ok"}]}]}}\n'
                     b"not json\n"
                     b'{"id": 3}\n'
                     b'{"id": 4, "crash_data": 42}\n')
    code = main(["signature", "--batch", str(path), "--data-dir", str(tmp_path / "home")])
    captured = capsys.readouterr()
    records = [json.loads(line) for line in captured.out.splitlines()]
    assert code == 1
    assert len(records) == 4
    assert records[0]["signature"] == "ok"
    assert "error" in records[1] and records[1]["line"] == 2
    assert "error" in records[2] and records[2]["id"] == 3
    assert records[3]["signature"] == "" and any("Rule failed" in n for n in records[3]["notes"])
    assert "2 of 4" in captured.err
    assert "Traceback" not in captured.err


def test_single_object_json_and_text(tmp_path, capsys):
    case = next(c for c in _cases() if "stackwalk" in c)
    path = tmp_path / "one.json"
    path.write_text(json.dumps({"stackwalk": case["stackwalk"], "annotations": case["annotations"]}),
                    encoding="utf-8")
    assert main(["signature", str(path), "--json", "--data-dir", str(tmp_path / "home")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["signature"] == case["expected_signature"]
    assert out["profile"] == "mozilla" and out["rule_set"] == "siggen 2.2.20241029"
    assert out["explanation"] and out["proto_signature"]
    assert main(["signature", str(path), "--data-dir", str(tmp_path / "home")]) == 0
    captured = capsys.readouterr()
    assert captured.out == case["expected_signature"] + "\n"
    assert "profile: mozilla" in captured.err


def test_bad_single_input_is_a_one_line_error(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{nope", encoding="utf-8")
    assert main(["signature", str(bad), "--data-dir", str(tmp_path / "home")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a JSON document" in err
    assert main(["signature", str(tmp_path / "missing.json"), "--data-dir", str(tmp_path / "home")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_profiles_from_the_command_line(tmp_path, capsys):
    home = tmp_path / "home"
    assert main(["signature", "--new-profile", "myapp", "--from", "generic", "--data-dir", str(home)]) == 0
    capsys.readouterr()
    assert (home / "profiles" / "myapp" / "prefix_signature_re.txt").is_file()
    assert main(["signature", "--list-profiles", "--json", "--data-dir", str(home)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == ["mozilla", "generic", "generic-v1", "myapp"]
    crash = tmp_path / "c.json"
    crash.write_text(json.dumps({"threads": [{"frames": [{"function": "__GI_raise"}, {"function": "app::run()"}]}]}),
                     encoding="utf-8")
    assert main(["signature", str(crash), "--profile", "myapp", "--data-dir", str(home)]) == 0
    assert capsys.readouterr().out.strip() == "app::run"
    (home / "profiles" / "myapp" / "irrelevant_signature_re.txt").write_text("ok\nbad[\n", encoding="utf-8")
    assert main(["signature", str(crash), "--profile", "myapp", "--data-dir", str(home)]) == 1
    err = capsys.readouterr().err
    assert "irrelevant_signature_re.txt, line 2" in err
    assert main(["signature", str(crash), "--profile", "nope", "--data-dir", str(home)]) == 1
    assert "no profile 'nope'" in capsys.readouterr().err


def test_lone_surrogates_survive_as_json_escapes(tmp_path):
    line = b'{"id": 1, "crash_data": {"threads": [{"frames": [{"function": "a\\ud800b"}]}]}}\n'
    proc = subprocess.run([sys.executable, "-m", "crashdesk", "--data-dir", str(tmp_path), "signature", "--batch",
                           "-"], input=line, capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()[-1000:]
    assert json.loads(proc.stdout)["signature"] == "a\ud800b"
