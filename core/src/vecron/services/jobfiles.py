"""Job documents read from files and folders, and the diff ``job apply`` shows."""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from vecron.errors import Problem, ValidationError
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


@dataclass(frozen=True, slots=True)
class CheckedDocuments:
    """Documents checked together: each one's source, name (when readable) and whether
    it is valid; the valid ones parsed; every problem found, each naming its source."""

    documents: list[tuple[str, str | None, bool]]
    parsed: list[tuple[str, JobDefinition]]
    problems: list[Problem]

    def error(self) -> ValidationError | None:
        """One error for every problem (None when there are none)."""
        if not self.problems:
            return None
        if len(self.problems) == 1:
            one = self.problems[0]
            error = ValidationError.of([one])
            return error.at(one.source) if one.source is not None else error
        return ValidationError.of(self.problems, what="job documents")


def check_documents(
    documents: Sequence[tuple[str, Any]], parse: Callable[[Any], JobDefinition]
) -> CheckedDocuments:
    """Parse every document (a list's items are documents of their own, ``source[i]``)
    and collect every problem of every one, a job named twice included; raises nothing.

    :raises ValidationError: no documents at all.
    """
    if not documents:
        raise ValidationError("no job documents given", field="documents", reason="empty")
    checked = CheckedDocuments(documents=[], parsed=[], problems=[])
    names: dict[str, str] = {}
    for source, data in _each(documents):
        name = data.get("name") if isinstance(data, Mapping) else None
        readable = name if isinstance(name, str) else None
        try:
            definition = parse(data)
        except ValidationError as exc:
            checked.problems.extend(replace(p, source=source) for p in exc.problems)
            checked.documents.append((source, readable, False))
            continue
        other = names.get(definition.name)
        if other is not None:
            checked.problems.append(duplicate_name(definition.name, other, source))
            checked.documents.append((source, definition.name, False))
            continue
        names[definition.name] = source
        checked.parsed.append((source, definition))
        checked.documents.append((source, definition.name, True))
    return checked


def duplicate_name(name: str, other: str, source: str, field: str = "name") -> Problem:
    """Job ``name`` of ``source`` is also in the ``other`` document."""
    return Problem(
        message=f"job {name!r} is also in {other}",
        field=field,
        code="duplicate-name",
        params={"other": other},
        source=source,
    )


def _each(documents: Sequence[tuple[str, Any]]) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for source, data in documents:
        if isinstance(data, list):
            found += [(f"{source}[{index}]", item) for index, item in enumerate(data)]
        else:
            found.append((source, data))
    return found


def document_diff(old: JobDefinition | None, new: JobDefinition, registry: Registry) -> str:
    """A unified diff of the two documents (keys sorted, secret fields masked, since the
    stored one may hold what the one applied no longer does); empty when they are equal."""

    def lines(d: JobDefinition | None) -> list[str]:
        if d is None:
            return []
        document = masked_document(d, registry)
        return json.dumps(document, indent=2, sort_keys=True, default=str).splitlines()

    return "\n".join(difflib.unified_diff(lines(old), lines(new), "current", "new", lineterm=""))
