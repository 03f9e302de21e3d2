"""The command line, `python -m bot <command>`: one parser, one app factory, a module per command group."""
