"""Jinja's code generator with the sandbox's meters compiled in.

Jinja routes attribute access, calls and some operators through the environment, but
runs loops, slices, ``~`` and list, tuple and dict literals as plain Python. Those are where a
short template can spin or build without bound, so this generator sends them through
the environment too: every loop iteration ticks the budget, ``~`` measures its text
before joining, and a literal is measured before it is handed on.
"""

from __future__ import annotations

from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame


class BudgetedCodeGenerator(CodeGenerator):
    # Jinja forbids new node types, so a loop's iterable is recognised by identity.
    _loop_iterables: set[int]

    def visit(self, node: nodes.Node, *args: Any, **kwargs: Any) -> Any:
        if id(node) in self.__dict__.get("_loop_iterables", ()):
            self.write("environment.counted(")
            super().visit(node, *args, **kwargs)
            self.write(")")
            return None
        return super().visit(node, *args, **kwargs)

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        self.__dict__.setdefault("_loop_iterables", set()).add(id(node.iter))
        super().visit_For(node, frame)

    def visit_Getitem(self, node: nodes.Getitem, frame: Frame) -> None:
        if not isinstance(node.arg, nodes.Slice):
            super().visit_Getitem(node, frame)
            return
        # Jinja slices natively; a slice copies, so it goes where copies are charged.
        self.write("environment.getitem(")
        self.visit(node.node, frame)
        self.write(", slice(")
        for index, part in enumerate((node.arg.start, node.arg.stop, node.arg.step)):
            if index:
                self.write(", ")
            if part is None:
                self.write("None")
            else:
                self.visit(part, frame)
        self.write("))")

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.join_values((")
        for child in node.nodes:
            self.visit(child, frame)
            self.write(", ")
        self.write("))")

    def _built(self, node: nodes.Expr, frame: Frame, visit: Any) -> None:
        self.write("environment.built(")
        visit(node, frame)
        self.write(")")

    def visit_List(self, node: nodes.List, frame: Frame) -> None:
        self._built(node, frame, super().visit_List)

    def visit_Dict(self, node: nodes.Dict, frame: Frame) -> None:
        self._built(node, frame, super().visit_Dict)

    def visit_Tuple(self, node: nodes.Tuple, frame: Frame) -> None:
        if node.ctx == "store":  # an assignment target, not a value
            super().visit_Tuple(node, frame)
        else:
            self._built(node, frame, super().visit_Tuple)
