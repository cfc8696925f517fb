"""``transform.filter``: which rows are kept, decided by an expression over ``row``.

The expression runs in vecron's template sandbox (the one ``when:`` conditions use), so a
job author gets data access and nothing else. It is plain text, not ``{{ }}``: the worker
renders templates before the step runs, and the filter must see each row, not the Job
Context.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vecron import FinalError, Program, TemplateError, compile_program, truth

FIELD = "transform.filter"


class RowFilter:
    """A compiled filter expression; :meth:`keeps` evaluates it for one row."""

    def __init__(self, source: str, step_id: str) -> None:
        self.step_id = step_id
        self.program: Program = compile_program(
            source.strip(), step_id=step_id, field=FIELD, expression=True
        )

    def keeps(self, row: Mapping[str, Any], number: int) -> bool:
        """Whether row ``number`` is kept.

        :raises FinalError: the expression fails on this row (an undefined column, a
            comparison of text with a number…), naming the row.
        """
        try:
            value = self.program.evaluate(
                {"row": row}, step_id=self.step_id, field=FIELD, secrets=frozenset()
            )
        except TemplateError as error:
            raise FinalError(f"row {number}: {error.message}") from None
        return truth(value)
