"""Reading the parts of a ZIP package (OFD, OOXML, ODF) with bounds: a part larger than
``Limits.max_part_bytes`` is not read, and XML is parsed without fetching or expanding
anything external (expat refuses external entities; entity expansion is bounded by expat)."""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET


class PartError(Exception):
    """A part is missing, too large, does not decompress or does not parse; ``part`` names it."""

    def __init__(self, part: str, message: str) -> None:
        super().__init__(message)
        self.part = part


class Package:
    def __init__(self, path: Path, max_part_bytes: int) -> None:
        self.zip = zipfile.ZipFile(path)
        self.names = {info.filename: info for info in self.zip.infolist()}
        self.max_part_bytes = max_part_bytes

    def __enter__(self) -> Package:
        return self

    def __exit__(self, *exc: object) -> None:
        self.zip.close()

    def has(self, name: str) -> bool:
        return name in self.names

    def read(self, name: str) -> bytes:
        info = self.names.get(name)
        if info is None:
            raise PartError(name, "missing from the package")
        if info.file_size > self.max_part_bytes:
            raise PartError(name, f"{info.file_size} bytes, over the {self.max_part_bytes} cap")
        try:
            with self.zip.open(info) as stream:
                return stream.read(self.max_part_bytes + 1)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise PartError(name, f"does not decompress: {exc}") from exc

    def xml(self, name: str) -> ET.Element:
        data = self.read(name)
        try:
            return ET.fromstring(data)
        except ET.ParseError as exc:
            raise PartError(name, f"XML does not parse: {exc}") from exc

    def check_crcs(self) -> None:
        """Every member decompresses to its recorded CRC (the parts not parsed included)."""
        for name, info in self.names.items():
            if info.is_dir():
                continue
            try:
                with self.zip.open(info) as stream:
                    while stream.read(1 << 20):
                        pass
            except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
                raise PartError(name, f"does not decompress: {exc}") from exc


def local(tag: str) -> str:
    return tag.rpartition("}")[2]
