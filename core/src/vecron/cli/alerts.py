"""``vecron alerts``: check that a configured notifier delivers."""

from __future__ import annotations

from typing import Annotated

import typer

from vecron.cli.session import OPERATOR, JsonFlag, out, print_view, run, with_runtime

app = typer.Typer(no_args_is_help=True)


@app.command("test")
def send_test(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A notifier of the settings' [alerts.notifiers].")],
    as_json: JsonFlag = False,
) -> None:
    """Send one test alert through notifier NAME and wait for it to be taken."""
    view = run(with_runtime(ctx, lambda rt: rt.alerts.test(OPERATOR, name)))
    if as_json:
        print_view(view)
        return
    out.print(
        f"sent a test alert through {view.notifier} ({view.type}): id {view.alert_id}", markup=False
    )
