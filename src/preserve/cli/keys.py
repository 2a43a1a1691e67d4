"""``preserve keys ...``: the security officer's (安全保密员) commands."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import typer

from preserve.catalog.events import EventType
from preserve.cli.common import console, open_runtime
from preserve.cli.output import Format, Result, emit, format_option, hidden_alias, output_option
from preserve.trust.duties import Duty, cli_agent
from preserve.trust.key_actions import record_key_event, revoke_key, rotate_key
from preserve.trust.signing import ALGORITHM, SM2_ALGORITHM

keys_app = typer.Typer(help="The archive's signing keys.", no_args_is_help=True)


class Algorithm(StrEnum):
    ED25519 = "ed25519"
    SM2 = "sm2"


ALGORITHMS = {Algorithm.ED25519: ALGORITHM, Algorithm.SM2: SM2_ALGORITHM}


def _record(rt, type_: EventType, key_id: str, detail: str) -> None:
    with rt.sessions.begin() as session:
        record_key_event(session, type_, key_id, detail, cli_agent(Duty.SECURITY_OFFICER))


@keys_app.command("list")
def keys_list(fmt: Format = format_option(), output: Path | None = output_option()) -> None:
    """Every key the archive has used: which signs now, which are retired or revoked."""
    with open_runtime() as rt:
        rt.signing_key  # noqa: B018 - the first key is made on first use
        infos = rt.keyring.list()
    rows = [
        {
            "key_id": i.key_id,
            "algorithm": i.algorithm,
            "status": _status(i),
            "created": i.created_at,
            "revoked_from": i.revoked_from,
            "reason": i.revocation_reason,
        }
        for i in infos
    ]
    columns = ["key_id", "algorithm", "status", "created", "revoked_from", "reason"]
    emit(Result("archive keys", columns, rows, data=[i.to_dict() for i in infos]), fmt, output)


def _status(info) -> str:
    if info.revoked_from:
        return "revoked"
    return "current" if info.current else ("retired" if info.retired_at else "trusted")


@keys_app.command("rotate")
def keys_rotate(
    algorithm: Algorithm = typer.Option(Algorithm.ED25519, help="ed25519 or sm2."),
    reason: str = typer.Option("scheduled rotation", help="Why (kept in the event log)."),
) -> None:
    """Make a new key current; the old one keeps verifying what it signed."""
    with open_runtime() as rt:
        old = rt.keyring.current_key_id(ALGORITHMS[algorithm])
        if algorithm == Algorithm.ED25519:
            old = rt.signing_key.key_id
        with rt.sessions.begin() as session:
            agent = cli_agent(Duty.SECURITY_OFFICER)
            new = rotate_key(rt.keyring, session, ALGORITHMS[algorithm], old, reason, agent)
    console.print(f"new {ALGORITHMS[algorithm]} key {new.key_id} (was {old})", highlight=False)


@keys_app.command("revoke")
def keys_revoke(
    key_id: str = typer.Argument(..., help="The key to revoke."),
    since: datetime | None = typer.Option(
        None, "--from", help="Signatures made on or after this time are refused (default: now)."
    ),
    reason: str = typer.Option(..., help="Why, e.g. 'private key exposed'."),
) -> None:
    """Mark a retired key revoked from a date."""
    when = since or datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    with open_runtime() as rt, rt.sessions.begin() as session:
        agent = cli_agent(Duty.SECURITY_OFFICER)
        info = revoke_key(rt.keyring, session, key_id, when, reason, agent)
    console.print(
        f"key {info.key_id} revoked from {info.revoked_from.isoformat()}", highlight=False
    )


@keys_app.command("export-public")
def keys_export_public(
    output: Path | None = output_option(),
    out: Path | None = hidden_alias("--out", "Old spelling of --output."),
) -> None:
    """Every public key with its status, as JSON (private keys never leave the data directory)."""
    with open_runtime() as rt:
        rt.signing_key  # noqa: B018
        doc = {"keys": [i.to_dict() for i in rt.keyring.list()]}
        _record(rt, EventType.KEY_EXPORT, "all", f"{len(doc['keys'])} public keys exported")
    text = json.dumps(doc, indent=2) + "\n"
    out = output or out
    if out is None:
        print(text, end="")
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"{len(doc['keys'])} public keys written to {out}", highlight=False)
