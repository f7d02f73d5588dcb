"""The README's command lines parse with the real parser (issue 20: ``export ... --to`` did not exist), and no
``--help`` shows reStructuredText markup."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from crashdesk.cli import build_parser

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_commands() -> list[list[str]]:
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(), re.S)
    out = []
    for block in blocks:
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith("crashdesk "):
                argv = shlex.split(line)[1:]
                out.append([a.replace("...", "") for a in argv if a != "CRASH_ID..."] or argv)
    return out


def test_readme_has_commands():
    assert len(readme_commands()) >= 4


@pytest.mark.parametrize("argv", readme_commands(), ids=lambda a: " ".join(a)[:40])
def test_readme_command_parses(argv):
    parser = build_parser()
    if argv[0] == "export":
        argv = [*argv[:1], "00000000-0000-0000-0000-000000261129", *argv[1:]]
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            parser.parse_args(argv)
        except SystemExit as exc:
            pytest.fail(f"crashdesk {' '.join(argv)}: exit {exc.code}: {err.getvalue()}")


def test_no_help_shows_rst_markup():
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # the sub-command parsers
    for name, sub in commands.items():
        text = sub.format_help()
        assert "``" not in text, f"crashdesk {name} --help shows RST markup"
