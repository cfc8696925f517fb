"""``vecron var``: set, get, list and delete variables (secret ones masked)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from vecron.cli.session import out, print_json, run, with_runtime
from vecron.errors import ValidationError

if TYPE_CHECKING:
    from vecron.services.variables import VariableService, VariableView

app = typer.Typer(no_args_is_help=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]
JobOption = Annotated[
    str | None, typer.Option("--job", help="The job it belongs to (default: global).")
]
#: Longest value a table cell shows; ``var get`` prints the whole value.
CELL_LIMIT = 80


def variable_service(rt: Any) -> VariableService:
    """The runtime's service, or one over its store and the configured keys."""
    from vecron.secrets.box import secret_box
    from vecron.services.variables import VariableService

    service = getattr(rt, "variables", None)
    if isinstance(service, VariableService):
        return service

    return VariableService(rt.store, secret_box(rt.settings))


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
        with_runtime(ctx, lambda rt: variable_service(rt).set(name, text, job=job, secret=secret))
    )
    if as_json:
        print_json(view.as_dict())
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
    view = run(with_runtime(ctx, lambda rt: variable_service(rt).get(name, job=job, reveal=reveal)))
    if as_json:
        print_json(view.as_dict())
        return
    # The bare value, so scripts can use $(vecron var get NAME).
    print(view.value)


@app.command("list")
def list_(ctx: typer.Context, job: JobOption = None, as_json: JsonFlag = False) -> None:
    """All variables, or only a job's own with --job. Secret values are masked."""
    views = run(with_runtime(ctx, lambda rt: variable_service(rt).list(job=job)))
    if as_json:
        print_json([v.as_dict() for v in views])
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
    run(with_runtime(ctx, lambda rt: variable_service(rt).delete(name, job=job)))
    scope = "global" if job is None else f"job {job}"
    out.print(f"deleted variable {name} ({scope})", markup=False)
