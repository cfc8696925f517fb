"""``vecron job export`` and ``vecron job import``: jobs as portable files (S7.3)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vecron.cli.session import OPERATOR, JsonFlag, out, print_view, run, with_runtime
from vecron.errors import ValidationError
from vecron.jobs.portable import placeholders_in
from vecron.services.views.transfer import ConflictPolicy

if TYPE_CHECKING:
    from vecron.runtime import Runtime
    from vecron.services.views import ExportDocument, ImportReport

#: ``-o -``: the export on standard output.
STDOUT = "-"


def default_file_name(document: ExportDocument) -> str:
    """``vecron-jobs-YYYYMMDDTHHMMSSZ.json`` at the export's time (UTC)."""
    return f"vecron-jobs-{document.exported_at.strftime('%Y%m%dT%H%M%SZ')}.json"


def export(
    ctx: typer.Context,
    names: Annotated[list[str] | None, typer.Argument(help="Jobs to export, by name.")] = None,
    all_jobs: Annotated[bool, typer.Option("--all", help="Export every job.")] = False,
    output: Annotated[
        str | None,
        typer.Option(
            "-o",
            "--output",
            help="File to write (default vecron-jobs-YYYYMMDDTHHMMSSZ.json; - for stdout).",
        ),
    ] = None,
    variables: Annotated[
        bool,
        typer.Option("--variables/--no-variables", help="Include the jobs' own variables."),
    ] = True,
    as_json: JsonFlag = False,
) -> None:
    """Write jobs to one JSON file; every secret value in it is a placeholder to supply
    at import (the file lists them under "secrets"). With --json the export is printed
    and a file written only when -o names one."""

    async def body(rt: Runtime) -> ExportDocument:
        return await rt.jobs.export(OPERATOR, names or (), all_jobs=all_jobs, variables=variables)

    document = run(with_runtime(ctx, body))
    text = json.dumps(document.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
    if as_json:
        print_view(document)
    if output == STDOUT:
        if not as_json:
            print(text, end="")
        return
    if output is None and as_json:
        return
    path = Path(output or default_file_name(document))
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ValidationError(
            f"{path}: cannot write it: {exc.strerror}", field="--output", reason="unwritable"
        ) from None
    if not as_json:
        count = len(document.jobs)
        out.print(f"exported {count} job{'s' if count != 1 else ''} to {path}")
        if document.secrets:
            out.print("secrets to supply at import (--secret NAME=VALUE or --secrets-file):")
            for name in document.secrets:
                out.print(f"  {name}", markup=False)


def _secrets(given: list[str], secrets_file: Path | None) -> dict[str, str]:
    """``--secret NAME=VALUE`` options over a ``--secrets-file`` (a JSON object).

    :raises ValidationError: an option without ``=``, or a file that is not an object
        of strings.
    """
    found: dict[str, str] = {}
    if secrets_file is not None:
        try:
            data: Any = json.loads(secrets_file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ValidationError(
                f"{secrets_file}: cannot read it: {exc.strerror}", field="--secrets-file"
            ) from None
        except ValueError as exc:  # not JSON, or not UTF-8
            raise ValidationError(
                f"{secrets_file}: not a JSON object: {exc}", field="--secrets-file"
            ) from None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise ValidationError(
                f'{secrets_file}: expected a JSON object of names to text, {{"NAME": "VALUE"}}',
                field="--secrets-file",
            )
        found.update(data)
    for item in given:
        name, equals, value = item.partition("=")
        if not equals or not name:
            # The value may be the secret: the message never repeats the option.
            raise ValidationError("--secret takes NAME=VALUE", field="--secret")
        found[name] = value
    return found


def _ask_for_missing(document: Any, values: dict[str, str]) -> None:
    """Prompt for the value of each placeholder of ``document`` not in ``values``."""
    for name in dict.fromkeys(placeholders_in(document)):
        if name not in values:
            values[name] = typer.prompt(f"secret {name}", hide_input=True, err=True)


def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="An export written by `vecron job export`.")],
    on_conflict: Annotated[
        ConflictPolicy,
        typer.Option(
            "--on-conflict",
            help="A job of that name exists: fail, rename (NAME-2, NAME-3…) or overwrite.",
        ),
    ] = "fail",
    secret: Annotated[
        list[str] | None,
        typer.Option("--secret", help="NAME=VALUE for a placeholder of the export (repeat)."),
    ] = None,
    secrets_file: Annotated[
        Path | None,
        typer.Option("--secrets-file", help="A JSON object of placeholder names to values."),
    ] = None,
    best_effort: Annotated[
        bool,
        typer.Option(
            "--best-effort",
            help="Save every valid job and report the others (default: all or none).",
        ),
    ] = False,
    ask: Annotated[
        bool | None,
        typer.Option(
            "--ask/--no-ask",
            help="Ask for each secret not given (hidden input); default: on a terminal.",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create jobs (and their variables) from an export: every job is checked first
    and, unless --best-effort, one bad job saves nothing."""
    values = _secrets(secret or [], secrets_file)
    asking = ask if ask is not None else sys.stdin.isatty() and not as_json

    async def body(rt: Runtime) -> ImportReport:
        document = rt.jobs.read_export_file(file)
        if asking:
            _ask_for_missing(document, values)
        return await rt.jobs.import_(
            OPERATOR,
            document,
            on_conflict=on_conflict,
            secrets=values,
            best_effort=best_effort,
        )

    report = run(with_runtime(ctx, body))
    if as_json:
        print_view(report)
    else:
        for job in report.jobs:
            if job.change == "failed":
                out.print(f"[red]{job.name or job.source}: failed[/]", markup=True)
                for problem in job.problems:
                    where = f"{problem.field}: " if problem.field else ""
                    out.print(f"  {where}{problem.message}", markup=False)
                continue
            renamed = f" as {job.saved_as}" if job.saved_as != job.name else ""
            out.print(f"{job.name}: {job.change}{renamed} (v{job.version})", markup=False)
    if report.failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``export`` and ``import`` to the ``job`` group."""
    app.command("export")(export)
    app.command("import")(import_)
