"""SQL templates: every ``{{ expression }}`` becomes a bound parameter, never SQL text (S2.5).

The SQL text is fixed when the template is compiled (placeholders in place of the
expressions); only the parameter values depend on the context. ``{% %}`` blocks are
refused, and so is an expression inside a quoted string or a comment, where a
placeholder would not be a parameter. So ``'; DROP TABLE t; --`` can only ever be a value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jinja2.exceptions import TemplateSyntaxError

from vecron.errors import TemplateError
from vecron.templates.budget import Budget
from vecron.templates.namespaces import TemplateContext
from vecron.templates.program import Program, compile_program, is_template
from vecron.templates.sandbox import sandbox

#: Placeholder for parameter number ``i`` (0-based) in each DB-API paramstyle, plus
#: ``sqlalchemy`` (named, for ``sqlalchemy.text``) and ``dollar`` (asyncpg's ``$1``).
PLACEHOLDERS: dict[str, Callable[[int], str]] = {
    "named": lambda i: f":p{i}",
    "sqlalchemy": lambda i: f":p{i}",
    "pyformat": lambda i: f"%(p{i})s",
    "qmark": lambda i: "?",
    "format": lambda i: "%s",
    "numeric": lambda i: f":{i + 1}",
    "dollar": lambda i: f"${i + 1}",
}

# sqlalchemy.text() reads `:word` anywhere as a bind, even inside a quoted literal.
_SQLALCHEMY_BIND = re.compile(r"(?<![:\w\\]):(?=\w)")
_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


def _escape(text: str, paramstyle: str) -> str:
    if paramstyle in ("pyformat", "format"):
        return text.replace("%", "%%")
    if paramstyle == "sqlalchemy":
        return _SQLALCHEMY_BIND.sub(r"\\:", text)
    return text


class _Lexer:
    """Just enough SQL lexing to know whether a position is code, a literal or a comment."""

    def __init__(self) -> None:
        self.state = "code"
        self.closer = ""

    def feed(self, text: str) -> None:
        i = 0
        while i < len(text):
            if self.state == "code":
                i = self._open(text, i)
            elif self.state == "line comment":
                end = text.find("\n", i)
                i = len(text) if end == -1 else end + 1
                if end != -1:
                    self.state = "code"
            else:
                end = text.find(self.closer, i)
                if end == -1:
                    return
                i = end + len(self.closer)
                # A doubled quote is an escaped quote, still inside the literal.
                if self.closer in ("'", '"') and text.startswith(self.closer, i):
                    i += 1
                else:
                    self.state = "code"

    def _open(self, text: str, i: int) -> int:
        two = text[i : i + 2]
        if two == "--":
            self.state = "line comment"
            return i + 2
        if two == "/*":
            self.state, self.closer = "block comment", "*/"
            return i + 2
        char = text[i]
        if char in "'\"`":
            self.state = "quoted string" if char == "'" else "quoted identifier"
            self.closer = char
            return i + 1
        dollar = _DOLLAR_TAG.match(text, i) if char == "$" else None
        if dollar is not None:
            self.state, self.closer = "dollar-quoted string", dollar.group(0)
            return dollar.end()
        return i + 1


@dataclass(frozen=True, slots=True)
class CompiledSql:
    """SQL text with placeholders, and the programs that compute each parameter."""

    step_id: str
    field: str
    text: str
    parameters: tuple[tuple[str, Program], ...]

    def render(
        self, context: TemplateContext, budget: Budget | None = None
    ) -> tuple[str, dict[str, Any]]:
        """``(sql, params)``: the fixed text and each parameter's value (types kept).

        For positional paramstyles the dict's order is the parameter order.
        """
        roots = context.namespaces()
        budget = budget or Budget()
        values = {
            name: program.evaluate(
                roots,
                step_id=self.step_id,
                field=self.field,
                secrets=context.secrets,
                budget=budget,
            )
            for name, program in self.parameters
        }
        return self.text, values


def compile_sql(
    text: str, *, step_id: str, paramstyle: str = "named", field: str = "sql"
) -> CompiledSql:
    """Compile SQL text whose ``{{ }}`` expressions become bound parameters ``p0``, ``p1``…"""
    placeholder = PLACEHOLDERS.get(paramstyle)
    if placeholder is None:
        raise ValueError(f"unknown paramstyle {paramstyle!r}; one of {sorted(PLACEHOLDERS)}")

    def refuse(message: str) -> TemplateError:
        return TemplateError(
            f"step {step_id!r}: field {field!r}: {message}", step_id=step_id, config_field=field
        )

    if not is_template(text):
        return CompiledSql(step_id, field, _escape(text, paramstyle), ())
    if "{%" in text:
        raise refuse("{% %} blocks are not allowed in SQL; values are bound as parameters")
    try:
        tokens = list(sandbox().lex(text))
    except TemplateSyntaxError as error:
        raise refuse(f"template syntax error, line {error.lineno}: {error.message}") from None
    lexer = _Lexer()
    sql: list[str] = []
    parameters: list[tuple[str, Program]] = []
    expression: list[str] | None = None
    for _, kind, value in tokens:
        if kind == "variable_begin":
            if lexer.state != "code":
                raise refuse(
                    f"{{{{ }}}} inside a {lexer.state} would not be a parameter; "
                    "remove the quotes (values are bound, the driver quotes them)"
                )
            expression = []
        elif kind == "variable_end":
            index = len(parameters)
            source = "".join(expression or ())
            program = compile_program(source, step_id=step_id, field=field, expression=True)
            parameters.append((f"p{index}", program))
            sql.append(placeholder(index))
            expression = None
        elif expression is not None:
            expression.append(value)
        elif kind == "data":
            lexer.feed(value)
            if parameters and sql and sql[-1] == placeholder(len(parameters) - 1):
                # `{{ x }}::int` is PostgreSQL's cast; `:p0::int` would not read as a bind.
                value = " " + value if value.startswith(":") else value
            sql.append(_escape(value, paramstyle))
    if expression is not None:
        raise refuse("template syntax error: a {{ is never closed")
    return CompiledSql(step_id, field, "".join(sql), tuple(parameters))


def render_sql(
    text: str,
    context: TemplateContext,
    *,
    step_id: str,
    paramstyle: str = "named",
    field: str = "sql",
) -> tuple[str, dict[str, Any]]:
    """``(sql, params)`` for ``text``: ``{{ expr }}`` → ``:p0`` and ``params["p0"]``."""
    return compile_sql(text, step_id=step_id, paramstyle=paramstyle, field=field).render(context)
