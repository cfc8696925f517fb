"""The ``vecron`` command line. Commands parse input, call the service layer, print."""

from __future__ import annotations

import os
import sys

import typer

from vecron.cli.app import app
from vecron.cli.hints import error_lines
from vecron.errors import VecronError

_plugin_commands_added = False


def add_plugin_commands() -> None:
    """Let installed plugins add commands (``vecron_register_commands``): ``vecron api``,
    ``vecron users`` ... Once per process."""
    global _plugin_commands_added
    if _plugin_commands_added:
        return
    _plugin_commands_added = True
    from vecron.plugin.manager import get_plugin_manager

    get_plugin_manager().hook.vecron_register_commands(cli=app)


def main() -> None:
    """Entry point: a VecronError becomes one line on stderr (one more, indented, per
    problem when a document has several) and its exit code."""
    try:
        add_plugin_commands()
        app(standalone_mode=False)
    except VecronError as exc:
        if os.environ.get("VECRON_DEBUG"):
            raise
        print("error: " + "\n".join(error_lines(exc)), file=sys.stderr)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        print("aborted", file=sys.stderr)
        sys.exit(130)
    except KeyboardInterrupt:
        sys.exit(130)
    except typer.exceptions.TyperException as exc:  # usage errors (typer's own click)
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            print(f"error: {exc.format_message()}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except Exception as exc:  # the unexpected
        if os.environ.get("VECRON_DEBUG"):
            raise
        print(
            f"error: {type(exc).__name__}: {exc} (set VECRON_DEBUG=1 for a traceback)",
            file=sys.stderr,
        )
        sys.exit(1)


__all__ = ["add_plugin_commands", "app", "main"]
