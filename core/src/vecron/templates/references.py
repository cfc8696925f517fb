"""Static checks of what templates read, run when a job is applied (S2.4, issue 4).

A step may read variables, trigger data, execution data and the outputs of steps that run
before it; a reference to itself, a later step or a step that does not exist is an
error in the job definition, reported before anything runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from vecron.errors import Problem, TemplateError, ValidationError
from vecron.templates.chains import Chain
from vecron.templates.condition import compile_condition
from vecron.templates.config import compile_config, field_path
from vecron.templates.program import compile_program, is_template
from vecron.templates.sandbox import NAMESPACES

#: One step as the check sees it: (step id, config, ``when`` condition or None).
StepTemplates = tuple[str, Mapping[str, Any], str | None]


def _strings(value: Any, path: str) -> Iterable[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, field_path(path, key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _strings(item, field_path(path, index))


def references(config_or_text: Mapping[str, Any] | Sequence[Any] | str) -> set[str]:
    """Root references the templates in a config (or one string) read.

    ``{{ steps.fetch.output.body | jsonpath('$.x') }}`` reads ``steps.fetch``;
    ``{{ vars.API_TOKEN }}`` reads ``vars.API_TOKEN``; a dynamic subscript such as
    ``steps[name]`` reads ``steps``. Names local to a template (loop variables,
    ``{% set %}``) and globals (``range``, ``dict``, ``namespace``) are not references.
    Raises :class:`vecron.errors.TemplateError` on a syntax error.
    """
    found: set[str] = set()
    for field, text in _strings(config_or_text, ""):
        if is_template(text):
            program = compile_program(text, step_id="?", field=field or "(text)")
            found |= program.references
    return found


def _problem(chain: Chain, step_id: str, earlier: set[str], known: set[str]) -> str | None:
    if chain.root not in NAMESPACES:
        names = ", ".join(sorted(NAMESPACES))
        return f"unknown name {chain.root!r} (templates can read {names})"
    if chain.root != "steps" or not chain.segments:
        return None
    target = chain.segments[0].key
    if target == step_id:
        return "a step cannot read its own output"
    if target in earlier:
        return None
    if target in known:
        return f"step {target!r} runs after step {step_id!r}"
    return f"there is no step {target!r} in this job"


def validate_step_references(steps: Iterable[StepTemplates]) -> None:
    """Reject templates that read a later, unknown or the same step, or unknown names.

    ``steps`` are in run order. Raises :class:`vecron.errors.ValidationError` whose
    ``field`` is ``steps[<index>].<config path>`` (or ``steps[<index>].when``) and whose
    message names the step, the field and the reference. Syntax errors are reported the
    same way.
    """
    ordered = list(steps)
    known = {step_id for step_id, _, _ in ordered}
    earlier: set[str] = set()
    found: list[Problem] = []  # every bad reference, not just the first
    for index, (step_id, config, when) in enumerate(ordered):
        checks: list[tuple[str, Chain]] = []
        try:
            checks += compile_config(config, step_id=step_id).chains()
            if when is not None:
                checks += (("when", chain) for chain in compile_condition(when, step_id).chains)
        except TemplateError as error:
            found.append(
                Problem(
                    message=error.message,
                    field=f"steps[{index}].{error.config_field or 'config'}",
                    code=error.code,
                )
            )
        for field, chain in checks:
            problem = _problem(chain, step_id, earlier, known)
            if problem is not None:
                found.append(
                    Problem(
                        message=f"step {step_id!r} field {field!r} refers to "
                        f"{chain.reference()!r}: {problem}",
                        field=f"steps[{index}].{field}",
                        code="template-reference",
                    )
                )
        earlier.add(step_id)
    if found:
        raise ValidationError.of(found, what="job document")
