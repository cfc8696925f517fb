"""A step's ``when:`` condition: a Jinja expression that decides whether the step runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vecron.templates.budget import Budget
from vecron.templates.chains import Chain
from vecron.templates.namespaces import TemplateContext
from vecron.templates.program import Program, compile_program

#: Strings that read as "no" in a condition (case-insensitive, surrounding blanks ignored).
#: Variables are strings, so ``when: "{{ vars.ENABLED }}"`` with ENABLED=false must skip.
FALSE_WORDS = frozenset({"", "false", "no", "off", "0", "none", "null"})

_FIELD = "when"


def truth(value: Any) -> bool:
    """How a condition's value decides: strings by :data:`FALSE_WORDS`, others by ``bool``."""
    if isinstance(value, str):
        return value.strip().lower() not in FALSE_WORDS
    return bool(value)


@dataclass(frozen=True, slots=True)
class Condition:
    """A compiled ``when:`` condition of one step."""

    step_id: str
    source: str
    program: Program

    @property
    def references(self) -> frozenset[str]:
        return self.program.references

    @property
    def chains(self) -> tuple[Chain, ...]:
        return self.program.chains

    def evaluate(self, context: TemplateContext, budget: Budget | None = None) -> bool:
        """Whether the step runs. An undefined reference raises TemplateError, never False."""
        value = self.program.evaluate(
            context.namespaces(),
            step_id=self.step_id,
            field=_FIELD,
            secrets=context.secrets,
            budget=budget,
        )
        return truth(value)


def compile_condition(text: str, step_id: str) -> Condition:
    """``steps.check.output.status == 200``, or the same wrapped in ``{{ }}``.

    A wrapped condition must be exactly one expression; anything else (text around it,
    ``{% %}`` blocks) is a syntax error.
    """
    stripped = text.strip()
    if stripped.startswith("{{") and stripped.endswith("}}"):
        program = compile_program(stripped, step_id=step_id, field=_FIELD)
        if program.native:
            return Condition(step_id, text, program)
    program = compile_program(stripped, step_id=step_id, field=_FIELD, expression=True)
    return Condition(step_id, text, program)
