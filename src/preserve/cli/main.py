"""The ``preserve`` command: the operator's face over the same domain functions as the API."""

from __future__ import annotations

import sys

import typer

from preserve.cli import access, admin, audit, catalog, drill, holdings, serve, stats, storage
from preserve.cli import keys as keys_cli
from preserve.cli import push as push_cli
from preserve.cli import receipt as receipt_cli
from preserve.cli import validate as validate_cli
from preserve.cli import verify as verify_cli
from preserve.cli.common import fail
from preserve.errors import PreserveError

app = typer.Typer(
    name="preserve",
    help="Digital preservation repository: ingest, storage, audit, restore.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("serve")(serve.serve)
app.command("worker")(serve.worker)
app.command("restore")(access.restore)
app.command("drill")(drill.drill)
app.add_typer(catalog.catalog_app, name="catalog")
app.add_typer(admin.db_app, name="db")
app.add_typer(admin.tokens_app, name="tokens")
app.add_typer(audit.audit_app, name="audit")
app.add_typer(audit.report_app, name="report")
app.add_typer(keys_cli.keys_app, name="keys")
app.add_typer(verify_cli.verify_app, name="verify")
app.add_typer(storage.storage_app, name="storage")
app.command("push")(push_cli.push)
app.add_typer(receipt_cli.receipt_app, name="receipt")
app.command("validate")(validate_cli.validate)
app.add_typer(holdings.sips_app, name="sips")
app.add_typer(holdings.aips_app, name="aips")
app.command("stats")(stats.stats)


def main() -> None:
    try:
        app()
    except PreserveError as exc:
        fail(str(exc).splitlines()[0] if str(exc) else exc.title)
    except KeyboardInterrupt:
        fail("interrupted", code=130)
    sys.exit(0)
