"""The ``preserve`` command: the operator's face over the same domain functions as the API.

Each command's module is imported only when that command runs: ``preserve --help`` and
``preserve --version`` import none of them (nor the database, crypto or HTTP libraries they
pull in), so they answer at once. The table below is the list of commands and their one-line
help; the modules are the commands themselves.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, NamedTuple

import typer
from typer.core import TyperGroup

from preserve import __version__


class _Entry(NamedTuple):
    target: str  # "module:attribute": a typer.Typer (a group) or a function (one command)
    help: str


_COMMANDS: dict[str, _Entry] = {
    "serve": _Entry("preserve.cli.serve:serve", "Run the API with a worker process beside it."),
    "worker": _Entry("preserve.cli.serve:worker", "Claim and run background jobs."),
    "push": _Entry("preserve.cli.push:push", "Push a directory as one SIP, resuming."),
    "sips": _Entry("preserve.cli.holdings:sips_app", "Submission packages: list and search."),
    "aips": _Entry("preserve.cli.holdings:aips_app", "Archival packages: list, search, show."),
    "stats": _Entry("preserve.cli.stats:stats", "Holdings by agency, fonds, year, retention..."),
    "restore": _Entry("preserve.cli.access:restore", "Restore an AIP's payload, verified."),
    "validate": _Entry("preserve.cli.validate:validate", "Re-run check 3-4 over stored AIPs."),
    "audit": _Entry("preserve.cli.audit:audit_app", "Fixity audits."),
    "appraisal": _Entry(
        "preserve.cli.appraisal:appraisal_app", "Retention and disposal: due records, batches."
    ),
    "report": _Entry("preserve.cli.audit:report_app", "Reports for preservation officers."),
    "drill": _Entry("preserve.cli.drill:drill", "Restore a sample from each target and time it."),
    "storage": _Entry("preserve.cli.storage:storage_app", "Targets, profiles, replication."),
    "catalog": _Entry("preserve.cli.catalog:catalog_app", "Rebuild the catalogue from a store."),
    "receipt": _Entry("preserve.cli.receipt:receipt_app", "Verify receipts of accepted SIPs."),
    "verify": _Entry("preserve.cli.verify:verify_app", "Verify the tamper-evident event log."),
    "keys": _Entry("preserve.cli.keys:keys_app", "The archive's signing keys."),
    "tokens": _Entry("preserve.cli.admin:tokens_app", "API tokens."),
    "db": _Entry("preserve.cli.admin:db_app", "The catalogue database."),
    "opening": _Entry("preserve.cli.opening:opening_app", "Opening review and open catalogues."),
    "serve-public": _Entry(
        "preserve.cli.opening:serve_public", "Run the public face alone (open records)."
    ),
}


class _LazyCommands(TyperGroup):
    """A group whose commands are loaded by name when used."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(_COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        entry = _COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module, attribute = entry.target.split(":")
        found = getattr(importlib.import_module(module), attribute)
        if isinstance(found, typer.Typer):
            command = typer.main.get_group(found)  # a group even when it has one command
        else:
            single = typer.Typer(pretty_exceptions_enable=False)
            single.command(cmd_name)(found)
            command = typer.main.get_command(single)
        command.name = cmd_name
        return command

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, entry.help) for name, entry in _COMMANDS.items()])


def _version(value: bool) -> None:
    if value:
        print(f"preserve {__version__}")
        raise typer.Exit()


app = typer.Typer(
    name="preserve",
    cls=_LazyCommands,
    help="Digital preservation repository: ingest, storage, audit, restore.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Digital preservation repository: ingest, storage, audit, restore."""


def main() -> None:
    from preserve.errors import PreserveError

    try:
        app()
    except PreserveError as exc:
        _fail(str(exc).splitlines()[0] if str(exc) else exc.title, exc.cli_exit)
    except KeyboardInterrupt:
        _fail("interrupted", code=130)
    sys.exit(0)


def _fail(message: str, code: int = 1) -> None:
    from preserve.cli.common import fail

    fail(message, code)
