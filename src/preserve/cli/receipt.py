"""``preserve receipt verify FILE``: check a receipt offline, against the archive's keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from preserve.cli.common import err_console
from preserve.cli.output import Format, Result, emit, format_option, hidden_alias, output_option
from preserve.errors import IntegrityError, InvalidInput
from preserve.ingest import receipt as receipts

receipt_app = typer.Typer(help="Receipts of accepted SIPs.", no_args_is_help=True)


def trusted_from_pem(path: Path) -> dict[str, Any]:
    """{key id: public key} from a PEM file (Ed25519, or SM2 through OpenSSL)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from preserve.trust.keys import key_id_of

    pem = path.read_text(encoding="ascii")
    try:
        public = serialization.load_pem_public_key(pem.encode("ascii"))
    except (ValueError, TypeError, Exception):  # not a key cryptography knows: try SM2
        from preserve.trust import sm2

        key = sm2.Sm2PublicKey.from_pem(pem)
        return {key.key_id: key}
    if not isinstance(public, Ed25519PublicKey):
        raise InvalidInput(f"{path}: not an Ed25519 or SM2 public key")
    return {key_id_of(public): public}


def trusted_from_keys_json(doc: Any) -> dict[str, Any]:
    """{key id: public key} from the JSON of ``GET /v1/keys``."""
    from cryptography.hazmat.primitives import serialization

    out: dict[str, Any] = {}
    for entry in doc if isinstance(doc, list) else []:
        pem = entry.get("public_key_pem", "")
        if entry.get("algorithm", "Ed25519") == "Ed25519":
            out[entry["key_id"]] = serialization.load_pem_public_key(pem.encode("ascii"))
        else:
            from preserve.trust import sm2

            out[entry["key_id"]] = sm2.Sm2PublicKey.from_pem(pem)
    return out


def fetch_keys(url: str, token: str) -> dict[str, Any]:
    import httpx

    response = httpx.get(
        url.rstrip("/") + "/v1/keys", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    if response.status_code != 200:
        raise InvalidInput(f"GET /v1/keys answered {response.status_code}: {response.text[:200]}")
    return trusted_from_keys_json(response.json())


def describe(receipt: dict[str, Any]) -> str:
    counts: dict[str, int] = {}
    for check in receipt.get("checks", []):
        counts[check["outcome"]] = counts.get(check["outcome"], 0) + 1
    outcomes = ", ".join(f"{n} {o}" for o, n in sorted(counts.items()))
    return (
        f"SIP {receipt['sip_id']} → AIP {receipt['aip_id']} ({receipt['agency']}), "
        f"{receipt['file_count']} files, {receipt['total_bytes']} bytes, accepted "
        f"{receipt['accepted_at']}; checks: {outcomes}"
    )


@receipt_app.command("verify")
def verify(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="The receipt JSON."),
    public_key: Path | None = typer.Option(None, help="The archive's public key (PEM)."),
    key: Path | None = hidden_alias("--key", "Old spelling of --public-key."),
    keys_json: Path | None = typer.Option(None, help="Saved output of GET /v1/keys."),
    url: str | None = typer.Option(None, help="The archive's URL: fetch GET /v1/keys."),
    token: str | None = typer.Option(None, envvar="PRESERVE_TOKEN", help="API token for --url."),
    fmt: Format = format_option(),
    output: Path | None = output_option(),
) -> None:
    """Check FILE's signature over its canonical JSON with the archive's key."""
    try:
        document = json.loads(file.read_bytes())
    except ValueError as exc:
        raise IntegrityError(f"{file} is not JSON: {exc}") from None
    trusted = None
    key = public_key or key
    if key is not None:
        trusted = trusted_from_pem(key)
    elif keys_json is not None:
        trusted = trusted_from_keys_json(json.loads(keys_json.read_bytes()))
    elif url is not None:
        if not token:
            raise InvalidInput("--url needs --token (or PRESERVE_TOKEN)")
        trusted = fetch_keys(url, token)
    receipt = receipts.check(document, trusted)
    if trusted is None:
        err_console.print(
            "warning: checked against the key embedded in the receipt only; pass --public-key, "
            "--keys-json or --url to check it is the archive's"
        )
    key_id = document["signature"]["key_id"]
    summary = {"verified": True, "key_id": key_id, "embedded_key_only": trusted is None}
    summary |= {k: receipt[k] for k in ("sip_id", "aip_id", "agency", "file_count", "total_bytes")}
    line = f"receipt verified (key {key_id}): {describe(receipt)}"
    emit(
        Result("receipt", list(summary), [summary], summary, [line], show_table=False), fmt, output
    )
