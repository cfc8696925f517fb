"""Reference chains read from a template's syntax tree: ``steps.fetch.output.body``.

The same chains serve two purposes: the static check when a job is applied (which steps
and namespaces a template reads) and naming the exact missing reference when a render
hits an undefined value, e.g. ``steps.fetch.output.itemz`` rather than Jinja's
``'dict object' has no attribute 'itemz'``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import Undefined, meta, nodes

from vecron.templates.sandbox import sandbox


@dataclass(frozen=True, slots=True)
class Segment:
    """One step of a chain: ``.name`` (attribute) or ``[key]`` (constant subscript)."""

    key: Any
    attribute: bool

    def text(self) -> str:
        if isinstance(self.key, str) and self.key.isidentifier():
            return f".{self.key}"
        return f"[{self.key!r}]"


@dataclass(frozen=True, slots=True)
class Chain:
    """A free name followed by constant attribute/subscript lookups."""

    root: str
    segments: tuple[Segment, ...]

    def dotted(self, depth: int | None = None) -> str:
        """The chain as written, cut after ``depth`` segments when given."""
        chosen = self.segments if depth is None else self.segments[:depth]
        return self.root + "".join(segment.text() for segment in chosen)

    def reference(self) -> str:
        """The root reference the static check reasons about: ``steps.fetch``."""
        return self.dotted(1)


_MISSING = object()


def _constant(node: nodes.Expr) -> Any:
    if isinstance(node, nodes.Const):
        return node.value
    if isinstance(node, nodes.Neg) and isinstance(node.node, nodes.Const):
        value = node.node.value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return -value
    return _MISSING


def _chain(node: nodes.Node, spine: set[int]) -> Chain | None:
    """The chain ending at ``node``; records the nodes it walked through in ``spine``."""
    segments: list[Segment] = []
    while True:
        spine.add(id(node))
        if isinstance(node, nodes.Getattr):
            segments.append(Segment(node.attr, attribute=True))
            node = node.node
        elif isinstance(node, nodes.Getitem):
            key = _constant(node.arg)
            if key is _MISSING:
                # Dynamic subscript: only the part before it is a known chain.
                segments.clear()
            else:
                segments.append(Segment(key, attribute=False))
            node = node.node
        elif isinstance(node, nodes.Name) and node.ctx == "load":
            return Chain(node.name, tuple(reversed(segments)))
        else:
            return None


def chains_in(tree: nodes.Template) -> tuple[Chain, ...]:
    """Every chain rooted in a free (not template-local, not global) name, in order.

    Only whole chains count: ``a.b.c`` is one chain, not also ``a.b`` and ``a``.
    """
    free = meta.find_undeclared_variables(tree) - set(sandbox().globals)
    found: dict[Chain, None] = {}
    spine: set[int] = set()
    # find_all walks outer nodes before the nodes they contain.
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Name)):
        if id(node) in spine:
            continue
        chain = _chain(node, spine)
        if chain is not None and chain.root in free:
            found.setdefault(chain)
    return tuple(found)


def missing_reference(
    chains: Iterable[Chain], roots: Mapping[str, Any], message: str | None = None
) -> str | None:
    """The first chain prefix that does not resolve against ``roots``, as written.

    With ``message`` (the UndefinedError's text, which quotes the missing name), only a
    prefix whose missing name matches counts, so a chain that is undefined but guarded
    (``x is defined``) is not blamed for an error raised elsewhere.
    """
    env = sandbox()
    for chain in chains:
        if chain.root not in roots:
            if message is None or repr(chain.root) in message:
                return chain.root
            continue
        value = roots[chain.root]
        for depth, segment in enumerate(chain.segments, start=1):
            if segment.attribute:
                value = env.getattr(value, segment.key)
            else:
                value = env.getitem(value, segment.key)
            if isinstance(value, Undefined):
                if message is None or repr(segment.key) in message:
                    return chain.dotted(depth)
                break
    return None
