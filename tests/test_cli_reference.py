"""The command reference in docs/cli.md and README.md is what ``--help`` prints today."""

from __future__ import annotations

import typer

from tokenstat.cli import app
from tokenstat.cli.reference import commands, main


def test_docs_match_help(capsys):
    status = main(["--check"])
    out = capsys.readouterr().out
    assert status == 0, out


def test_every_command_has_examples_in_its_help(invoke):
    root = typer.main.get_command(app)
    missing = []
    for path, cmd in commands(root):
        if hasattr(cmd, "commands"):  # a group: its commands carry the examples
            continue
        text = invoke(*path, "--help").output
        if "Examples:" not in text or text.count("tokenstat ") < 2:
            missing.append(" ".join(path))
    assert not missing, f"commands without examples in --help: {missing}"
