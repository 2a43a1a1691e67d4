"""Jobs the opening package owns: the full text of a record that opened."""

from __future__ import annotations

from typing import Any

from preserve.access import files as access_files
from preserve.access.public_catalogue import load_open_record
from preserve.access.sources import AipRecord
from preserve.catalog.models import Aip
from preserve.errors import NotFound
from preserve.jobs.registry import task
from preserve.opening import fulltext, publication
from preserve.opening.events import OpeningEvent, on_record
from preserve.opening.review import FULLTEXT_JOB
from preserve.runtime import Runtime

MAX_FILE_FOR_TEXT = 256 * 1024 * 1024


@task(FULLTEXT_JOB)
def extract_text(rt: Runtime, payload: dict[str, Any]) -> None:
    """Plan (is it still open? which files?), read each file from a verified copy with no
    transaction open, record the text only if the record is still open."""
    aip_id = payload["aip_id"]
    with rt.sessions.begin() as session:
        try:
            record = load_open_record(session, aip_id)
        except NotFound:
            return  # withdrawn before the job ran: no text of a controlled record is taken
    texts = {path: _text_of(rt, record, path) for path in sorted(record.files)}
    texts = {p: t for p, t in texts.items() if t}
    with rt.sessions.begin() as session:
        if publication.add_texts(session, aip_id, texts):
            aip = session.get(Aip, aip_id)
            detail = f"full text of {len(texts)} of {len(record.files)} files for the public face"
            on_record(session, aip, OpeningEvent.METADATA_EXTRACTION, detail, "preserve")


def _text_of(rt: Runtime, record: AipRecord, path: str) -> str:
    facts = record.files[path]
    if facts.size > MAX_FILE_FOR_TEXT:
        return ""
    chosen, stream = access_files.open_payload(rt.stores, record, path, None)
    data = b"".join(access_files.iter_verified(stream, path, facts, chosen))
    return fulltext.extract(path, data)
