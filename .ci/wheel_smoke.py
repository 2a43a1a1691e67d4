"""CI: the built wheel, installed alone in a clean venv, runs from an empty directory.

Started as ``<clean venv>/bin/python .ci/wheel_smoke.py``: starts ``preserve serve`` with its
data directory in a temporary folder, pushes one record, waits for PRESERVED, restores it,
compares the bytes and stops the server. Exits non-zero, saying why, on any failure.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(env: dict[str, str], cwd: Path, *args: str) -> str:
    done = subprocess.run(
        [str(BIN / "preserve"), *args], env=env, cwd=cwd, capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(f"preserve {args[0]} failed ({done.returncode}): {done.stderr or done.stdout}")
    return done.stdout


def wait_for(check, what: str, seconds: float = 120) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.5)
    sys.exit(f"timed out waiting for {what}")


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="wheel-smoke-"))
    empty = root / "cwd"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESERVE_")}
    env["PRESERVE_DATA_DIR"] = str(root / "data")
    env["XDG_CACHE_HOME"] = str(root / "cache")  # push's state files: none from earlier runs
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(root / "serve.log", "wb")  # noqa: SIM115
    server = subprocess.Popen(
        [str(BIN / "preserve"), "serve", "--port", str(port)],
        env=env,
        cwd=empty,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        smoke(env, empty, root, url)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        log.close()
    print("wheel smoke test: passed (serve, push, PRESERVED, restore, stop)")


def smoke(env: dict[str, str], cwd: Path, root: Path, url: str) -> None:
    def healthy() -> bool:
        try:
            return httpx.get(f"{url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(healthy, "the server to start")
    token = run(env, cwd, "tokens", "create", "--agency", "smoke", "--role", "submitter")
    token = token.strip().splitlines()[-1]
    record = root / "record"
    record.mkdir()
    (record / "notice.txt").write_text("关于档案工作的通知\n", encoding="utf-8")
    metadata = root / "metadata.json"
    metadata.write_text(
        json.dumps(
            {
                "title": "Smoke test",
                "creator": "CI",
                "date": "2024-03-01",
                "retention": "permanent",
                "archival_code": "CI-WS-2024-Y-0001",
            }
        )
    )
    receipt = root / "receipt.json"
    run(
        env,
        cwd,
        "push",
        str(record),
        "--metadata",
        str(metadata),
        "--url",
        url,
        "--token",
        token,
        "--receipt",
        str(receipt),
    )
    sip_id = json.loads(receipt.read_text())["receipt"]["sip_id"]
    auth = {"Authorization": f"Bearer {token}"}

    def preserved() -> str | None:
        sip = httpx.get(f"{url}/v1/sips/{sip_id}", headers=auth, timeout=10).json()
        return sip["aip_id"] if sip["state"] == "PRESERVED" else None

    aip_id = wait_for(preserved, "the record to be PRESERVED")
    out = root / "restored"
    run(env, cwd, "restore", str(aip_id), "--to", str(out))
    if (out / "notice.txt").read_bytes() != (record / "notice.txt").read_bytes():
        sys.exit("the restored file differs from the one pushed")
    if any(cwd.iterdir()):
        sys.exit(f"the commands wrote into the current directory: {list(cwd.iterdir())}")


if __name__ == "__main__":
    main()
