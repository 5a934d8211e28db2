"""``huoqi mall serve`` (and ``python -m huoqi.mall``): the demo Mall on its own port."""

from __future__ import annotations

from typing import Annotated

import typer

mall_app = typer.Typer(
    help="The demo Mall: a merchant shop that pays through Huoqi's gateway.",
    no_args_is_help=True,
)


@mall_app.command("serve")
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8001,
) -> None:
    """Serve the Mall with the settings in MALL_* (MALL_MERCHANT_ID and MALL_SECRET needed)."""
    import uvicorn

    from huoqi.errors import HuoqiError
    from huoqi.mall.app import create_app
    from huoqi.mall.config import MallSettings

    try:
        settings = MallSettings.from_env()
    except HuoqiError as error:
        typer.echo(f"error: {error.detail}", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"Mall for merchant {settings.merchant_id} on http://{host}:{port}, "
        f"paying through {settings.huoqi_url}"
    )
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
