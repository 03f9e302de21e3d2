"""`python -m bot` is the command-line entry point."""

from bot.cli.main import main

raise SystemExit(main())
