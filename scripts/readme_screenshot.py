"""Refresh docs/demo.svg: run the ledger demo on a fresh SQLite file and record the terminal."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from rich.console import Console

OUT = Path(__file__).resolve().parent.parent / "docs" / "demo.svg"


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        os.environ["HUOQI_DATABASE_URL"] = f"sqlite:///{folder}/demo.db"
        from huoqi.db.migrate import upgrade
        from huoqi.demo import run_demo

        upgrade()
        console = Console(record=True, width=90, force_terminal=True)
        run_demo(console)
        console.save_svg(str(OUT), title="huoqi demo")
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
