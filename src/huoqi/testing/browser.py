"""The headless browser the end-to-end tests drive: Debian's Chromium.

``python -m huoqi.testing.browser --ensure-installed`` installs the ``chromium`` package
when ``/usr/bin/chromium`` is missing, and ``fonts-noto-cjk`` when no font has Chinese
glyphs (root and apt-get needed), so ``make test`` works on a fresh Debian machine.
Playwright drives that binary; it never downloads a browser.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def find_chromium() -> Path | None:
    if CHROMIUM.exists():
        return CHROMIUM
    found = shutil.which("chromium")
    return Path(found) if found else None


def has_chinese_font() -> bool:
    """A font with Chinese glyphs, so the test screenshots show text rather than boxes."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return False
    listed = subprocess.run([fc_list, ":lang=zh"], capture_output=True, text=True, check=False)
    return bool(listed.stdout.strip())


def ensure_installed() -> Path:
    """Chromium, and a Chinese font beside it; apt-get installs whichever is missing."""
    packages = [] if find_chromium() else ["chromium"]
    if not has_chinese_font():
        packages.append("fonts-noto-cjk")
    if packages:
        _apt_install(packages)
    found = find_chromium()
    if found is None:
        raise RuntimeError("apt-get installed chromium but /usr/bin/chromium is missing")
    return found


def _apt_install(packages: list[str]) -> None:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise RuntimeError(f"missing {', '.join(packages)}: install Debian's packages of that name")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
    ):
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {done.stderr[-2000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ensure-installed", action="store_true")
    parser.parse_args()
    try:
        print(ensure_installed())
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
