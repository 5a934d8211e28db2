"""``python -m huoqi.mall --port 8001``: the same as ``huoqi mall serve``."""

import typer

from huoqi.mall.cli import serve

typer.run(serve)
