"""The search table shows whole product names (issue 20: it cut them at 14 characters)."""

from __future__ import annotations

from crashdesk.cli import main


def test_product_column_fits_the_names(capsys, tmp_path):
    from crashdesk.store import CrashStore

    home = tmp_path / "home"
    names = ["CrashFactoryDemoBrowser", "A", "Thunderbird Daily Nightly"]
    with CrashStore.open(home) as store:
        for name in names:
            store.add_crash({"ProductName": name, "Version": "128.0.1esr-build7"}, {}, source="import")
    assert main(["search", "--data-dir", str(home)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = lines[1]
    start = header.index("product")
    for line in lines[2:]:
        assert any(line[start:].startswith(name + " ") for name in names), line
        assert "128.0.1esr-build7" in line and "…" not in line
    assert main(["search", "--data-dir", str(home), "--limit", "0"]) == 0
    assert capsys.readouterr().out == "3 crashes\n"
