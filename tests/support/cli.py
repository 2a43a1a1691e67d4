"""The real ``preserve`` command against a test's archive (the ``settings`` fixture's)."""

from __future__ import annotations

import subprocess

from preserve.settings import Settings
from support.server import cli_env, run_cli


def env_for(settings: Settings, columns: int = 200) -> dict[str, str]:
    env = cli_env(settings.data_dir, settings.database_url, settings.profiles_dir)
    env["COLUMNS"] = str(columns)
    return env


def preserve(settings: Settings, *args: str, columns: int = 200) -> subprocess.CompletedProcess:
    return run_cli(env_for(settings, columns), *args)
