"""The ``preserve`` command itself: every command loads, ``--help`` and ``--version`` load
none of them."""

from __future__ import annotations

import subprocess
import sys

import click
from typer.core import TyperGroup

from preserve import __version__
from preserve.cli.main import _COMMANDS, _LazyCommands, app

_PROBE = """
import sys
sys.argv = ["preserve", "--help"]
from preserve.cli.main import app
try:
    app()
except SystemExit:
    pass
heavy = ("sqlalchemy", "fastapi", "boto3", "botocore", "cryptography", "httpx", "rich")
print(sorted(m for m in sys.modules if m.split(".")[0] in heavy or m.startswith("preserve.")))
"""


def test_help_imports_no_command_and_no_heavy_library():
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "['preserve.cli', 'preserve.cli.main']"
    assert "Commands:" in done.stdout and "restore" in done.stdout


def test_version():
    done = subprocess.run(
        [sys.executable, "-m", "preserve", "--version"], capture_output=True, text=True
    )
    assert done.returncode == 0
    assert done.stdout.strip() == f"preserve {__version__}"


def test_every_command_loads_under_its_name():
    group = click.Context(click.Command("preserve"))
    lazy = _LazyCommands(name="preserve")
    for name in _COMMANDS:
        command = lazy.get_command(group, name)
        assert command is not None and command.name == name
        assert command.help or command.short_help or isinstance(command, TyperGroup)
    assert lazy.get_command(group, "nosuch") is None
    tokens = lazy.get_command(group, "tokens")  # a group of one command stays a group
    assert isinstance(tokens, TyperGroup) and "create" in tokens.list_commands(group)
    assert app.info.name == "preserve"
