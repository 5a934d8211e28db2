"""``huoqi credit cv | train | score``: the model commands (other tools script against them).

``cv`` prints one JSON line; ``train`` writes a model directory and prints one JSON line
about it; ``score`` writes CSV to stdout. Bad input raises a HuoqiError before anything is
written: the ``huoqi`` entry point prints ``error[code]: ...`` and exits 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from huoqi.credit.cli import credit_app
from huoqi.errors import InvalidInput

# The model libraries (optbinning, scikit-learn, LightGBM, pandas) load inside the commands:
# importing them here would slow every other `huoqi` command by seconds.

CsvOption = Annotated[Path, typer.Option("--csv", help="CSV file with a header line.")]
TargetOption = Annotated[str, typer.Option("--target", help="Column holding the outcome.")]
BadOption = Annotated[str, typer.Option("--bad", help="The target value that means bad.")]
ModelOption = Annotated[str, typer.Option("--model", help="scorecard, gbm or blend.")]
SeedOption = Annotated[int, typer.Option("--seed", help="Seed for folds and trees.")]


@credit_app.command("cv")
def cv(
    *,
    csv: CsvOption,
    target: TargetOption,
    bad: BadOption,
    folds: Annotated[int, typer.Option("--folds", help="Number of folds.")] = 10,
    model: ModelOption = "scorecard",
    seed: SeedOption = 1,
) -> None:
    """Stratified k-fold evaluation; one JSON line (auc_mean, auc_std, ks, gini, n, bad_rate…)."""
    from huoqi.credit.model_data import bad_flags, check_kind, read_csv

    check_kind(model)
    frame = read_csv(csv)
    bad_flags(frame, target=target, bad=bad)  # refuse before loading the model libraries
    from huoqi.credit.models import cross_validate

    result = cross_validate(frame, target=target, bad=bad, kind=model, folds=folds, seed=seed)
    typer.echo(json.dumps(result, ensure_ascii=False))


@credit_app.command("train")
def train(
    *,
    csv: CsvOption,
    target: TargetOption,
    bad: BadOption,
    out: Annotated[Path, typer.Option("--out", help="New directory for the model.")],
    model: ModelOption = "scorecard",
    seed: SeedOption = 1,
) -> None:
    """Train on the whole file and save the model (artefacts + metadata.json) into OUT."""
    from huoqi.credit.model_data import bad_flags, check_kind, infer_schema, prepare, read_csv
    from huoqi.credit.model_store import check_free

    check_kind(model)
    check_free(out)
    frame = read_csv(csv)
    bad_flags(frame, target=target, bad=bad)  # refuse before loading the model libraries
    prepare(frame, infer_schema(frame.drop(columns=[target])))
    from huoqi.credit.models import fit_model

    trained = fit_model(frame, target=target, bad=bad, kind=model, seed=seed)
    trained.save(out)
    shown = {k: trained.metadata[k] for k in ("version", "kind", "rows", "bad_rate", "metrics")}
    typer.echo(json.dumps({"out": str(out), **shown}, ensure_ascii=False))


@credit_app.command("score")
def score(
    model: Annotated[Path, typer.Option("--model", help="A directory written by train.")],
    csv: CsvOption,
    id_column: Annotated[
        str | None, typer.Option("--id", help="Column naming each row (default: id, else 1…n).")
    ] = None,
) -> None:
    """Score every row: CSV on stdout with row, score, band, p_bad, reason_1…reason_4."""
    from huoqi.credit.model_data import read_csv
    from huoqi.credit.model_store import read_artefacts

    read_artefacts(model)  # refuse a missing directory before loading the model libraries
    frame = read_csv(csv)
    from huoqi.credit.models import load_model

    trained = load_model(model)
    scored = trained.score(frame)
    name = id_column or ("id" if "id" in frame.columns else None)
    if name is not None and name not in frame.columns:
        raise InvalidInput(f"no id column {name!r} in {csv}")
    rows = frame[name].to_numpy() if name else range(1, len(frame) + 1)
    scored.insert(0, "row", list(rows))
    scored["p_bad"] = scored["p_bad"].round(6)
    scored.to_csv(sys.stdout, index=False, lineterminator="\n")
