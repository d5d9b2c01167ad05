"""`python -m migrator`: the same as the `migrator` command."""

from migrator.cli import main

main()
