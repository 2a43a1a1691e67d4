"""``preserve push DIR --metadata meta.json --url URL --token T``: the agency's client, on
:mod:`preserve.client`.

1. Hash every file under DIR (sha256) and declare each path, size and digest in the metadata,
   so the archive checks them (DA/T 70 2-1, 2-2, 2-7).
2. Files of ``--large-mib`` or more go as resumable uploads (tus 1.0): each is created once,
   its URL kept in a state file, and sent in chunks; after a failure the next run asks the
   server's offset (HEAD) and goes on from there.
3. One ``POST /v1/sips`` carries the metadata, the small files and the finished uploads, with
   an ``Idempotency-Key`` derived from the content (or ``--idempotency-key``): a retry after a
   dropped connection, or a second run, returns the same SIP and never makes a second one.
4. Wait until the archive has run its checks, fetch the signed receipt, verify it against
   ``GET /v1/keys``, print it (and save it with ``--receipt``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer

from preserve.cli.common import console, err_console
from preserve.cli.progress import byte_progress
from preserve.cli.receipt import describe
from preserve.client import Client, ClientError, WaitTimedOut
from preserve.client.api import DONE_CHECKING
from preserve.errors import InvalidInput, PreserveError


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
    receipt: Path | None = typer.Option(None, help="Save the signed receipt here."),
    timeout: float = typer.Option(300, help="Seconds one request may take."),
) -> None:
    """Push DIR as one SIP, resuming after failures; print the verified receipt."""
    doc = json.loads(metadata.read_bytes())
    if not isinstance(doc, dict):
        raise InvalidInput(f"{metadata} must hold a JSON object")
    if not any(p.is_file() for p in directory.rglob("*")):
        raise InvalidInput(f"{directory} holds no files")
    retry = lambda message: err_console.print(message, markup=False)  # noqa: E731
    with Client(url, token, timeout=timeout, on_retry=retry) as client:
        try:
            _push(client, directory, doc, idempotency_key, large_mib, state_dir, wait, receipt)
        except ClientError as exc:
            for check in getattr(exc, "problem", {}).get("checks") or []:
                err_console.print(f"  {check['code']} {check['name']}: {check['detail']}")
            raise PushFailed(str(exc)) from exc


def _push(client, directory, doc, key, large_mib, state_dir, wait, save) -> None:
    total = sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())
    with byte_progress("hashing", total) as advance:
        prepared = client.prepare(directory, doc, advance)
    key = key or prepared.idempotency_key
    state_file = state_dir / f"{key}.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else {}

    def keep_state() -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        state_file.write_text(json.dumps(state))

    with byte_progress("sending", total) as advance:
        pushed = client.send(
            prepared,
            idempotency_key=key,
            large_bytes=large_mib * 1024 * 1024,
            uploads=state,
            progress=advance,
            on_upload=keep_state,
        )
    state_file.unlink(missing_ok=True)
    replay = " (already received: same Idempotency-Key)" if pushed.replayed else ""
    console.print(f"SIP {pushed.sip_id} received{replay}; Idempotency-Key {key}", highlight=False)
    if wait > 0:
        _finish(client, pushed.sip_id, wait, save)


def _finish(client: Client, sip_id: str, wait: float, save: Path | None) -> None:
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
    console.print_json(signed.document.decode("utf-8"))
    console.print(f"receipt verified: {describe(signed.receipt)}", highlight=False)
