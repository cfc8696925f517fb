"""Job documents read from files and folders, and the diff ``job apply`` shows."""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vecron.errors import ValidationError
from vecron.jobs.documents import parse_text
from vecron.jobs.limits import DocumentLimits
from vecron.jobs.masking import masked_document
from vecron.models.definition import JobDefinition
from vecron.plugin.registry import Registry

DOCUMENT_SUFFIXES = (".json", ".yaml", ".yml")


def load_documents(
    path: Path, parse: Callable[[Any], JobDefinition], *, limits: DocumentLimits
) -> list[tuple[str, JobDefinition]]:
    """Every job document in a file or folder with where it came from, all validated
    before anything is saved.

    :raises ValidationError: the first bad document, naming file and field.
    """
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix in DOCUMENT_SUFFIXES and p.is_file())
        if not files:
            raise ValidationError(f"{path}: no .json, .yaml or .yml job documents found")
    elif path.is_file():
        files = [path]
    else:
        raise ValidationError(f"{path}: no such file or folder")
    out: list[tuple[str, JobDefinition]] = []
    names: dict[str, str] = {}
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ValidationError(f"{file}: not UTF-8 text") from None
        data = parse_text(text, source=str(file), limits=limits)
        for index, doc in enumerate(data if isinstance(data, list) else [data]):
            where = str(file) if not isinstance(data, list) else f"{file}[{index}]"
            try:
                definition = parse(doc)
            except ValidationError as exc:
                raise exc.at(where) from None
            if definition.name in names:
                other = names[definition.name]
                raise ValidationError(f"{where}: job {definition.name!r} is also in {other}")
            names[definition.name] = where
            out.append((where, definition))
    return out


def document_diff(old: JobDefinition | None, new: JobDefinition, registry: Registry) -> str:
    """A unified diff of the two documents (keys sorted, secret fields masked, since the
    stored one may hold what the one applied no longer does); empty when they are equal."""

    def lines(d: JobDefinition | None) -> list[str]:
        if d is None:
            return []
        document = masked_document(d, registry)
        return json.dumps(document, indent=2, sort_keys=True, default=str).splitlines()

    return "\n".join(difflib.unified_diff(lines(old), lines(new), "current", "new", lineterm=""))
