"""Downloading a large AIP as a zip over HTTP: the server's memory and throughput.

One run: a real ``preserve serve`` (SQLite, two filesystem targets) preserves one AIP of
``--size-mib`` (2 GiB) pushed as a streamed multipart body; then the AIP is downloaded from
``GET /v1/aips/{id}/download`` while the server process's resident set is sampled every 20 ms
from /proc. Baselines in the same run: the server's resident set at rest just before, and
reading the stored payload file from the target directory straight to the output disk (what
any download of those bytes costs at the least). The zip is then unpacked and validated as a
bag with bagit-python (sha256 and sha512 of every file).

    python bench/download.py [--size-mib 2048] [--dir /tmp] [--format zip|tar]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from support.server import Server, cli_env, run_cli  # noqa: E402

MIB = 1024 * 1024
BOUNDARY = "bench-download-boundary-5d1e"


def profile(work: Path) -> Path:
    folder = work / "profiles"
    folder.mkdir()
    targets = "".join(
        f'\n[[targets]]\nname = "{name}"\nkind = "filesystem"\nsite = "{site}"\n'
        f'media = "{media}"\nroot = "{work / "stores" / name}"\n'
        for name, site, media in (("site-a-disk", "a", "disk"), ("site-b-nas", "b", "nas"))
    )
    policy = "[policy]\nmin_copies = 2\nmin_sites = 2\nmin_media = 2\n"
    (folder / "local.toml").write_text(f'name = "local"\n{policy}{targets}', encoding="utf-8")
    return folder


def body(size: int) -> Iterator[bytes]:
    meta = {
        "title": "download benchmark",
        "creator": "bench",
        "date": "2024-01-01",
        "retention": "10y",
        "archival_code": "BENCH-DL-0001",
    }
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n'
        f"{json.dumps(meta)}\r\n--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="files"; filename="scans/big.tif"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    block = bytearray(os.urandom(MIB))
    for n in range(size // MIB):
        block[:8] = n.to_bytes(8, "big")
        yield bytes(block)
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def rss(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise SystemExit(f"no {field} for {pid}")


def preserve(server: Server, headers: dict[str, str], size: int) -> str:
    with httpx.Client(base_url=server.url, headers=headers, timeout=3600) as client:
        typed = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
        pushed = client.post("/v1/sips", content=body(size), headers=typed)
        pushed.raise_for_status()
        while (sip := client.get(f"/v1/sips/{pushed.json()['id']}").json())["state"] not in (
            "PRESERVED",
            "REJECTED",
        ):
            time.sleep(0.5)
        if sip["state"] != "PRESERVED":
            raise SystemExit(f"benchmark SIP rejected: {sip['reasons']}")
        return sip["aip_id"]


def download(server: Server, headers, aip_id: str, fmt: str, out: Path) -> tuple[float, int]:
    """Seconds and the peak resident set of the server process while streaming."""
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss(server.proc.pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    url = f"{server.url}/v1/aips/{aip_id}/download?format={fmt}"
    with httpx.stream("GET", url, headers=headers, timeout=3600) as r, open(out, "wb") as f:
        r.raise_for_status()
        for chunk in r.iter_bytes(MIB):
            f.write(chunk)
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    return seconds, peak[0]


def plain_copy(work: Path, out: Path) -> float:
    """The floor: the stored payload read from the target directory and written out."""
    source = next((work / "stores" / "site-a-disk").rglob("big.tif"))
    start = time.perf_counter()
    with open(source, "rb") as src, open(out, "wb") as dst:
        while chunk := src.read(MIB):
            dst.write(chunk)
    return time.perf_counter() - start


def validate(archive: Path, work: Path, aip_id: str) -> float:
    import bagit

    start = time.perf_counter()
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(work / "unpacked")
    bagit.Bag(str(work / "unpacked" / aip_id)).validate(processes=2)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=2048)
    parser.add_argument("--format", choices=("zip", "tar"), default="zip")
    parser.add_argument("--dir", default=None)
    args = parser.parse_args()
    size = args.size_mib * MIB
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average before: {load} (2 cores, shared with other work)")
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        work = Path(tmp)
        env = cli_env(work / "var", f"sqlite:///{work / 'catalogue.db'}", profile(work))
        server = Server(env, work)
        try:
            made = run_cli(env, "tokens", "create", "--agency", "bench", "--role", "submitter")
            headers = {"Authorization": f"Bearer {made.stdout.strip().splitlines()[-1]}"}
            aip_id = preserve(server, headers, size)
            at_rest = rss(server.proc.pid)
            seconds, peak = download(server, headers, aip_id, args.format, work / "aip.out")
            lifetime = rss(server.proc.pid, "VmHWM")
        finally:
            server.stop()
        floor = plain_copy(work, work / "plain.out")
        archive_size = (work / "aip.out").stat().st_size
        (work / "plain.out").unlink()
        checked = validate(work / "aip.out", work, aip_id) if args.format == "zip" else None
    print(f"AIP of {args.size_mib} MiB as {args.format}: {archive_size} bytes")
    print(
        f"  server RSS at rest {at_rest / 1e6:.0f} MB; peak while streaming {peak / 1e6:.0f} MB "
        f"(+{(peak - at_rest) / 1e6:.0f} MB); lifetime peak (incl. the upload) "
        f"{lifetime / 1e6:.0f} MB; limit 250 MB: {'OK' if peak < 250e6 else 'EXCEEDED'}"
    )
    print(
        f"  download {seconds:.2f} s = {size / seconds / 1e6:.0f} MB/s; plain file copy "
        f"{floor:.2f} s = {size / floor / 1e6:.0f} MB/s; ratio {floor / seconds:.2f}"
    )
    if checked is not None:
        print(f"  unzip + bagit validate (sha256, sha512): {checked:.1f} s, valid")


if __name__ == "__main__":
    main()
