"""``huoqi reconcile ...`` as an operator and a script use it."""

from __future__ import annotations

import json
from pathlib import Path

from test_cli import Huoqi
from test_reconcile_files import a_day_of_business

from huoqi.db.engine import make_engine


def test_make_a_file_with_differences_import_it_list_and_show_the_run(tmp_path: Path) -> None:
    cli = Huoqi(tmp_path / "rec.db")
    cli("db", "upgrade")
    a_day_of_business(make_engine(f"sqlite:///{cli.database}"))

    clean = tmp_path / "clean.csv"
    made = cli("reconcile", "make-file", "bank", "--date", "2026-11-02", "-o", str(clean))
    assert "wrote 6 lines" in made.stderr
    done = cli("reconcile", "bank", str(clean))
    assert "file and Huoqi agree" in done.stdout

    made = cli(
        "reconcile", "make-file", "fund", "--date", "2026-11-03", "--seed", "3",
        "--inject", "missing,duplicate,wrong-amount,split,extra",
    )  # fmt: skip
    injected = [line.split()[1].rstrip(":") for line in made.stderr.splitlines()]
    assert sorted(injected) == ["duplicate", "extra", "missing", "split", "wrong-amount"]
    dirty = tmp_path / "fund.csv"
    dirty.write_text(made.stdout)
    done = cli("reconcile", "fund", str(dirty), "--json", ok=False)
    assert done.returncode == 1, done.stderr
    run = json.loads(done.stdout)
    assert run["business_date"] == "2026-11-03" and not run["clean"]
    assert {k: v["groups"] for k, v in run["summary"].items()} == {
        "matched": 4, "mismatched": 1, "duplicate": 1, "missing_in_huoqi": 1,
        "missing_in_file": 1,
    }  # fmt: skip

    listed = cli("reconcile", "runs")
    assert "fund.csv" in listed.stdout and "clean.csv" in listed.stdout
    shown = cli("reconcile", "show", str(run["id"]))
    assert "mismatched (1:1)" in shown.stdout and "amount: file" in shown.stdout
    assert "differences found" in shown.stdout


def test_refusals_exit_2_with_a_clear_error(tmp_path: Path) -> None:
    cli = Huoqi(tmp_path / "rec.db")
    cli("db", "upgrade")
    bad = tmp_path / "bad.csv"
    bad.write_text("value_date,direction,amount,reference,memo\n2026-11-02,CR,abc,R1,\n")
    done = cli("reconcile", "bank", str(bad), ok=False)
    assert done.returncode == 2
    assert "error[invalid_reconciliation_file]: line 2:" in done.stderr
    done = cli("reconcile", "bank", str(tmp_path / "nowhere.csv"), ok=False)
    assert done.returncode == 2 and "cannot read" in done.stderr
    done = cli(
        "reconcile", "make-file", "bank", "--date", "2026-11-02", "--inject", "lost", ok=False
    )
    assert done.returncode == 2 and "unknown injection lost" in done.stderr
    done = cli("reconcile", "show", "42", ok=False)
    assert done.returncode == 2 and "unknown_reconciliation_run" in done.stderr
