"""The CLI's own advice on an error: the command, flag or variable that fixes it.

The core says what is wrong, where, under a stable problem code; it names no command,
since an HTTP client cannot run ``vecron job list``. Only the CLI knows its commands,
so its advice lives here, looked up by (problem code, field). The API and the
dashboard keep their own tables, or none.
"""

from __future__ import annotations

from collections.abc import Mapping

from vecron.errors import Problem, VecronError

KEY_ADVICE = "`vecron secrets generate-key` makes a key; set VECRON_SECRET_KEYS=NEW,OLD"

#: (problem code, field; None for any field) to the advice printed after the message.
HINTS: Mapping[tuple[str, str | None], str] = {
    ("duplicate-kind", None): "uninstall one of them or block it with VECRON_DISABLE_PLUGINS",
    ("plugin-import", None): "block it with VECRON_DISABLE_PLUGINS=<name>",
    ("job-not-found", None): "`vecron job list` shows the jobs",
    ("job-disabled", None): "`vecron job enable NAME` enables it",
    ("job-running", None): "`vecron exec list --job NAME` shows the run that holds it",
    ("variable-not-found", None): "`vecron var list` shows the variables",
    ("variable-is-secret", None): (
        "pass --secret to change it, or delete it first to store a plain value"
    ),
    ("secret-missing", None): "give each with --secret NAME=VALUE or in --secrets-file FILE",
    ("unknown-secret", None): 'the export lists its placeholders under "secrets"',
    # Only an import refuses a taken name in the CLI (apply updates the job).
    ("job-exists", None): "--on-conflict rename or --on-conflict overwrite",
    ("no-secret-key", None): KEY_ADVICE,
    (
        "notifier-not-found",
        None,
    ): "notifiers are the tables [alerts.notifiers.<name>] of vecron.toml",
    ("secret-key-mismatch", None): (
        "set VECRON_SECRET_KEYS to include the key it was written with"
    ),
    ("secret-key-rotation", None): (
        "keep the old key after the new one in VECRON_SECRET_KEYS until "
        "`vecron secrets rotate-key` has run"
    ),
    ("secret-key-file-missing", None): (
        "set VECRON_SECRET_KEYS to the key the secrets were written with"
    ),
}


def hint_for(problem: Problem) -> str | None:
    """The CLI's advice for one problem: for its field, else for its code, else none."""
    return HINTS.get((problem.code, problem.field)) or HINTS.get((problem.code, None))


def error_lines(error: VecronError) -> list[str]:
    """What the CLI prints for ``error`` (without the ``error:`` prefix).

    One problem is one line: ``source: field: message (advice)``. Several are a first
    line saying what failed and how many problems (``jobs/a.yaml: 3 problems in the job
    document``), then one indented line per problem, each with its own advice, so the
    first line alone still tells a script what failed.
    """
    general = [error.hint] if error.hint else []
    if len(error.problems) == 1:
        only = error.problems[0]
        return [_line(_located(error.source, only.line()), [*general, *_advice(only)])]
    head = _line(_located(error.source, error.message), general)
    return [head, *(f"  {_line(p.line(), _advice(p))}" for p in error.problems)]


def _advice(problem: Problem) -> list[str]:
    hint = hint_for(problem)
    return [hint] if hint else []


def _located(source: str | None, text: str) -> str:
    return text if source is None else f"{source}: {text}"


def _line(text: str, advice: list[str]) -> str:
    if advice:
        text = f"{text} ({'; '.join(advice)})"
    return " ".join(text.split())
