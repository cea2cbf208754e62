"""``python -m plancycle.cli``."""

from plancycle.cli import main

main()
