"""Storage profiles load strictly: every mistake is refused with a message naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from preserve.errors import ConfigurationError
from preserve.settings import SHIPPED_PROFILES
from preserve.storage.profiles import FilesystemTarget, S3Target, load_profile

POLICY = """
name = "test"
[policy]
min_copies = 2
min_sites = 2
min_media = 2
"""

TWO_TARGETS = """
[[targets]]
name = "a"
kind = "filesystem"
site = "site-1"
media = "disk"
root = "stores/a"

[[targets]]
name = "b"
kind = "filesystem"
site = "site-2"
media = "tape"
root = "/mnt/b"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "profile.toml"
    path.write_text(text, encoding="utf-8")
    return path


def refused(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigurationError) as caught:
        load_profile(write(tmp_path, text))
    return str(caught.value)


def test_the_shipped_local_profile_loads():
    path = SHIPPED_PROFILES / "local.toml"
    profile = load_profile(path, base_dir=Path("/srv/preserve"))

    assert profile.name == "local"
    assert profile.policy.min_copies == 2
    assert [t.name for t in profile.targets] == ["site-a-disk", "site-b-nas"]
    assert all(isinstance(t, FilesystemTarget) for t in profile.targets)
    assert profile.target("site-a-disk").root == "/srv/preserve/stores/site-a-disk"
    assert profile.policy_holds({"site-a-disk", "site-b-nas"})


def test_relative_roots_resolve_against_base_dir_and_absolute_ones_stay(tmp_path):
    profile = load_profile(write(tmp_path, POLICY + TWO_TARGETS), base_dir=tmp_path)
    assert profile.target("a").root == str(tmp_path / "stores" / "a")
    assert profile.target("b").root == "/mnt/b"
    with pytest.raises(ConfigurationError, match="no target 'c'"):
        profile.target("c")


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("colour = 'blue'\n" + POLICY + TWO_TARGETS, "profile.toml: colour: unknown key"),
        (
            POLICY.replace("min_media = 2", "min_media = 2\nmin_copys = 3") + TWO_TARGETS,
            "policy.min_copys: unknown key",
        ),
        (POLICY + TWO_TARGETS + "rot = 'oops'\n", "targets.1.filesystem.rot: unknown key"),
    ],
    ids=["top-level", "policy", "target"],
)
def test_unknown_keys_are_refused(tmp_path, text, where):
    message = refused(tmp_path, text)
    assert where in message
    assert str(tmp_path / "profile.toml") in message


def test_duplicate_target_names_are_refused(tmp_path):
    message = refused(tmp_path, POLICY + TWO_TARGETS.replace('name = "b"', 'name = "a"'))
    assert "duplicate target names: a" in message


@pytest.mark.parametrize(
    ("policy", "needle"),
    [
        ("min_copies = 3", "min_copies=3 but only 2 targets"),
        ("min_copies = 2\nmin_sites = 3", "min_sites=3 but targets span 2 sites"),
        ("min_copies = 2\nmin_media = 3", "min_media=3 but targets span 2 media"),
    ],
)
def test_a_policy_the_targets_cannot_meet_is_refused(tmp_path, policy, needle):
    text = f'name = "test"\n[policy]\n{policy}\n' + TWO_TARGETS
    assert needle in refused(tmp_path, text)


def test_two_targets_on_one_site_cannot_meet_a_two_site_policy(tmp_path):
    text = POLICY + TWO_TARGETS.replace("site-2", "site-1")
    assert "min_sites=2 but targets span 1 sites" in refused(tmp_path, text)


def test_invalid_toml_is_refused(tmp_path):
    assert "not valid TOML" in refused(tmp_path, POLICY + "[[targets]\nname = 'a'\n")


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(ConfigurationError, match="storage profile not found") as caught:
        load_profile(tmp_path / "nowhere.toml")
    assert "nowhere.toml" in str(caught.value)


S3 = """
name = "cloud"
[policy]
min_copies = 1

[[targets]]
name = "bucket-b"
kind = "s3"
site = "dc2"
media = "object-storage"
bucket = "aips"
endpoint = "https://s3.example.internal"
access_key_env = "PRESERVE_TEST_KEY_B"
secret_key_env = "PRESERVE_TEST_SECRET_B"
"""


def test_s3_credentials_must_be_in_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("PRESERVE_TEST_KEY_B", raising=False)
    monkeypatch.setenv("PRESERVE_TEST_SECRET_B", "s3cr3t")
    message = refused(tmp_path, S3)
    assert "'bucket-b'" in message
    assert "PRESERVE_TEST_KEY_B" in message
    assert "not set" in message

    monkeypatch.setenv("PRESERVE_TEST_KEY_B", "AKIA-test")
    profile = load_profile(write(tmp_path, S3))
    target = profile.target("bucket-b")
    assert isinstance(target, S3Target)
    assert target.credentials() == ("AKIA-test", "s3cr3t")
    assert "s3cr3t" not in repr(profile), "the profile holds names of secrets, not secrets"


def test_an_unknown_target_kind_is_refused(tmp_path):
    message = refused(tmp_path, POLICY + TWO_TARGETS.replace('"filesystem"', '"floppy"', 1))
    assert "targets.0" in message
    assert "'floppy'" in message


THREE = """
name = "three"
[policy]
min_copies = 2
min_sites = 2
min_media = 2

[[targets]]
name = "a"
kind = "filesystem"
site = "dc1"
media = "disk"
root = "/a"

[[targets]]
name = "b"
kind = "filesystem"
site = "dc1"
media = "tape"
root = "/b"

[[targets]]
name = "c"
kind = "filesystem"
site = "dc2"
media = "disk"
root = "/c"
"""


@pytest.mark.parametrize(
    ("verified", "holds"),
    [
        (set(), False),
        ({"a"}, False),
        ({"a", "b"}, False),  # two copies, two media, one site
        ({"a", "c"}, False),  # two copies, two sites, one medium
        ({"b", "c"}, True),
        ({"a", "b", "c"}, True),
        ({"b", "c", "unknown"}, True),
        ({"a", "unknown", "other"}, False),  # names outside the profile do not count
    ],
)
def test_policy_holds_counts_copies_sites_and_media_of_verified_targets(tmp_path, verified, holds):
    profile = load_profile(write(tmp_path, THREE))
    assert profile.policy_holds(verified) is holds
