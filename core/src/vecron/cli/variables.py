"""``vecron var``: set, get, list and delete variables (secret ones masked)."""

from __future__ import annotations

import sys
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from vecron.cli.session import OPERATOR, JsonFlag, out, print_view, run, with_runtime
from vecron.errors import ValidationError

if TYPE_CHECKING:
    from vecron.runtime import Runtime
    from vecron.services.views import VariableView

app = typer.Typer(no_args_is_help=True)
JobOption = Annotated[
    str | None, typer.Option("--job", help="The job it belongs to (default: global).")
]
#: Longest value a table cell shows; ``var get`` prints the whole value.
CELL_LIMIT = 80


def _stdin_value() -> str:
    value = sys.stdin.read()
    # `echo VALUE |` and a here-string add one newline that is not part of the value.
    if value.endswith("\r\n"):
        return value[:-2]
    return value.removesuffix("\n")


def _describe(view: VariableView) -> str:
    kind = "secret variable" if view.secret else "variable"
    return f"{kind} {view.name} ({view.scope})"


@app.command("set")
def set_(
    ctx: typer.Context,
    name: str,
    value: Annotated[str | None, typer.Argument(help="The value (or use --from-stdin).")] = None,
    job: JobOption = None,
    secret: Annotated[
        bool, typer.Option("--secret", help="Encrypt it at rest and mask it in every output.")
    ] = False,
    from_stdin: Annotated[
        bool,
        typer.Option(
            "--from-stdin", help="Read the value from standard input (keeps it out of history)."
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Create or replace a variable. Secret ones need VECRON_SECRET_KEYS in production
    (without it a key is generated beside the SQLite database)."""
    if from_stdin == (value is not None):
        raise ValidationError("give either VALUE or --from-stdin, not both or neither")
    text = _stdin_value() if from_stdin else value
    assert text is not None  # one of the two was given

    view = run(
        with_runtime(ctx, lambda rt: rt.variables.set(OPERATOR, name, text, job=job, secret=secret))
    )
    if as_json:
        print_view(view)
        return
    out.print(f"set {_describe(view)}", markup=False)


@app.command("get")
def get(
    ctx: typer.Context,
    name: str,
    job: JobOption = None,
    reveal: Annotated[
        bool, typer.Option("--reveal", help="Print a secret value in clear (this one only).")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Print a variable's value (a secret one masked unless --reveal)."""

    def read(rt: Runtime) -> Awaitable[VariableView]:
        service = rt.variables
        return (service.reveal if reveal else service.get)(OPERATOR, name, job=job)

    view = run(with_runtime(ctx, read))
    if as_json:
        print_view(view)
        return
    # The bare value, so scripts can use $(vecron var get NAME).
    print(view.value)


@app.command("list")
def list_(ctx: typer.Context, job: JobOption = None, as_json: JsonFlag = False) -> None:
    """All variables, or only a job's own with --job. Secret values are masked."""
    views = run(with_runtime(ctx, lambda rt: rt.variables.list(OPERATOR, job=job)))
    if as_json:
        print_view(views)
        return
    table = Table("name", "scope", "secret", "value", "updated (UTC)")
    for v in views:
        value = v.value if len(v.value) <= CELL_LIMIT else v.value[: CELL_LIMIT - 3] + "..."
        table.add_row(
            Text(v.name),
            Text(v.scope),
            "yes" if v.secret else "no",
            Text(value),
            v.updated_at.isoformat(timespec="seconds"),
        )
    out.print(table)


@app.command("delete")
def delete(ctx: typer.Context, name: str, job: JobOption = None) -> None:
    """Delete a variable (global, or the job's own with --job)."""
    run(with_runtime(ctx, lambda rt: rt.variables.delete(OPERATOR, name, job=job)))
    scope = "global" if job is None else f"job {job}"
    out.print(f"deleted variable {name} ({scope})", markup=False)
