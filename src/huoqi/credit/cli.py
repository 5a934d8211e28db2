"""``huoqi credit …``: the credit commands (other tools script against them; keep them stable)."""

from __future__ import annotations

import typer

credit_app = typer.Typer(
    help="Credit reporting: simulate, evaluate, train, score.", no_args_is_help=True
)

from huoqi.credit import cli_data  # noqa: E402, F401  (registers the data commands)

from huoqi.credit import cli_models as cli_models  # noqa: E402  (registers the model commands)
