"""Audio and video: ffprobe reads the container and decodes every stream's header. Without
ffprobe on PATH, the file is a ``warn`` (could not be checked)."""

from __future__ import annotations

import json
import shutil
import subprocess
from functools import cache

from preserve.ingest.validation.result import Finding, Item, Limits, failed, passed, warned


@cache
def ffprobe() -> str | None:
    return shutil.which("ffprobe")


@cache
def tool() -> str:
    exe = ffprobe()
    if exe is None:
        return "ffprobe (not installed)"
    out = subprocess.run([exe, "-version"], capture_output=True, text=True, timeout=30).stdout
    return out.split(" Copyright")[0].strip() or "ffprobe"


def validate(item: Item, limits: Limits) -> Finding:
    exe = ffprobe()
    if exe is None:
        return warned("ffprobe is not installed: stream headers not checked")
    run = subprocess.run(
        [exe, "-v", "error", "-show_streams", "-show_format", "-of", "json", str(item.path)],
        capture_output=True,
        timeout=limits.timeout_seconds,
        stdin=subprocess.DEVNULL,
    )
    errors = run.stderr.decode("utf-8", "replace").replace(str(item.path), "").strip()
    if run.returncode != 0 or errors:
        return failed(f"ffprobe: {errors.splitlines()[0] if errors else run.returncode}")
    streams = json.loads(run.stdout or b"{}").get("streams", [])
    if not streams:
        return failed("no audio or video stream found")
    kinds = ", ".join(sorted({s.get("codec_name", "?") for s in streams}))
    return passed(f"{len(streams)} streams decode ({kinds})")
