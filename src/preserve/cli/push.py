"""``preserve push DIR --metadata meta.json --url URL --token T``: the agency's client, on
:mod:`preserve.client`.

0. Check the URL and the token with one cheap request before any file is hashed.
1. Hash every file under DIR (sha256) and declare each path, size and digest in the metadata,
   so the archive checks them (DA/T 70 2-1, 2-2, 2-7).
2. Files of ``--large-mib`` or more go as resumable uploads (tus 1.0): each is created once,
   its URL kept in a state file, and sent in chunks; after a failure the next run asks the
   server's offset (HEAD) and goes on from there, and says so.
3. One ``POST /v1/sips`` carries the metadata, the small files and the finished uploads, with
   an ``Idempotency-Key`` derived from the content (or ``--idempotency-key``): a retry after a
   dropped connection, or a second run, returns the same SIP and never makes a second one.
   The state file then remembers the SIP, so a later run sends nothing again. State files
   are kept per archive (a digest of its URL names their folder), and a remembered SIP the
   archive does not know (a rebuilt archive, another agency's token) is forgotten and the
   record sent again: the state file can save work, never stop a push.
4. Wait until the archive has run its checks, fetch the signed receipt, verify it against
   ``GET /v1/keys``, save it with ``--receipt``, and print one line.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import typer

from preserve.cli.common import err_console, fail
from preserve.cli.output import Format, Result, emit, format_option, output_option
from preserve.cli.progress import byte_progress
from preserve.client import Client, ClientError, NotFound, WaitTimedOut
from preserve.client.api import DONE_CHECKING
from preserve.client.models import Pushed
from preserve.errors import PreserveError


class PushFailed(PreserveError):
    slug = "push-failed"
    title = "The push did not complete"


def push(
    directory: Path = typer.Argument(..., exists=True, file_okay=False, help="The record's files."),
    metadata: Path = typer.Option(..., exists=True, dir_okay=False, help="Record metadata JSON."),
    url: str = typer.Option(..., envvar="PRESERVE_URL", help="The archive, e.g. https://host"),
    token: str = typer.Option(..., envvar="PRESERVE_TOKEN", help="A submitter token."),
    idempotency_key: str | None = typer.Option(None, help="Default: derived from the content."),
    large_mib: int = typer.Option(16, help="Files this large or larger go as resumable uploads."),
    state_dir: Path = typer.Option(
        Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "preserve" / "push",
        help="Where upload URLs are kept between runs.",
    ),
    wait: float = typer.Option(600, help="Seconds to wait for the archive's checks (0: don't)."),
    receipt: Path | None = typer.Option(None, help="Save the signed receipt (full JSON) here."),
    timeout: float = typer.Option(300, help="Seconds one request may take."),
    fmt: Format = format_option(),
    output: Path | None = output_option(),
) -> None:
    """Push DIR as one SIP, resuming after failures; print a one-line summary."""
    doc = _read_metadata(metadata)
    if not any(p.is_file() for p in directory.rglob("*")):
        fail(f"{directory} holds no files", code=2)
    retry = lambda message: err_console.print(message, markup=False)  # noqa: E731
    with Client(url, token, timeout=timeout, on_retry=retry) as client:
        _check(client, url)
        try:
            states = state_dir / archive_folder(url)
            summary = _push(client, directory, doc, idempotency_key, large_mib, states)
            if wait > 0:
                summary |= _finish(client, summary["sip_id"], wait, receipt)
        except ClientError as exc:
            for check in getattr(exc, "problem", {}).get("checks") or []:
                err_console.print(f"  {check['code']} {check['name']}: {check['detail']}")
            raise PushFailed(str(exc)) from exc
    emit(
        Result("push", list(summary), [summary], summary, [_line(summary)], show_table=False),
        fmt,
        output,
    )


def _read_metadata(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_bytes())
    except ValueError as exc:
        fail(f"{path} is not JSON: {exc}", code=2)
    except OSError as exc:
        fail(f"cannot read {path}: {exc}", code=2)
    if not isinstance(doc, dict):
        fail(f"{path} must hold a JSON object, not {type(doc).__name__}", code=2)
    return doc


def _check(client: Client, url: str) -> None:
    try:
        client.check()
    except ClientError as exc:
        status = getattr(exc, "status", None)
        why = "the archive refused the token" if status in (401, 403) else "check failed"
        fail(f"{url}: {why}: {exc}", code=2)


def _push(client, directory, doc, key, large_mib, state_dir) -> dict[str, Any]:
    total = sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())
    with byte_progress("hashing", total) as advance:
        prepared = client.prepare(directory, doc, advance)
    key = key or prepared.idempotency_key
    state_file = state_dir / f"{key}.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    if "sip_id" in state and not _known(client, state["sip_id"]):
        note(
            f"a previous run remembers SIP {state['sip_id']}, which this archive does not know; "
            "sending again"
        )
        state = {}
    if "sip_id" in state:  # a previous run finished sending: nothing is sent again
        note(f"already pushed by a previous run as SIP {state['sip_id']}; nothing sent again")
        return {
            "sip_id": state["sip_id"],
            "state": state.get("state"),
            "replayed": True,
            "idempotency_key": key,
        }
    uploads = state.get("uploads", {})
    if uploads:
        note(f"resuming {len(uploads)} upload(s) of a previous run")

    def keep(done: dict[str, Any] | None = None) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        state_file.write_text(json.dumps(done or {"uploads": uploads}))

    with byte_progress("sending", total) as advance:
        pushed: Pushed = client.send(
            prepared,
            idempotency_key=key,
            large_bytes=large_mib * 1024 * 1024,
            uploads=uploads,
            progress=advance,
            on_upload=keep,
        )
    keep({"sip_id": pushed.sip_id, "state": pushed.state})
    return {
        "sip_id": pushed.sip_id,
        "state": pushed.state,
        "replayed": pushed.replayed,
        "idempotency_key": key,
    }


def archive_folder(url: str) -> str:
    """The folder of one archive's state files: a digest of its URL, so that pushing the
    same record to two archives keeps two states and no URL is written to a file name."""
    return hashlib.sha256(url.rstrip("/").lower().encode()).hexdigest()[:16]


def _known(client: Client, sip_id: str) -> bool:
    try:
        client.get_sip(sip_id)
    except NotFound:
        return False
    return True


def _finish(client: Client, sip_id: str, wait: float, save: Path | None) -> dict[str, Any]:
    try:
        sip = client.wait(sip_id, DONE_CHECKING, timeout=wait)
    except WaitTimedOut:
        raise PushFailed(f"SIP {sip_id} is still being checked; fetch its receipt later") from None
    if sip.state == "REJECTED":
        for reason in sip.reasons:
            err_console.print(f"  {reason}", markup=False)
        raise PushFailed(f"SIP {sip_id} was rejected")
    signed = client.receipt(sip_id)
    if save is not None:
        save.write_bytes(signed.document)
    r = signed.receipt
    return {
        "state": sip.state,
        "aip_id": r["aip_id"],
        "files": r["file_count"],
        "bytes": r["total_bytes"],
        "receipt_verified": True,
        "receipt_key_id": signed.signature["key_id"],
        "receipt_file": str(save) if save else None,
    }


def _line(s: dict[str, Any]) -> str:
    replay = " (already received: same Idempotency-Key)" if s["replayed"] else ""
    if "aip_id" not in s:
        return f"SIP {s['sip_id']} received{replay}; Idempotency-Key {s['idempotency_key']}"
    saved = f", saved to {s['receipt_file']}" if s["receipt_file"] else ""
    return (
        f"SIP {s['sip_id']} → AIP {s['aip_id']}{replay}: {s['files']} files, {s['bytes']} bytes; "
        f"receipt verified (key {s['receipt_key_id']}){saved}"
    )


def note(message: str) -> None:
    err_console.print(message, markup=False, highlight=False)
