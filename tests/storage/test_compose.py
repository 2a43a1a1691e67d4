"""deploy/compose.yaml agrees with the code: every PRESERVE_* name it sets is a real setting
(Settings ignores unknown ones, so a typo would be silently lost), the profile it runs loads,
and every variable, bucket and host that profile names is provided."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from preserve.settings import SHIPPED_PROFILES, Settings
from preserve.storage.profiles import S3Target, load_profile, resolve_profile_path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
COMPOSE = PROJECT_ROOT / "deploy" / "compose.yaml"
EXAMPLE_ENV = PROJECT_ROOT / "deploy" / "example.env"
REFERENCE = re.compile(r"\$\{([A-Z0-9_]+)")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def command(service: dict[str, Any]) -> str:
    value = service.get("command") or ""
    return " ".join(value) if isinstance(value, list) else str(value)


def preserve_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose["services"].items() if command(s).startswith("preserve")}


def test_every_preserve_name_is_a_setting(compose):
    settings = {f"PRESERVE_{name.upper()}" for name in Settings.model_fields}
    text = COMPOSE.read_text(encoding="utf-8")
    used = set(re.findall(r"\bPRESERVE_[A-Z0-9_]+", text))
    assert used, "the compose file configures preserve through PRESERVE_* variables"
    assert used - settings == set()
    for name, service in preserve_services(compose).items():
        env = environment(service)
        assert {"PRESERVE_DATABASE_URL", "PRESERVE_STORAGE_PROFILE"} <= set(env), name


def test_the_services_the_issue_asks_for(compose):
    services = compose["services"]
    assert services["postgres"]["image"].startswith("postgres:")
    minio = [n for n, s in services.items() if str(s.get("image", "")).startswith("minio/minio")]
    assert len(minio) >= 2, "two MinIO services as two sites"
    commands = [command(s) for s in preserve_services(compose).values()]
    assert sum(c.startswith("preserve serve") for c in commands) == 1
    assert sum(c == "preserve worker" for c in commands) >= 2
    assert "--no-worker" in next(c for c in commands if c.startswith("preserve serve"))
    url = environment(services["serve"])["PRESERVE_DATABASE_URL"]
    assert url.startswith("postgresql+psycopg://") and "@postgres:5432/" in url


def test_the_profile_it_runs_loads_and_is_wired_up(compose, monkeypatch):
    services = compose["services"]
    env = environment(services["serve"])
    path = resolve_profile_path(env["PRESERVE_STORAGE_PROFILE"], SHIPPED_PROFILES)
    assert path == SHIPPED_PROFILES / "two-sites-and-cold.toml"
    names = _credential_names(path)
    for var in names:
        monkeypatch.setenv(var, "set-by-compose")
    profile = load_profile(path)
    assert len({t.site for t in profile.targets}) >= profile.policy.min_sites

    for name, service in preserve_services(compose).items():
        assert names <= set(environment(service)), f"{name} lacks a profile credential"
    buckets = command(services["buckets"])
    alias = dict((h, a) for a, h in re.findall(r"mc alias set (\w+) https?://([^:/\s]+)", buckets))
    for target in profile.targets:
        assert isinstance(target, S3Target)
        host = re.match(r"https?://([^:/]+)", target.endpoint or "").group(1)
        assert host in services, f"{target.name}: no service {host}"
        where = f"{alias[host]}/{target.bucket}"
        made = [
            line.split("&&")[0].split()
            for line in buckets.splitlines()
            if line.strip().startswith("mc mb") and where in line.split("&&")[0].split()
        ]
        assert made, f"{target.name}: bucket {target.bucket} is never made"
        assert ("--with-lock" in made[0]) == (target.object_lock is not None)


def test_every_variable_it_needs_is_listed_in_the_example_env(compose):
    needed = set(REFERENCE.findall(COMPOSE.read_text(encoding="utf-8")))
    listed = {
        line.split("=", 1)[0]
        for line in EXAMPLE_ENV.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    }
    assert needed == listed
    assert all(
        line.endswith("=")
        for line in EXAMPLE_ENV.read_text().splitlines()
        if line and not line.startswith("#")
    ), "the example holds no secret"
    assert _credential_names(SHIPPED_PROFILES / "two-sites-and-cold.toml") <= needed


def _credential_names(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    return set(re.findall(r'^(?:access|secret)_key_env\s*=\s*"([A-Z0-9_]+)"', text, re.M))
