"""Which storage profile a record is placed under.

Several profiles coexist in the profiles directory. Each agency is bound to one (or to the
default, ``PRESERVE_STORAGE_PROFILE``); an administrator may place one SIP under another
profile by name. The profile is loaded, and so checked, when the SIP is accepted: no record is
acknowledged under a profile that cannot be used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from preserve.catalog.models import Agency
from preserve.catalog.repository import replica_targets
from preserve.errors import ConfigurationError, NotFound, UnknownProfile
from preserve.storage import repository as repo
from preserve.storage.profiles import load_profile
from preserve.storage.stores import Stores


def profile_for_sip(stores: Stores, agency: Agency, override: str | None = None) -> str:
    """The profile reference to record on a new SIP of ``agency``.

    ``override`` is an administrator's choice for this SIP: a profile name from the profiles
    directory (never a path, so a client cannot make the server read other files); a name
    that does not load is the client's mistake (422). The agency's or the default profile
    failing to load is the operator's (500)."""
    if override is not None:
        if not _is_plain_name(override):
            raise UnknownProfile(f"{override!r}: give the name of a profile, not a path")
        try:
            stores.profile(override)
        except ConfigurationError as exc:
            raise UnknownProfile(f"storage profile {override!r} cannot be used: {exc}") from exc
        return override
    ref = agency.storage_profile or stores.default_profile
    stores.profile(ref)
    return ref


def bind_agency(session: Session, stores: Stores, agency_name: str, ref: str | None) -> Agency:
    """Bind an agency to a profile (``None``: back to the default). The caller commits."""
    agency = repo.agency_by_name(session, agency_name)
    if agency is None:
        raise NotFound(f"no agency {agency_name!r}")
    if ref is not None:
        stores.profile(ref)
    agency.storage_profile = ref
    return agency


@dataclass
class ProfileEntry:
    name: str
    path: str
    is_default: bool
    error: str | None = None
    targets: list[str] = field(default_factory=list)
    policy: dict[str, int] = field(default_factory=dict)
    agencies: list[str] = field(default_factory=list)


def list_profiles(session: Session, stores: Stores) -> list[ProfileEntry]:
    """Every profile file in the profiles directory, and the agencies bound to each."""
    default = stores.profile_path().resolve()
    bound: dict[str, list[str]] = {}
    for name, ref in repo.agency_profiles(session):
        path = stores.profile_path(ref).resolve()
        bound.setdefault(str(path), []).append(name)
    paths = sorted(Path(stores.profiles_dir).glob("*.toml"))
    if default not in [p.resolve() for p in paths]:
        paths.append(default)
    return [_entry(path, path.resolve() == default, bound) for path in paths]


def _entry(path: Path, is_default: bool, bound: dict[str, list[str]]) -> ProfileEntry:
    entry = ProfileEntry(path.stem, str(path), is_default)
    entry.agencies = sorted(bound.get(str(path.resolve()), []))
    try:
        profile = load_profile(path)
    except ConfigurationError as exc:
        entry.error = str(exc)
        return entry
    entry.name = profile.name
    entry.targets = [f"{t.name} ({t.kind}, {t.site}, {t.media})" for t in profile.targets]
    entry.policy = profile.policy.model_dump()
    return entry


def _is_plain_name(ref: str) -> bool:
    return bool(ref) and "/" not in ref and "\\" not in ref and not ref.endswith(".toml")


def known_targets(session: Session, stores: Stores) -> set[str]:
    """The targets of the default profile, of every profile AIPs were placed under, and every
    target a replica names (also one no profile names any more)."""
    names = replica_targets(session)
    for ref in {stores.default_profile} | repo.profiles_in_use(session):
        try:
            names.update(t.name for t in stores.profile(ref).targets)
        except ConfigurationError:
            continue  # a broken profile is reported by the commands that load it
    return names
