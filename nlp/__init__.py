"""Specialty matching and emergency red flags for free-text needs (jieba + a reviewable medical lexicon).

Public API (used by the conversation handlers and the CLI)::

    from nlp import load_matcher
    result = load_matcher().classify("老人心口疼，晚上喘不上气", age=72)
    result.specialties[0].code, result.emergency, result.to_json()
"""

from __future__ import annotations

import threading

from nlp.matcher import Classification, Matcher, SpecialtyScore

__all__ = ["Classification", "Matcher", "SpecialtyScore", "load_matcher"]

_lock = threading.Lock()
_matchers: dict[str | None, Matcher] = {}


def load_matcher(model_path: str | None = None) -> Matcher:
    """The process-wide matcher for this model path (None: lexicon only); dictionaries load once."""
    key = str(model_path) if model_path is not None else None
    matcher = _matchers.get(key)
    if matcher is not None:
        return matcher
    with _lock:
        matcher = _matchers.get(key)
        if matcher is None:
            from nlp.resources import shipped_data

            model = None
            if key is not None:
                from nlp.model import TextModel

                model = TextModel.load(key)
            base = _matchers.get(None)
            if base is not None and model is not None:
                matcher = base.with_model(model)
            else:
                from nlp.reader import SecondReader

                matcher = Matcher(shipped_data(), model, SecondReader.load())
            _matchers[key] = matcher
    return matcher
