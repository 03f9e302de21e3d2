"""NLP commands: classify, nlp-explain, nlp-train, nlp-eval (owned by the matcher work)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the NLP sub-commands."""
