"""``preserve db ...`` and ``preserve tokens ...``."""

from __future__ import annotations

import typer

from preserve.catalog.db import upgrade
from preserve.catalog.models import Role
from preserve.cli.common import console, keep_files_private, open_runtime
from preserve.settings import Settings
from preserve.trust.tokens import issue_token

db_app = typer.Typer(help="The catalogue database.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    settings = Settings()
    keep_files_private(settings)
    upgrade(settings.sqlalchemy_url, revision)
    console.print(f"database at revision {revision}")


@tokens_app.command("create")
def tokens_create(
    agency: str = typer.Option(..., help="The agency the token acts for (created if new)."),
    role: Role = typer.Option(
        ..., help="submitter, officer, appraiser, ops, admin, security or auditor."
    ),
) -> None:
    """Issue a token. It is printed once, alone on the last line; only its hash is kept."""
    with open_runtime() as rt, rt.sessions.begin() as session:
        _token, plaintext = issue_token(session, agency, role, "cli")
    console.print(f"token for agency {agency!r}, role {role.value} (shown once):", highlight=False)
    print(plaintext)
