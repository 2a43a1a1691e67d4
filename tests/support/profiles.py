"""Storage profiles as tests and benches use them: two filesystem targets on two sites and
two media (:func:`write_profile`, what most tests use), or one disk target and one S3 target."""

from __future__ import annotations

from pathlib import Path


def write_disk_and_s3_profile(
    folder: Path,
    disk_root: Path,
    endpoint: str,
    bucket: str,
    *,
    s3_name: str = "object-store-b",
    s3_site: str = "site-b",
    s3_media: str = "object-storage",
    storage_class: str | None = None,
    key_env: str = "STORE_B_KEY",
    secret_env: str = "STORE_B_SECRET",
    audit_interval_days: int | None = None,
) -> Path:
    """Write ``folder/local.toml``: policy 2 copies, 2 sites, 2 media over the two targets."""
    folder.mkdir(parents=True, exist_ok=True)
    interval = f"audit_interval_days = {audit_interval_days}\n" if audit_interval_days else ""
    cls = f'storage_class = "{storage_class}"\n' if storage_class else ""
    (folder / "local.toml").write_text(
        f"""name = "local"
[policy]
min_copies = 2
min_sites = 2
min_media = 2
{interval}
[[targets]]
name = "site-a-disk"
kind = "filesystem"
site = "site-a"
media = "disk"
root = "{disk_root}"

[[targets]]
name = "{s3_name}"
kind = "s3"
site = "{s3_site}"
media = "{s3_media}"
endpoint = "{endpoint}"
bucket = "{bucket}"
region = "us-east-1"
{cls}access_key_env = "{key_env}"
secret_key_env = "{secret_env}"
""",
        encoding="utf-8",
    )
    return folder


def write_profile(directory: Path, stores_root: Path, name: str = "local") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.toml"
    path.write_text(
        f"""
name = "{name}"
[policy]
min_copies = 2
min_sites = 2
min_media = 2
audit_interval_days = 30

[[targets]]
name = "site-a-disk"
kind = "filesystem"
site = "site-a"
media = "disk"
root = "{stores_root / "site-a-disk"}"

[[targets]]
name = "site-b-nas"
kind = "filesystem"
site = "site-b"
media = "nas"
root = "{stores_root / "site-b-nas"}"
""",
        encoding="utf-8",
    )
    return path
