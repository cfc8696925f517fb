"""A step's whole config compiled once: every templated string found, rendered on demand."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from vecron.templates.budget import Budget
from vecron.templates.chains import Chain
from vecron.templates.namespaces import TemplateContext
from vecron.templates.program import Program, compile_program, is_template


@dataclass(frozen=True, slots=True)
class _Static:
    value: Any


@dataclass(frozen=True, slots=True)
class _Field:
    program: Program
    path: str


@dataclass(frozen=True, slots=True)
class _Dict:
    items: tuple[tuple[Any, _Node], ...]


@dataclass(frozen=True, slots=True)
class _List:
    items: tuple[_Node, ...]
    tuple_type: bool


_Node = _Static | _Field | _Dict | _List


def field_path(parent: str, key: Any) -> str:
    """``json.id``, ``args[0]``: how a config field is named in messages."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else str(key)


def _compile(value: Any, path: str, step_id: str) -> _Node:
    if isinstance(value, str):
        if is_template(value):
            return _Field(compile_program(value, step_id=step_id, field=path), path)
        return _Static(value)
    if isinstance(value, Mapping):
        items = tuple(
            (key, _compile(item, field_path(path, key), step_id)) for key, item in value.items()
        )
        if all(isinstance(node, _Static) for _, node in items):
            return _Static(copy.deepcopy(dict(value)))
        return _Dict(items)
    if isinstance(value, list | tuple):
        nodes = tuple(_compile(item, field_path(path, i), step_id) for i, item in enumerate(value))
        if all(isinstance(node, _Static) for node in nodes):
            return _Static(copy.deepcopy(value))
        return _List(nodes, tuple_type=isinstance(value, tuple))
    return _Static(copy.deepcopy(value))


def _fields(node: _Node) -> Iterator[_Field]:
    if isinstance(node, _Field):
        yield node
    elif isinstance(node, _Dict):
        for _, child in node.items:
            yield from _fields(child)
    elif isinstance(node, _List):
        for child in node.items:
            yield from _fields(child)


@dataclass(frozen=True, slots=True)
class CompiledConfig:
    """A step config whose templated strings are compiled; :meth:`render` fills them in."""

    step_id: str
    _root: _Dict | _Static

    @property
    def fields(self) -> tuple[str, ...]:
        """Dotted paths of the templated fields, in document order."""
        return tuple(field.path for field in _fields(self._root))

    @property
    def is_static(self) -> bool:
        """True when no field is a template: :meth:`render` returns a copy of the input."""
        return isinstance(self._root, _Static)

    @property
    def references(self) -> dict[str, frozenset[str]]:
        """Field path → root references it reads (``steps.fetch``, ``vars.TOKEN``)."""
        return {field.path: field.program.references for field in _fields(self._root)}

    def chains(self) -> Iterator[tuple[str, Chain]]:
        """Every (field path, reference chain) pair, for static checks."""
        for field in _fields(self._root):
            for chain in field.program.chains:
                yield field.path, chain

    def render(self, context: TemplateContext, budget: Budget | None = None) -> dict[str, Any]:
        """The config with every template rendered over ``context``, all fields charged
        to one ``budget`` (a fresh one when not given).

        Raises :class:`vecron.errors.TemplateError` (final, not retried) naming the step,
        the field and the reference when a template cannot be rendered.
        """
        roots = context.namespaces()
        rendered = self._render(self._root, roots, context.secrets, budget or Budget())
        return dict(rendered)

    def _render(
        self, node: _Node, roots: Mapping[str, Any], secrets: frozenset[str], budget: Budget
    ) -> Any:
        if isinstance(node, _Static):
            return copy.deepcopy(node.value)
        if isinstance(node, _Field):
            return node.program.evaluate(
                roots, step_id=self.step_id, field=node.path, secrets=secrets, budget=budget
            )
        if isinstance(node, _Dict):
            return {key: self._render(child, roots, secrets, budget) for key, child in node.items}
        items = [self._render(child, roots, secrets, budget) for child in node.items]
        return tuple(items) if node.tuple_type else items


def compile_config(config: Mapping[str, Any], *, step_id: str) -> CompiledConfig:
    """Compile every string containing ``{{`` or ``{%`` in ``config`` (nested too).

    Keys are never templates. Raises :class:`vecron.errors.TemplateError` naming the field
    and line for a syntax error, :class:`vecron.errors.TemplateSecurityError` for
    ``include``/``import``/``extends``.
    """
    root = _compile(config, "", step_id)
    if isinstance(root, _Dict | _Static):
        return CompiledConfig(step_id, root)
    raise TypeError("a step config is a mapping")
