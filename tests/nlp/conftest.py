"""Shared fixtures for the NLP tests."""

from __future__ import annotations

import pytest

from nlp import Matcher, load_matcher


@pytest.fixture(scope="session")
def matcher() -> Matcher:
    """The process-wide lexicon-only matcher (loads the dictionary once for the whole run)."""
    return load_matcher()
