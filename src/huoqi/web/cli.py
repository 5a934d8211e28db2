"""``huoqi serve`` and ``huoqi users ...``: the web service and its staff accounts."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console

from huoqi.identity.tables import ROLES

users_app = typer.Typer(help="People who sign in: customers and staff.", no_args_is_help=True)
console = Console()


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Processes.")] = 1,
    demo_logins: Annotated[
        bool, typer.Option("--demo-logins", help="Create the demo logins first.")
    ] = False,
) -> None:
    """Serve the API, the customer app and the operator console on the configured database."""
    import uvicorn

    from huoqi.web.observability import configure_logging

    configure_logging()
    if os.environ.get("HUOQI_DEMO_SETUP") == "1":
        # once, here, rather than in each worker process at the same moment
        from huoqi.db.engine import make_engine
        from huoqi.service.demo_setup import prepare_fresh_platform, seed_demo_logins
        from huoqi.web.app import WebSettings

        settings = WebSettings.from_env()
        start = settings.demo_clock_start

        def clock() -> datetime:
            return start if start is not None else datetime.now(UTC)

        engine = make_engine()
        prepare_fresh_platform(engine, clock)
        seed_demo_logins(engine, clock)
        os.environ["HUOQI_DEMO_SETUP"] = "0"
    if demo_logins:
        from huoqi.db.engine import make_engine
        from huoqi.ledger.service import utc_now
        from huoqi.service.demo_setup import seed_demo_logins

        logins = seed_demo_logins(make_engine(), utc_now)
        shown = "\n".join(f"  {x.role:9} {x.phone} / {x.password}" for x in logins)
        print(
            f"Huoqi is at http://{host}:{port}/ (API: http://{host}:{port}/api/docs)\n"
            f"Demo logins:\n{shown}",
            flush=True,
        )
    os.environ["HUOQI_SERVING"] = "1"  # the worker processes tune their collector
    uvicorn.run(
        "huoqi.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
    )


@users_app.command("add")
def add(
    phone: Annotated[str, typer.Option("--phone", help="Mainland mobile number.")],
    role: Annotated[str, typer.Option("--role", help="/".join(ROLES))],
    password: Annotated[
        str, typer.Option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
    ],
    name: Annotated[str, typer.Option("--name", help="Display name.")] = "",
) -> None:
    """Create a user (customers also get a current account)."""
    from huoqi.db.engine import make_engine
    from huoqi.errors import InvalidInput
    from huoqi.ledger.service import utc_now
    from huoqi.service.demo_setup import add_user

    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
    user = add_user(
        make_engine(), phone=phone, password=password, role=role, now=utc_now(), display_name=name
    )
    console.print(f"user {user.id}: {role}")
