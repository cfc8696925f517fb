"""``vecron secrets``: make a key, re-encrypt every secret value with the first key.

Rotation without downtime: ``VECRON_SECRET_KEYS=NEW,OLD`` everywhere (the new key
encrypts, both decrypt), then ``vecron secrets rotate-key``, then ``VECRON_SECRET_KEYS=NEW``.
Production must set VECRON_SECRET_KEYS; the generated key file beside an embedded SQLite
database is for one machine only.
"""

from __future__ import annotations

from typing import Annotated

import typer

from vecron.cli.session import OPERATOR, out, print_view, run, with_runtime

app = typer.Typer(no_args_is_help=True)


@app.command("generate-key")
def generate_key() -> None:
    """Print a new random key for VECRON_SECRET_KEYS (keep it secret; it is not stored)."""
    from vecron.secrets.box import generate_key as new_key

    print(new_key())


@app.command("rotate-key")
def rotate_key(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Re-encrypt every secret value with the first key of VECRON_SECRET_KEYS.

    Put the new key first and keep the old one after it, run this, then remove the old
    key. All values are re-encrypted in one transaction: if one cannot be decrypted,
    none is changed.
    """
    rotation = run(with_runtime(ctx, lambda rt: rt.variables.rotate_key(OPERATOR)))
    if as_json:
        print_view(rotation)
        return
    count = rotation.reencrypted
    out.print(
        f"re-encrypted {count} secret value{'s' if count != 1 else ''} with the first key; "
        "the keys after it can now be removed from VECRON_SECRET_KEYS",
        markup=False,
    )
