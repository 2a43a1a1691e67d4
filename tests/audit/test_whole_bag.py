"""The whole bag is audited, and repair takes only a wholly good copy (issue 11, item 5).

A damaged tag file outside the signed tag manifest (``tagmanifest-sha512.txt``) or inside it
(``bag-info.txt``) is an audit failure, is repaired from the good replica, and is never copied
onto another; downloads and restores pass over such a copy exactly as the audit does."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import bagit
import pytest
from audit_support import (
    BAD,
    GOOD,
    checks,
    ingest,
    make_due,
    replica_dir,
    scheduled_round,
    snapshot,
)
from test_repair import flip_byte

from preserve.audit.auditor import AuditOutcome
from preserve.catalog.models import Alert, Replica, ReplicaState, Role
from preserve.jobs.tasks.audit import audit_all
from support.http import auth

SHA512_TAGS = "tagmanifest-sha512.txt"


def damage_sha512_tag_manifest(root: Path) -> None:
    """One digest in the unsigned sha512 tag manifest changed, as an editor or a bit rot would."""
    victim = root / SHA512_TAGS
    text = victim.read_text("utf-8")
    first = text[0]
    victim.write_text(("0" if first != "0" else "1") + text[1:], "utf-8")


def edit_bag_info(root: Path) -> None:
    info = root / "bag-info.txt"
    info.write_bytes(info.read_bytes() + b"Note: edited afterwards\n")


def drop_sha512_tag_manifest(root: Path) -> None:
    (root / SHA512_TAGS).unlink()


DAMAGE = {
    "sha512-tag-manifest": (damage_sha512_tag_manifest, AuditOutcome.MISMATCH, SHA512_TAGS),
    "bag-info": (edit_bag_info, AuditOutcome.MISMATCH, "bag-info.txt"),
    "no-sha512-tag-manifest": (drop_sha512_tag_manifest, AuditOutcome.MISSING, SHA512_TAGS),
}


def valid_bag(root: Path) -> bool:
    try:
        bagit.Bag(str(root)).validate()
    except bagit.BagError:
        return False
    return True


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_tag_file_fails_the_audit_and_is_repaired_from_the_good_copy(
    rt, client, make_token, damage
):
    corrupt, outcome, path = DAMAGE[damage]
    aip_id = ingest(rt, client, make_token)
    good = snapshot(replica_dir(rt, aip_id, GOOD))
    corrupt(replica_dir(rt, aip_id, BAD))
    if outcome == AuditOutcome.MISMATCH:  # bagit-python finds a bag without one valid
        assert not valid_bag(replica_dir(rt, aip_id, BAD))

    audits = {a.target: a for a in audit_all(rt)}
    assert audits[GOOD].outcome == AuditOutcome.OK
    assert audits[BAD].outcome == outcome
    assert path in {p.path for p in audits[BAD].problems}

    make_due(rt, aip_id)
    scheduled_round(rt)

    for target in (GOOD, BAD):
        assert snapshot(replica_dir(rt, aip_id, target)) == good
        assert valid_bag(replica_dir(rt, aip_id, target))
    repaired = [c for c in checks(rt, aip_id) if c.resolution == "repaired"]
    assert [(c.target, c.repair_source) for c in repaired] == [(BAD, GOOD)]


def test_a_damaged_tag_file_is_never_copied_onto_another_replica(rt, client, make_token):
    """The issue's scenario: the sha512 tag manifest damaged on one replica, then a payload
    byte flipped on the other. Neither is a wholly good copy: nothing is written, both fail,
    a critical alert, and no run calls the AIP ok."""
    aip_id = ingest(rt, client, make_token)
    original_tags = (replica_dir(rt, aip_id, BAD) / SHA512_TAGS).read_bytes()
    damage_sha512_tag_manifest(replica_dir(rt, aip_id, GOOD))
    flip_byte(replica_dir(rt, aip_id, BAD))
    before = {t: snapshot(replica_dir(rt, aip_id, t)) for t in (GOOD, BAD)}
    make_due(rt, aip_id)

    scheduled_round(rt)

    assert {t: snapshot(replica_dir(rt, aip_id, t)) for t in (GOOD, BAD)} == before
    assert (replica_dir(rt, aip_id, BAD) / SHA512_TAGS).read_bytes() == original_tags
    with rt.sessions() as session:
        states = {r.target: r.state for r in session.query(Replica).filter_by(aip_id=aip_id)}
        assert states == {GOOD: ReplicaState.FAILED, BAD: ReplicaState.FAILED}
        kinds = {a.kind for a in session.query(Alert).filter_by(aip_id=aip_id)}
        assert "no-good-replica" in kinds
    assert {a.outcome for a in audit_all(rt)} == {AuditOutcome.MISMATCH}

    officer = auth(make_token("archive", Role.OFFICER))
    response = client.get(f"/v1/aips/{aip_id}/download", headers=officer)
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")


def test_downloads_pass_over_a_copy_the_audit_would_fail(rt, client, make_token, tmp_path):
    """Before any audit ran: the copy with the damaged tag file is skipped, the good one sent,
    and what arrives is a valid bag; asking for the damaged copy by name is refused."""
    aip_id = ingest(rt, client, make_token)
    damage_sha512_tag_manifest(replica_dir(rt, aip_id, GOOD))
    officer = auth(make_token("archive", Role.OFFICER))

    response = client.get(f"/v1/aips/{aip_id}/download", headers=officer)
    assert response.status_code == 200, response.text
    assert response.headers["x-preserve-target"] == BAD
    with zipfile.ZipFile(io.BytesIO(response.content)) as zf:
        zf.extractall(tmp_path)
    assert valid_bag(tmp_path / aip_id)

    named = client.get(f"/v1/aips/{aip_id}/download?target={GOOD}", headers=officer)
    assert named.status_code == 503, named.text
    assert SHA512_TAGS in named.json()["detail"]
