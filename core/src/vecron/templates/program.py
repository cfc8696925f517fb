"""One compiled template string, and how its failures become :class:`TemplateError`.

A string that is exactly one ``{{ expression }}`` is compiled as an expression so its
value keeps its type (``"{{ steps.a.output.count }}"`` gives an ``int``); any other
string renders to text. Compiled programs are cached by source text, so a job's
templates are parsed once per worker however often it runs.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import Template, nodes
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError
from jinja2.parser import Parser

from vecron.errors import TemplateError, TemplateSecurityError
from vecron.secrets.redaction import mask
from vecron.templates.budget import (
    MAX_NESTING,
    MAX_TREE_DEPTH,
    Budget,
    SliceSpent,
    charge,
    check_text,
    spending,
)
from vecron.templates.chains import Chain, chains_in, missing_reference
from vecron.templates.sandbox import FORBIDDEN_NODES, as_data, sandbox

#: Marks that make a string a template; other strings are never touched.
TEMPLATE_MARKS = ("{{", "{%")


def is_template(text: str) -> bool:
    return any(mark in text for mark in TEMPLATE_MARKS)


class _Forbidden(Exception):
    """A statement the sandbox has nothing to serve (include, import, extends)."""


class _TooDeep(Exception):
    """Nested deeper than the parser and compiler can take without running out of stack."""


@dataclass(frozen=True, slots=True, eq=False)
class Program:
    """A compiled template string. ``native`` programs return the expression's value."""

    source: str
    native: bool
    template: Template
    chains: tuple[Chain, ...]

    @property
    def references(self) -> frozenset[str]:
        """Root references read: ``steps.fetch``, ``vars.TOKEN``, ``trigger.params``."""
        return frozenset(chain.reference() for chain in self.chains)

    def evaluate(
        self,
        roots: Mapping[str, Any],
        *,
        step_id: str,
        field: str,
        secrets: Collection[str] = (),
        budget: Budget | None = None,
    ) -> Any:
        """The value (native programs) or text this template renders to over ``roots``.

        What it does is charged to ``budget`` (a fresh one when not given): a render over
        any of its limits raises :class:`TemplateSecurityError` naming the limit.
        """
        try:
            with spending(budget or Budget()):
                return self._evaluate(roots)
        except SliceSpent:
            raise
        except SecurityError as error:
            raise TemplateSecurityError(
                mask(
                    f"step {step_id!r}: the template sandbox refused field {field!r}: {error}",
                    secrets,
                ),
                step_id=step_id,
                config_field=field,
            ) from None
        except UndefinedError as error:
            reference = missing_reference(self.chains, roots, str(error))
            if reference is None:
                message = f"step {step_id!r}: undefined reference in field {field!r}: {error}"
            else:
                message = f"step {step_id!r}: undefined reference {reference!r} in field {field!r}"
            raise TemplateError(
                mask(message, secrets),
                step_id=step_id,
                config_field=field,
                reference=reference,
            ) from None
        except TemplateError:
            raise
        except Exception as error:
            raise TemplateError(
                mask(
                    f"step {step_id!r}: cannot render field {field!r}: "
                    f"{type(error).__name__}: {error}",
                    secrets,
                ),
                step_id=step_id,
                config_field=field,
            ) from None

    def _evaluate(self, roots: Mapping[str, Any]) -> Any:
        if self.native:
            context = self.template.new_context(dict(roots))
            for _ in self.template.root_render_func(context):
                pass
            # A fresh copy too: the value may be a step's output, which must stay unshared.
            return as_data(context.vars["result"])
        pieces: list[str] = []
        size = 0
        for piece in self.template.generate(dict(roots)):
            size += len(piece)
            check_text(size)
            pieces.append(piece)
        return charge("".join(pieces))


def _single_expression(tree: nodes.Template) -> nodes.Expr | None:
    if len(tree.body) != 1 or not isinstance(tree.body[0], nodes.Output):
        return None
    children = tree.body[0].nodes
    if len(children) != 1 or isinstance(children[0], nodes.TemplateData):
        return None
    return children[0]


def _expression_program(expression: nodes.Expr) -> Template:
    # What Environment.compile_expression builds, from a node we already parsed.
    body = [nodes.Assign(nodes.Name("result", "store"), expression, lineno=1)]
    return sandbox().from_string(nodes.Template(body, lineno=1))


def _parse_expression(source: str) -> nodes.Expr:
    env = sandbox()
    parser = Parser(env, source, state="variable")
    expression = parser.parse_expression()
    if not parser.stream.eos:
        raise TemplateSyntaxError(
            f"unexpected {parser.stream.current.value!r} after the expression",
            parser.stream.current.lineno,
        )
    expression.set_environment(env)
    return expression


def _reject_forbidden(tree: nodes.Node) -> None:
    """Refuse, before anything runs, what the sandbox would refuse at run time anyway.

    Loading statements have nothing to load; dunder attributes are never data, so a job
    that names one is rejected when it is applied, not when it first runs.
    """
    for node in tree.find_all(FORBIDDEN_NODES):
        raise _Forbidden(f"{type(node).__name__.lower()} is not available in templates")
    dunders: set[str] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        if isinstance(node, nodes.Getattr):
            name: object = node.attr
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            name = node.arg.value
        else:
            continue
        if isinstance(name, str) and name.startswith("__") and name.endswith("__"):
            dunders.add(name)
    if dunders:
        names = ", ".join(repr(name) for name in sorted(dunders))
        raise _Forbidden(f"access to {names} is not available in templates")


def _check_nesting(source: str, expression: bool) -> None:
    """Refuse brackets nested past :data:`MAX_NESTING` before the parser recurses into them."""
    depth = 0
    state = "variable" if expression else None
    for _, token, value in sandbox().lexer.tokeniter(source, None, state=state):
        if token == "operator":
            if value in "([{":
                depth += 1
                if depth > MAX_NESTING:
                    raise _TooDeep(f"template nested too deeply (limit {MAX_NESTING} brackets)")
            elif value in ")]}":
                depth -= 1


def _check_depth(tree: nodes.Node) -> None:
    """Refuse a syntax tree deeper than the code generator may recurse."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_TREE_DEPTH:
            raise _TooDeep(
                f"template nested too deeply (limit {MAX_TREE_DEPTH} levels of operators, "
                "filters and blocks)"
            )
        stack.extend((child, depth + 1) for child in node.iter_child_nodes())


@lru_cache(maxsize=4096)
def _compile(source: str, expression: bool) -> Program:
    _check_nesting(source, expression)
    try:
        return _compile_checked(source, expression)
    except RecursionError:  # what the checks above did not foresee still reads as depth
        raise _TooDeep("template nested too deeply") from None


def _compile_checked(source: str, expression: bool) -> Program:
    env = sandbox()
    if expression:
        analysed = nodes.Template([nodes.Output([_parse_expression(source)])], lineno=1)
        analysed.set_environment(env)
        _check_depth(analysed)
        _reject_forbidden(analysed)
        compiled = _expression_program(_parse_expression(source))
        return Program(source, native=True, template=compiled, chains=chains_in(analysed))
    tree = env.parse(source)
    _check_depth(tree)
    _reject_forbidden(tree)
    if _single_expression(tree) is not None:
        fresh = _single_expression(env.parse(source))  # a tree of its own to compile
        if fresh is not None:
            compiled = _expression_program(fresh)
            return Program(source, native=True, template=compiled, chains=chains_in(tree))
    return Program(source, native=False, template=env.from_string(source), chains=chains_in(tree))


def compile_program(source: str, *, step_id: str, field: str, expression: bool = False) -> Program:
    """``source`` compiled (cached), or a :class:`TemplateError` naming field and line.

    ``expression`` reads ``source`` as a bare Jinja expression (``when:`` conditions).
    """
    try:
        return _compile(source, expression)
    except TemplateSyntaxError as error:
        raise TemplateError(
            f"step {step_id!r}: template syntax error in field {field!r}, "
            f"line {error.lineno}: {error.message}",
            step_id=step_id,
            config_field=field,
        ) from None
    except _TooDeep as error:
        raise TemplateError(
            f"step {step_id!r}: field {field!r}: {error}", step_id=step_id, config_field=field
        ) from None
    except _Forbidden as error:
        raise TemplateSecurityError(
            f"step {step_id!r}: field {field!r}: {error}", step_id=step_id, config_field=field
        ) from None
    except SecurityError as error:
        raise TemplateSecurityError(
            f"step {step_id!r}: the template sandbox refused field {field!r}: {error}",
            step_id=step_id,
            config_field=field,
        ) from None
