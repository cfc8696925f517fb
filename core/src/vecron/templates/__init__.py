"""Templates in step configs: sandboxed Jinja over the Job Context (S2.4, S2.5).

The worker builds a :class:`TemplateContext` before each step and calls
:meth:`CompiledConfig.render`; ``when:`` conditions use :func:`compile_condition`;
SQL executors use :func:`render_sql` so values are always bound parameters;
:func:`validate_step_references` checks a job's templates when it is applied;
:func:`mask` hides secret values in anything that leaves the worker, :func:`excerpt`
masks a text before cutting it.
"""

from __future__ import annotations

from vecron.secrets.redaction import EXCERPT_CHARS, MASK, MIN_SECRET_LENGTH, excerpt, mask, maskable
from vecron.templates.condition import Condition, compile_condition
from vecron.templates.config import CompiledConfig, compile_config
from vecron.templates.namespaces import TemplateContext
from vecron.templates.program import is_template
from vecron.templates.references import StepTemplates, references, validate_step_references
from vecron.templates.sql import PLACEHOLDERS, CompiledSql, compile_sql, render_sql

__all__ = [
    "EXCERPT_CHARS",
    "MASK",
    "MIN_SECRET_LENGTH",
    "PLACEHOLDERS",
    "CompiledConfig",
    "CompiledSql",
    "Condition",
    "StepTemplates",
    "TemplateContext",
    "compile_condition",
    "compile_config",
    "compile_sql",
    "excerpt",
    "is_template",
    "mask",
    "maskable",
    "references",
    "render_sql",
    "validate_step_references",
]
