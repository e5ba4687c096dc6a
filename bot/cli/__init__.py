"""The `paybot` command: one typer app, its commands in one module per group (`running`, `trying`, `install`,
`transfers`, `operating`), registered here in the order `paybot --help` lists them.
"""

from __future__ import annotations

import os

import typer

from bot import logs
from bot.cli import install, operating, running, transfers, trying
from bot.cli.base import err_console, settings_or_fail

app = typer.Typer(
    add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, help="paybot: send money by tweet."
)
for name, command in (
    (None, running.run),
    (None, running.web),
    (None, trying.demo),
    (None, trying.simulate),
    (None, trying.parse),
    (None, install.doctor),
    ("transfers", transfers.transfers_cmd),
    (None, transfers.show),
    (None, transfers.refund),
    (None, transfers.reverse),
    (None, transfers.reconcile),
    (None, running.webhook),
    (None, transfers.cancel),
    (None, operating.status),
    (None, operating.pause),
    ("wind-down", operating.wind_down),
    (None, operating.resume),
    (None, operating.users),
    (None, transfers.export),
    (None, install.init),
    ("sim-x", trying.sim_x),
    ("sim-stripe", trying.sim_stripe),
    ("sim-mangopay", trying.sim_mangopay),
):
    app.command(name)(command)
app.add_typer(operating.operator, name="operator")
app.add_typer(install.db, name="db")


def main() -> None:
    """The `paybot` command. A store that cannot be reached is one line, its password never in it."""
    from bot.repo.errors import StoreError

    os.umask(0o077)  # the store, the provider's files and anything written are the operator's alone
    try:
        app()
    except (StoreError, ValueError) as err:  # ValueError: a DATABASE_URL the driver cannot parse
        from bot.config import database_password_parts

        secrets = database_password_parts(os.environ.get("DATABASE_URL")) + _dotenv_db_password()
        first = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
        err_console.print(
            f"paybot: the store could not be used: {logs.redact(first, secrets)}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        raise SystemExit(1) from None


def _dotenv_db_password() -> list[str]:
    """DATABASE_URL's password parts when the URL comes from .env rather than the environment."""
    from bot.config import database_password_parts

    try:
        return database_password_parts(settings_or_fail().database_url)
    except BaseException:
        return []
