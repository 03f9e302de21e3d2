"""Core commands: run, migrate, seed, import, invite, demo."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the core sub-commands."""
