"""The archive's BagIt profile for agency SIPs (BagIt-Profiles 1.4.0), served at
``GET /v1/bagit-profile``: what a serialized bag sent to ``POST /v1/sips`` must carry.

Generous where RFC 8493 allows (any registered manifest algorithm, BagIt 0.93 to 1.0, tag
files in any encoding), strict where the archive must be (every digest verified; a fetch.txt
only when every file it names is already in the bag: the archive never fetches).
"""

from __future__ import annotations

from typing import Any

from preserve import __version__
from preserve.ingest.metadata import ALIASES
from preserve.ingest.profile import IngestProfile
from preserve.ingest.sipbag import ACCEPTED_VERSIONS, ALGORITHMS

SPEC_VERSION = "1.4.0"
SERIALIZATIONS = ["application/zip", "application/x-tar", "application/gzip"]
_LABELS = {
    "title": "Title",
    "creator": "Creator",
    "date": "Date",
    "retention": "Retention",
    "archival_code": "Archival-Code",
    "fonds": "Fonds",
    "year": "Year",
    "classification": "Classification",
}


def document(profile: IngestProfile, identifier: str) -> dict[str, Any]:
    required = set(profile.metadata_schema.get("required", ()))
    properties = profile.metadata_schema.get("properties", {})
    chinese = {english: name for name, english in ALIASES.items()}
    bag_info: dict[str, Any] = {
        "Payload-Oxum": {
            "required": False,
            "repeatable": False,
            "description": "octets.count; checked when given (DA/T 70 2-1, 2-2)",
        }
    }
    for field, label in _LABELS.items():
        entry: dict[str, Any] = {
            "required": field in required,
            "repeatable": False,
            "description": f"{chinese.get(field, '')} ({field}); also accepted under the label "
            f"{chinese.get(field, '')}. Not needed when a 'metadata' form field comes with "
            "the bag.",
        }
        if "enum" in properties.get(field, {}):
            entry["values"] = list(properties[field]["enum"])
        bag_info[label] = entry
    return {
        "BagIt-Profile-Info": {
            "BagIt-Profile-Identifier": identifier,
            "BagIt-Profile-Version": SPEC_VERSION,
            "Source-Organization": "preserve",
            "External-Description": "SIPs pushed by agencies to a preserve archive (DA/T 46 "
            "record metadata; DA/T 70 four-property checks on receipt). Ingest profile "
            f"{profile.name!r}.",
            "Version": __version__,
        },
        "Bag-Info": bag_info,
        "Manifests-Required": [],
        "Manifests-Allowed": list(ALGORITHMS),
        "Tag-Manifests-Required": [],
        "Tag-Manifests-Allowed": list(ALGORITHMS),
        "Allow-Fetch.txt": True,
        "Fetch.txt-Required": False,
        "Data-Empty": False,
        "Serialization": "optional",
        "Accept-Serialization": SERIALIZATIONS,
        "Accept-BagIt-Version": list(ACCEPTED_VERSIONS),
        "Tag-Files-Required": [],
        "Tag-Files-Allowed": ["*"],
        "Payload-Files-Required": [],
        "Payload-Files-Allowed": ["*"],
        "x-preserve": {
            "fetch": "accepted only when every file it names is already in the bag",
            "limits": profile.limits.__dict__,
            "metadata-schema": "the ingest profile's JSON Schema applies to bag-info's record "
            "items as to a metadata field",
        },
    }
