"""Check 3-4 (DA/T 70 内容数据可读性): each payload file proven to open, by a validator chosen by
its identified format (:mod:`.registry`), in capped worker processes (:mod:`.pool`).

Families and tools: PDF and PDF/A (:mod:`.pdf`, pikepdf/qpdf), raster images (:mod:`.image`,
Pillow), OFD (:mod:`.ofd`, GB/T 33190 structure and optional XSD), OOXML and ODF
(:mod:`.office`), text and XML (:mod:`.text`), audio and video (:mod:`.av`, ffprobe).
"""

from preserve.ingest.validation.policy import ValidationPolicy
from preserve.ingest.validation.pool import validate_many, validate_one
from preserve.ingest.validation.result import Item, Limits, Validation

__all__ = ["Item", "Limits", "Validation", "ValidationPolicy", "validate_many", "validate_one"]
