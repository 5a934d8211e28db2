"""``huoqi credit …``: the credit commands (other tools script against them; keep them stable)."""

from __future__ import annotations

import typer

credit_app = typer.Typer(
    help="Credit reporting: simulate, evaluate, train, score.", no_args_is_help=True
)

# the command modules register themselves on credit_app
from huoqi.credit import cli_data, cli_models  # noqa: E402, F401
