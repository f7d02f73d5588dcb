"""``crashdesk sync`` and ``crashdesk server`` as a user runs them: real subprocesses, a real keyring backend
(keyrings.alt plaintext file in tmp_path), the loopback server, SIGKILL in the middle of a sync."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from conftest import TOKEN, cli_env
from socorro_fake import Fault

from crashdesk.config import secrets
from crashdesk.config.servers import ServerRegistry


def crashdesk(
    *args: str, data_dir: Path, env: dict | None = None, stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "crashdesk", "--data-dir", str(data_dir), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=cli_env(env),
        timeout=timeout,
    )


def crashdesk_here(*args: str, data_dir: Path, capsys) -> tuple[int, str, str]:
    """The same command in this process (cheaper than a subprocess; the keyring fixture applies here too)."""
    from crashdesk.cli import main

    code = main(["--data-dir", str(data_dir), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def keyring_vars(home: Path) -> dict[str, str]:
    return {"PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring", "XDG_DATA_HOME": str(home)}


def test_server_add_token_sync_remove(data_dir, fake, crashes, keyring_home):
    env = keyring_vars(keyring_home)
    r = crashdesk("server", "add", "team", fake.url + "/api/", data_dir=data_dir, env=env)
    assert r.returncode == 0, r.stderr
    r = crashdesk("server", "token", "team", data_dir=data_dir, env=env, stdin=TOKEN + "\n")
    assert r.returncode == 0, r.stderr
    assert "PlaintextKeyring" in r.stderr
    # the token is in the (test) keyring, under the server's URL, and in no CrashDesk file
    assert secrets.get_token(fake.url) == (TOKEN, "keyring")
    assert TOKEN not in (data_dir / "servers.json").read_text()
    r = crashdesk("server", "list", "--json", data_dir=data_dir, env=env)
    assert json.loads(r.stdout) == [{"name": "team", "url": fake.url, "rate_limit": None, "token": True}]

    r = crashdesk("sync", "--server", "team", "--with-dumps", "--json", data_dir=data_dir, env=env)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["complete"] and summary["progress"]["fetched"] == len(crashes)
    assert {s.headers.get("auth-token") for s in fake.seen} == {TOKEN}
    assert TOKEN not in r.stdout + r.stderr
    for path in data_dir.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path
    with sqlite3.connect(data_dir / "crashdesk.sqlite") as db:
        assert (
            db.execute("SELECT count(*), count(DISTINCT crash_id) FROM crashes").fetchone()
            == (len(crashes),) * 2
        )
        assert db.execute("SELECT DISTINCT source FROM crashes").fetchall() == [("server:team",)]
        assert db.execute("SELECT count(*) FROM dumps").fetchone()[0] >= len(crashes)

    r = crashdesk("server", "remove", "team", "--json", data_dir=data_dir, env=env)
    assert json.loads(r.stdout) == {"removed": "team", "token_deleted": True}
    assert secrets.get_token(fake.url) == (None, None)
    assert ServerRegistry(data_dir).list() == []


def test_token_from_environment_for_scripts(data_dir, fake, crashes, keyring_home):
    env = {**keyring_vars(keyring_home), "CRASHDESK_API_TOKEN": TOKEN}
    r = crashdesk(
        "sync", "--server", fake.url, "--param", "product=CrashFactoryTools", data_dir=data_dir, env=env
    )
    assert r.returncode == 0, r.stderr
    assert {s.headers.get("auth-token") for s in fake.seen} == {TOKEN}
    with sqlite3.connect(data_dir / "crashdesk.sqlite") as db:
        sources = db.execute("SELECT DISTINCT source FROM crashes").fetchall()
        n = db.execute("SELECT count(*) FROM crashes").fetchone()[0]
    assert sources == [(f"server:127.0.0.1:{fake.port}",)]
    assert n == sum(1 for c in crashes if c.product == "CrashFactoryTools")


def test_incomplete_sync_exits_1_with_a_summary_then_resumes(data_dir, fake, crashes, keyring_home, capsys):
    victim = crashes[5].crash_id
    fake.faults.append(Fault("500", "ProcessedCrash", times=None, crash_id=victim))
    code, out, err = crashdesk_here(
        "sync", "--server", fake.url, "--retries", "2", data_dir=data_dir, capsys=capsys
    )
    assert code == 1
    # the report (a command's result) on stdout, the failure as one line on stderr (cli-conventions.md)
    assert victim in out and "HTTP 500" in out and "missing (1)" in out
    assert err.strip().splitlines()[-1].startswith("crashdesk sync: failed: 1 part(s)")
    assert "Traceback" not in err
    fake.faults.clear()
    code, out, err = crashdesk_here("sync", "--server", fake.url, "--json", data_dir=data_dir, capsys=capsys)
    assert code == 0, err
    assert json.loads(out)["progress"]["fetched"] == 1
    code, out, err = crashdesk_here("sync", "--list", "--json", data_dir=data_dir, capsys=capsys)
    assert code == 0
    [job] = json.loads(out)
    assert job["items"]["done"] == len(crashes) and job["last_status"] == "complete"


def test_usage_errors_and_unreachable_server(data_dir, keyring_home, capsys):
    def run(*args):
        return crashdesk_here(*args, data_dir=data_dir, capsys=capsys)

    code, _, err = run("sync", "--server", "http://127.0.0.1:9", "--param", "nonsense")
    assert code == 2 and "KEY=VALUE" in err
    code, _, err = run("sync", "--server", "http://127.0.0.1:9", "--param", "_columns=uuid")
    assert code == 2 and "set by sync itself" in err
    code, _, err = run("sync", "--server", "nosuchname")
    assert code == 2 and "no saved server" in err
    code, _, err = run("sync", "--server", "http://127.0.0.1:9", "--since", "yesterday-ish")
    assert code == 2 and "not a date" in err
    code, _, err = run("sync", "--server", "http://127.0.0.1:9", "--rate-limit", "fast")
    assert code == 2
    code, _, err = run("server", "add", "bad name", "http://x")
    assert code == 2
    code, _, err = run("server", "add", "x", "ftp://x")
    assert code == 2
    code, _, err = run("server", "token", "x")
    assert code == 2
    # nothing listens on port 9: the listing fails after the retries, exit 1, one summary, no traceback
    code, _, err = run("sync", "--server", "http://127.0.0.1:9", "--timeout", "1", "--retries", "2")
    assert code == 1
    assert "connection error" in err and "Traceback" not in err


def test_sigkill_mid_sync_then_resume_has_no_duplicates_or_gaps(data_dir, fake, crashes, keyring_home):
    fake.latency = 0.01
    env = {**keyring_vars(keyring_home), "CRASHDESK_API_TOKEN": TOKEN}
    args = [
        sys.executable,
        "-m",
        "crashdesk",
        "--data-dir",
        str(data_dir),
        "sync",
        "--server",
        fake.url,
        "--with-dumps",
        "--concurrency",
        "4",
    ]
    proc = subprocess.Popen(args, env=cli_env(env), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db_path = data_dir / "crashdesk.sqlite"
    deadline = time.monotonic() + 120
    stored = 0
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
            if not db_path.exists():
                continue
            try:
                with sqlite3.connect(db_path, timeout=5) as db:
                    stored = db.execute("SELECT count(*) FROM crashes").fetchone()[0]
            except sqlite3.OperationalError:
                continue
            if stored >= 25:
                break
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the sync finished before it could be killed"
    assert 25 <= stored < len(crashes)
    fetched_before = len(fake.requests_to("ProcessedCrash"))

    r = crashdesk(
        "sync", "--server", fake.url, "--with-dumps", "--json", data_dir=data_dir, env=env, timeout=300
    )
    assert r.returncode == 0, r.stderr
    with sqlite3.connect(db_path) as db:
        ids = [row[0] for row in db.execute("SELECT crash_id FROM crashes")]
        dup_dumps = db.execute(
            "SELECT crash, name FROM dumps GROUP BY crash, name HAVING count(*) > 1"
        ).fetchall()
        no_dump = db.execute(
            "SELECT count(*) FROM crashes c WHERE NOT EXISTS (SELECT 1 FROM dumps d WHERE d.crash = c.id)"
        ).fetchone()[0]
        states = dict(db.execute("SELECT state, count(*) FROM sync_items GROUP BY state").fetchall())
    assert sorted(ids) == sorted(c.crash_id for c in crashes)  # no gaps, no duplicates
    assert dup_dumps == [] and no_dump == 0
    assert states == {"done": len(crashes)}
    # the resumed run fetched only what was not stored (plus the few in flight at the kill)
    refetched = len(fake.requests_to("ProcessedCrash")) - fetched_before
    assert refetched <= len(crashes) - stored + 4


def test_interrupt_cancels_cleanly_with_a_summary(data_dir, fake, crashes, keyring_home):
    fake.latency = 0.01
    env = keyring_vars(keyring_home)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "crashdesk",
            "--data-dir",
            str(data_dir),
            "sync",
            "--server",
            fake.url,
            "--concurrency",
            "2",
        ],
        env=cli_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(fake.requests_to("ProcessedCrash")) < 10:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    assert "cancelled: run the same sync again to resume" in out and "Traceback" not in err
    assert err.strip().splitlines()[-1] == "crashdesk sync: failed: cancelled; run the same sync again to retry"
    with sqlite3.connect(data_dir / "crashdesk.sqlite") as db:
        stored = db.execute("SELECT count(*) FROM crashes").fetchone()[0]
        status = db.execute("SELECT last_status FROM sync_jobs").fetchone()[0]
    assert 0 < stored < len(crashes) and status == "cancelled"
    r = crashdesk("sync", "--server", fake.url, data_dir=data_dir, env=env)
    assert r.returncode == 0, r.stderr
    with sqlite3.connect(data_dir / "crashdesk.sqlite") as db:
        assert (
            db.execute("SELECT count(DISTINCT crash_id), count(*) FROM crashes").fetchone()
            == (len(crashes),) * 2
        )
