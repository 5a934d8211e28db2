"""``huoqi credit simulate | features | pipeline | retention | new-key``: the data commands.

They register on `credit_app` when `huoqi.credit.cli` imports this module. Results that
other tools read go to stdout as one JSON line; progress goes to stderr.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.console import Console

from huoqi.credit.cli import credit_app
from huoqi.errors import InvalidInput

progress = Console(stderr=True)

Users = Annotated[int, typer.Option("--users", min=1, max=5_000_000, help="Applicants.")]
Seed = Annotated[int, typer.Option("--seed", help="The same seed gives the same data.")]


def _say(step: str) -> None:
    progress.print(f"[dim]{step}…[/]")


@credit_app.command("simulate")
def simulate_command(
    users: Users,
    seed: Seed = 1,
    out: Annotated[
        Path | None, typer.Option(help="Write events.parquet and users.parquet here.")
    ] = None,
    csv: Annotated[
        Path | None,
        typer.Option(help="Also write the features and outcome as CSV (for cv and train)."),
    ] = None,
) -> None:
    """Synthetic phone events and repayment outcomes; prints the true model's AUC (ceiling)."""
    from huoqi.credit.features import compute_features
    from huoqi.credit.pipeline import training_frame
    from huoqi.credit.simulate import simulate

    started = time.perf_counter()
    _say(f"simulating {users:,} users")
    simulation = simulate(users, seed=seed)
    summary = {
        "users": users,
        "seed": seed,
        "events": simulation.events.height,
        "events_by_kind": dict(simulation.events.group_by("kind").len().sort("kind").iter_rows()),
        "bad_rate": round(float(simulation.users["bad"].mean()), 4),  # type: ignore[arg-type]
        "ceiling_auc": round(simulation.ceiling_auc, 4),
    }
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        simulation.events.write_parquet(out / "events.parquet")
        simulation.users.write_parquet(out / "users.parquet")
        summary["out"] = str(out)
    if csv is not None:
        features = compute_features(simulation.events, simulation.users)
        frame = training_frame(simulation, features).drop(columns=["user_id", "cohort"])
        csv.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(csv, index=False)
        summary["csv"] = str(csv)
    summary["seconds"] = round(time.perf_counter() - started, 2)
    typer.echo(json.dumps(summary))


@credit_app.command("features")
def features_command(
    events: Annotated[Path, typer.Option(help="events.parquet (from simulate --out).")],
    users: Annotated[Path, typer.Option(help="users.parquet: user_id and as_of (day number).")],
    out: Annotated[Path, typer.Option(help="Where to write the features (.parquet or .csv).")],
) -> None:
    """Compute the dictionary's features for each application from raw events."""
    from huoqi.credit.features import compute_features

    for path in (events, users):
        if not path.is_file():
            raise InvalidInput(f"{path} is not a file")
    started = time.perf_counter()
    try:
        raw = pl.read_parquet(events)
        applications = pl.read_parquet(users, columns=["user_id", "as_of"])
        found = compute_features(raw, applications)
    except (pl.exceptions.PolarsError, ValueError, OSError) as error:
        raise InvalidInput(f"cannot compute features: {error}") from None
    seconds = time.perf_counter() - started
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".csv":
        found.write_csv(out)
    else:
        found.write_parquet(out)
    typer.echo(
        json.dumps(
            {
                "applications": found.height,
                "events": raw.height,
                "seconds": round(seconds, 2),
                "events_per_second": round(raw.height / max(seconds, 1e-9)),
                "out": str(out),
            }
        )
    )


@credit_app.command("pipeline")
def pipeline_command(
    users: Users = 20_000,
    seed: Seed = 1,
    model: Annotated[
        list[str] | None, typer.Option(help="scorecard, gbm or blend; repeat for several.")
    ] = None,
    test_cohorts: Annotated[int, typer.Option(min=1, max=5)] = 2,
    out: Annotated[Path | None, typer.Option(help="Save each trained model here.")] = None,
) -> None:
    """Simulate → features → train on earlier cohorts → out-of-time AUC beside the ceiling."""
    from huoqi.credit.pipeline import run_pipeline

    result = run_pipeline(
        users,
        seed=seed,
        kinds=tuple(model or ("scorecard", "gbm")),
        test_cohorts=test_cohorts,
        out=out,
        progress=_say,
    )
    for kind, found in result.models.items():
        progress.print(
            f"{kind:>10}: out-of-time AUC {found['auc_oot']:.3f} (ceiling "
            f"{result.ceiling_auc:.3f}), KS {found['ks_oot']:.3f}, score PSI "
            f"{found['score_psi']:.4f} ({found['score_psi_status']})"
        )
    typer.echo(json.dumps(result.as_json()))


@credit_app.command("retention")
def retention_command(
    days: Annotated[int, typer.Option(min=0, max=3650, help="Retention period.")] = 30,
) -> None:
    """The daily job: delete raw data of purposes revoked at least DAYS ago."""
    from huoqi.credit.retention import delete_expired
    from huoqi.db.engine import make_engine, write_transaction
    from huoqi.ledger.service import utc_now

    engine = make_engine()
    try:
        with write_transaction(engine) as connection:
            done = delete_expired(connection, now=utc_now(), retention=timedelta(days=days))
    finally:
        engine.dispose()
    typer.echo(
        json.dumps(
            {
                "deletions": len(done),
                "events_deleted": sum(d.events_deleted for d in done),
                "purposes": sorted({d.purpose for d in done}),
            }
        )
    )


@credit_app.command("new-key")
def new_key_command() -> None:
    """Print a fresh key for HUOQI_CREDIT_KEY (keep it secret; losing it loses the raw data)."""
    from huoqi.credit.crypto import new_key

    typer.echo(new_key())


@credit_app.command("register")
def register_command(
    model: Annotated[Path, typer.Option(help="A directory written by train or pipeline --out.")],
    status: Annotated[str, typer.Option(help="champion, challenger or retired.")] = "challenger",
) -> None:
    """Enter a saved model in the registry of the configured database."""
    from huoqi.credit.models import load_model
    from huoqi.credit.service import register_model
    from huoqi.db.engine import make_engine, write_transaction
    from huoqi.ledger.service import utc_now

    loaded = load_model(model)
    engine = make_engine()
    try:
        with write_transaction(engine) as connection:
            version = register_model(
                connection, loaded, artefacts=model, status=status, now=utc_now()
            )
    finally:
        engine.dispose()
    typer.echo(json.dumps({"version": version, "kind": loaded.kind, "status": status}))
