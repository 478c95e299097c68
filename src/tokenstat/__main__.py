"""`python -m tokenstat`: the command line."""

from tokenstat.cli import main

main()
