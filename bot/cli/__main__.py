"""`python -m bot.cli`, the same as `paybot` (and `python -m bot`)."""

from bot.cli import main

main()
