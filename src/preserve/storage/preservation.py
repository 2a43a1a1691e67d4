"""The state never says more than the copies (issue 11, item 8).

PRESERVED means the AIP's storage policy holds over *verified* replicas. When an audit fails the
replicas that carried it, or a probe or listing finds a store empty, the policy may no longer
hold: the SIP then leaves PRESERVED for AT_RISK, and comes back to PRESERVED once a repair or a
new copy proves the policy again. Every edge that changes a replica's state calls
:func:`settle` in the same transaction; the change is a PREMIS event (a warning going to risk, a
success coming back), so the log says when and why.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from preserve.catalog.events import EventType, Outcome, record_event
from preserve.catalog.models import Aip, Sip, SipState
from preserve.catalog.repository import verified_targets
from preserve.storage.profiles import StorageProfile


def settle(session: Session, aip: Aip, profile: StorageProfile, why: str = "") -> SipState | None:
    """Move the AIP's SIP between PRESERVED and AT_RISK as its verified replicas say; the
    state it is left in (None: no SIP row)."""
    sip = session.get(Sip, aip.sip_id)
    if sip is None:
        return None
    session.flush()
    verified = verified_targets(session, aip.id)
    holds = profile.policy_holds(verified)
    copies = ", ".join(sorted(verified)) or "none"
    if sip.state == SipState.PRESERVED and not holds:
        sip.state = SipState.AT_RISK
        outcome, detail = Outcome.WARNING, f"AT RISK: the policy of profile {profile.name} no "
        detail += f"longer holds over verified replicas ({copies})"
    elif sip.state == SipState.AT_RISK and holds:
        sip.state = SipState.PRESERVED
        outcome, detail = Outcome.SUCCESS, "PRESERVED again: the policy of profile "
        detail += f"{profile.name} holds over {copies}"
    else:
        return sip.state
    record_event(
        session,
        EventType.REPLICATION,
        outcome,
        object_type="aip",
        object_id=aip.id,
        agency_id=aip.agency_id,
        detail=f"{detail}{'; ' + why if why else ''}"[:2000],
    )
    return sip.state
