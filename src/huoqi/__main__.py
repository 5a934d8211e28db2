"""``python -m huoqi`` is the ``huoqi`` command."""

from huoqi.cli import main

main()
