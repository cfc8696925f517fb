"""SQL text split into statements, and what each one needs bound.

Splitting is sqlparse's job (it knows quoted strings, comments and PostgreSQL's
dollar quoting). vecron runs one statement per step unless the job says otherwise,
so a ``;`` too many is reported before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlparse
from sqlalchemy import TextClause
from sqlparse import tokens
from sqlparse.exceptions import SQLParseError
from sqlparse.sql import Statement as ParsedStatement

from vecron import FinalError


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement of a step."""

    text: str
    #: sqlparse's verb: ``SELECT`` (also for ``WITH … SELECT``), ``INSERT``, ``UNKNOWN``…
    verb: str

    @property
    def is_query(self) -> bool:
        """A SELECT: read through a server-side cursor, so a row cap stops the fetch."""
        return self.verb == "SELECT"


def _is_empty(parsed: ParsedStatement) -> bool:
    return all(
        token.is_whitespace or token.ttype in tokens.Comment or token.match(tokens.Punctuation, ";")
        for token in parsed.flatten()  # type: ignore[no-untyped-call]
    )


def split(sql: str) -> list[Statement]:
    """The statements of ``sql``, leaving out pieces that are only comments.

    :raises FinalError: sqlparse cannot read the text.
    """
    try:
        parsed = sqlparse.parse(sql)
    except SQLParseError as exc:
        raise FinalError(f"sql: cannot split the text into statements ({exc})") from None
    return [
        Statement(str(statement).strip(), statement.get_type())  # type: ignore[no-untyped-call]
        for statement in parsed
        if not _is_empty(statement)
    ]


def statements_of(sql: str, *, multiple: bool) -> list[Statement]:
    """The statements to run.

    :raises FinalError: no statement, or more than one when ``multiple`` is false.
    """
    found = split(sql)
    if not found:
        raise FinalError("sql: no SQL statement, only whitespace or comments")
    if len(found) > 1 and not multiple:
        raise FinalError(
            f"sql holds {len(found)} statements; a step runs one "
            "(set multiple_statements: true to run them in order in one transaction)"
        )
    return found


def bind_names(statement: TextClause) -> set[str]:
    """The ``:name`` placeholders SQLAlchemy found in the statement."""
    return set(statement.compile().params)
