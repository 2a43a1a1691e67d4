"""PREMIS 3 XML for an AIP: the record (an intellectual entity), its files, events and agents.

Valid against the PREMIS 3.0 schema (http://www.loc.gov/premis/v3). Event types use the
id.loc.gov preservation vocabulary labels; each event carries its place in the hash-chained log
(entry number and hash) as an outcome detail, so a reader can check it against ``verify log``.
Files carry their sha256 and sha512 as fixity, the PRONOM identification as the format registry
entry, and one storage element per verified replica.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable

from preserve.catalog.chain import timestamp
from preserve.catalog.models import Aip, Event, File, ReplicaState

NS = "http://www.loc.gov/premis/v3"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = f"{NS} https://www.loc.gov/standards/premis/v3/premis-v3-0.xsd"
EVENT_TYPES = "http://id.loc.gov/vocabulary/preservation/eventType"

ET.register_namespace("premis", NS)
ET.register_namespace("xsi", XSI)


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, _q(tag), attrs)
    if text is not None:
        element.text = text
    return element


def _identifier(parent: ET.Element, tag: str, kind: str, value: str) -> ET.Element:
    element = _sub(parent, tag)
    _sub(element, f"{tag}Type", kind)
    _sub(element, f"{tag}Value", value)
    return element


def aip_premis(aip: Aip, events: Iterable[Event], agency: str) -> bytes:
    events = list(events)
    root = ET.Element(_q("premis"), {"version": "3.0", f"{{{XSI}}}schemaLocation": SCHEMA_LOCATION})
    _entity(root, aip, events)
    for f in aip.files:
        _file(root, aip, f)
    for e in events:
        _event(root, e)
    for agent in sorted({e.agent for e in events} | {f"agency:{agency}"}):
        _agent(root, agent, [e for e in events if e.agent == agent])
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _entity(root: ET.Element, aip: Aip, events: list[Event]) -> None:
    obj = _sub(root, "object", **{f"{{{XSI}}}type": "premis:intellectualEntity"})
    _identifier(obj, "objectIdentifier", "UUID", aip.id)
    _identifier(obj, "objectIdentifier", "档号 archival code", aip.archival_code)
    level = _sub(obj, "preservationLevel")
    _sub(level, "preservationLevelValue", str(aip.record_metadata.get("retention", "unknown")))
    _sub(level, "preservationLevelRole", "保管期限 retention period")
    _sub(obj, "originalName", aip.title)
    for e in events:
        _identifier(obj, "linkingEventIdentifier", "UUID", e.uuid)


def _file(root: ET.Element, aip: Aip, f: File) -> None:
    obj = _sub(root, "object", **{f"{{{XSI}}}type": "premis:file"})
    _identifier(obj, "objectIdentifier", "AIP path", f"{aip.id}/data/{f.path}")
    chars = _sub(obj, "objectCharacteristics")
    _sub(chars, "compositionLevel", "0")
    for algorithm, digest in (("SHA-256", f.sha256), ("SHA-512", f.sha512)):
        fixity = _sub(chars, "fixity")
        _sub(fixity, "messageDigestAlgorithm", algorithm)
        _sub(fixity, "messageDigest", digest)
        _sub(fixity, "messageDigestOriginator", "preserve")
    _sub(chars, "size", str(f.size))
    fmt = _sub(chars, "format")
    if f.puid:
        if f.format_name:
            _sub(_sub(fmt, "formatDesignation"), "formatName", f.format_name)
        registry = _sub(fmt, "formatRegistry")
        _sub(registry, "formatRegistryName", "PRONOM")
        _sub(registry, "formatRegistryKey", f.puid)
        _sub(registry, "formatRegistryRole", "identification")
    else:
        _sub(_sub(fmt, "formatDesignation"), "formatName", "unidentified")
    if f.format_method:
        _sub(fmt, "formatNote", f"identified by {f.format_method}")
    _sub(obj, "originalName", f.path)
    for replica in aip.replicas:
        if replica.state == ReplicaState.VERIFIED:
            storage = _sub(obj, "storage")
            location = _sub(storage, "contentLocation")
            _sub(location, "contentLocationType", "preserve target")
            _sub(location, "contentLocationValue", f"{replica.target}:data/{f.path}")
    relationship = _sub(obj, "relationship")
    _sub(relationship, "relationshipType", "structural")
    _sub(relationship, "relationshipSubType", "is included in")
    _identifier(relationship, "relatedObjectIdentifier", "UUID", aip.id)


def _event(root: ET.Element, e: Event) -> None:
    event = _sub(root, "event")
    _identifier(event, "eventIdentifier", "UUID", e.uuid)
    _sub(event, "eventType", e.type, authority="eventType", authorityURI=EVENT_TYPES)
    _sub(event, "eventDateTime", timestamp(e.created_at))
    if e.detail:
        _sub(_sub(event, "eventDetailInformation"), "eventDetail", e.detail)
    outcome = _sub(event, "eventOutcomeInformation")
    _sub(outcome, "eventOutcome", e.outcome)
    if e.seq is not None:
        note = f"event log entry #{e.seq}, entry hash {e.entry_hash}, previous {e.prev_hash}"
        _sub(_sub(outcome, "eventOutcomeDetail"), "eventOutcomeDetailNote", note)
    link = _identifier(event, "linkingAgentIdentifier", "preserve agent", e.agent)
    _sub(link, "linkingAgentRole", "executing program")
    target = e.object_id if e.object_type == "aip" else f"{e.object_type}:{e.object_id}"
    _identifier(
        event, "linkingObjectIdentifier", "UUID" if e.object_type == "aip" else "local", target
    )


def _agent(root: ET.Element, name: str, events: list[Event]) -> None:
    agent = _sub(root, "agent")
    _identifier(agent, "agentIdentifier", "preserve agent", name)
    _sub(agent, "agentName", name)
    kind = "organization" if name.startswith("agency:") else "software"
    if name.startswith("cli:"):
        kind = "person"
    _sub(agent, "agentType", kind)
    for e in events:
        _identifier(agent, "linkingEventIdentifier", "UUID", e.uuid)
