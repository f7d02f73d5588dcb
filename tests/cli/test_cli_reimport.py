"""Re-importing a stored dump says what became of its annotations (issue 20). One behaviour: a stored crash
keeps the annotations it arrived with; the new or different ones are listed as not merged."""

from __future__ import annotations

import json
from pathlib import Path

from crashdesk.cli import main

DUMP = Path(__file__).resolve().parents[1] / "data" / "crashes" / "05-thread" / "dump.dmp"


def test_reimport_reports_annotations_not_merged(capsys, tmp_path):
    home = str(tmp_path / "home")
    assert main(["import", str(DUMP), "--annotations", '{"ProductName": "A", "Version": "1"}',
                 "--data-dir", home]) == 0
    first = capsys.readouterr().out.split()[0]

    assert main(["import", str(DUMP), "--annotations", '{"ProductName": "A", "Version": "1"}',
                 "--data-dir", home]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{first}  already stored (same annotations)")

    assert main(["import", str(DUMP), "--annotations", '{"ProductName": "B", "Version": "1", "URL": "x"}',
                 "--data-dir", home, "--json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)["imported"]
    assert result["duplicate"] and result["annotations_not_merged"] == ["ProductName", "URL"]
    assert main(["import", str(DUMP), "--annotations", '{"ProductName": "B", "Version": "1", "URL": "x"}',
                 "--data-dir", home]) == 0
    assert "its annotations were kept, 2 new or different not merged: ProductName, URL" in capsys.readouterr().out
    assert main(["show", first, "--json", "--data-dir", home]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["annotations"]["ProductName"] == "A" and "URL" not in shown["annotations"]
