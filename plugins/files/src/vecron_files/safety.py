"""Checks an XLSX workbook must pass before openpyxl opens it.

An XLSX file is a zip of XML parts, so a small hostile file can unpack to gigabytes
(a zip bomb) or expand entities to gigabytes while parsing (billion laughs). The zip's
directory is read first: the sizes it declares bound what Python's zipfile will ever
unpack (it stops at the declared size, and a lying entry fails its CRC check). Then every
XML part's prolog is parsed up to its root element, and a part that declares a DTD (where
entities are declared) is refused. openpyxl parses through defusedxml too (which refuses
entity declarations), but that can be switched off by an environment variable; this
check cannot.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import IO
from xml.parsers import expat

from vecron import FinalError

#: Parts smaller than this unpacked are never refused for their ratio: they cannot
#: hurt, and tiny repetitive parts compress far beyond any sane limit.
RATIO_FLOOR = 1024 * 1024
_XML_SUFFIXES = (".xml", ".rels", ".vml")
_CHUNK = 64 * 1024


def check_workbook(
    path: Path,
    name: str,
    *,
    max_uncompressed_bytes: int,
    max_compression_ratio: float,
    max_members: int,
) -> None:
    """Refuse the workbook at ``path`` (shown as ``name``) if opening it could exhaust memory.

    :raises FinalError: not a zip archive, too many parts, too large unpacked, a part
        compressed beyond ``max_compression_ratio``, or an XML part with a DTD.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise FinalError(
            f"input.file {name!r} is not an XLSX workbook ({error}); "
            "a password-protected workbook must be saved without a password first"
        ) from None
    with archive:
        members = archive.infolist()
        if len(members) > max_members:
            raise FinalError(
                f"input.file {name!r} has {len(members)} parts, over "
                f"input.max_zip_members ({max_members}): refused"
            )
        total = sum(member.file_size for member in members)
        if total > max_uncompressed_bytes:
            raise FinalError(
                f"input.file {name!r} unpacks to {total} bytes, over "
                f"input.max_uncompressed_bytes ({max_uncompressed_bytes}): refused as a "
                "possible zip bomb"
            )
        for member in members:
            ratio = member.file_size / max(member.compress_size, 1)
            if member.file_size > RATIO_FLOOR and ratio > max_compression_ratio:
                raise FinalError(
                    f"input.file {name!r}: part {member.filename!r} is compressed "
                    f"{ratio:.0f} to 1, over input.max_compression_ratio "
                    f"({max_compression_ratio:g}): refused as a possible zip bomb"
                )
        for member in members:
            if member.filename.lower().endswith(_XML_SUFFIXES):
                _refuse_dtd(archive, member, name)


class _HasDtd(Exception):
    pass


class _RootReached(Exception):
    pass


def _has_dtd(source: IO[bytes]) -> bool:
    """Does the XML in ``source`` declare a DTD? Reads only up to the root element."""
    parser = expat.ParserCreate()

    def doctype(*_: object) -> None:
        raise _HasDtd

    def root(*_: object) -> None:
        raise _RootReached

    parser.StartDoctypeDeclHandler = doctype
    parser.StartElementHandler = root
    try:
        while chunk := source.read(_CHUNK):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except _HasDtd:
        return True
    except (_RootReached, expat.ExpatError):
        # Broken XML is openpyxl's to report, in its own words.
        return False
    return False


def _refuse_dtd(archive: zipfile.ZipFile, member: zipfile.ZipInfo, name: str) -> None:
    # A DTD can only come before the root element: the parse stops at its start tag.
    try:
        with archive.open(member) as source:
            declared = _has_dtd(source)
    except (zipfile.BadZipFile, OSError, EOFError):
        return  # a broken part: openpyxl reports it
    if declared:
        raise FinalError(
            f"input.file {name!r}: part {member.filename!r} declares a DTD, which no "
            "workbook needs: refused (entity expansion attack)"
        )
