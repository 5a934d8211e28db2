"""A model directory on disk: metadata.json plus the artefacts, written all or nothing.

The files are written into a fresh sibling directory that is renamed into place, so a
failed save leaves nothing behind and a directory either holds a whole model or none.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from huoqi.errors import Conflict, InvalidInput, NotFound

ARTEFACTS = ("scorecard.json", "gbm.txt")


def check_free(directory: Path) -> None:
    """Refuse a ``directory`` that exists and is not an empty directory."""
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise Conflict(f"{directory} already exists and is not empty: choose a new directory")


def write_artefacts(directory: Path, files: dict[str, str]) -> None:
    """Create ``directory`` holding ``files`` (name -> text); refuse a non-empty one."""
    directory = Path(directory)
    check_free(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    try:
        for name, text in files.items():
            (staging / name).write_text(text, encoding="utf-8")
        if directory.exists():
            directory.rmdir()  # empty, checked above
        staging.rename(directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def read_artefacts(directory: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """metadata.json parsed, and the text of each artefact present."""
    directory = Path(directory)
    if not directory.is_dir():
        raise NotFound(f"no model directory {directory}")
    meta = directory / "metadata.json"
    if not meta.is_file():
        raise NotFound(f"{directory} is not a model directory: it has no metadata.json")
    try:
        metadata = json.loads(meta.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidInput(f"{meta} is not valid JSON: {error}") from None
    if not isinstance(metadata, dict):
        raise InvalidInput(f"{meta} does not hold a JSON object")
    files = {}
    for name in ARTEFACTS:
        path = directory / name
        if path.is_file():
            files[name] = path.read_text(encoding="utf-8")
    return metadata, files
