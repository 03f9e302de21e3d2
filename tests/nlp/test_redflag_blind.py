"""The red-flag detector against case sets written blind (see redflag_blind/README.md).

The tuning sets hold the targets the rules (and the second reader, trained on them) were tuned to. The held-out half
is never read while tuning: it is scored once per change. Its test holds issue 14's targets, recall >= 0.98 and
false alarms <= 5% (measured: 0.990 and 0.027 with the second reader; the README gives the figures).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from bot.cli.nlp import score_redflags

HERE = Path(__file__).with_name("redflag_blind")
TUNING = ("dev.jsonl", "dev2.jsonl", "dev3.jsonl", "dev4.jsonl", "dev5.jsonl", "dev6.jsonl", "dev7.jsonl", "dev8.jsonl",
          "dev9.jsonl", "dev10.jsonl", "dev11.jsonl",
          "dev12.jsonl", "dev13.jsonl", "dev14.jsonl", "dev15.jsonl", "dev16.jsonl", "dev17.jsonl")
TUNED_RECALL, TUNED_FALSE_ALARMS = 0.98, 0.05
HELDOUT_RECALL_FLOOR, HELDOUT_FALSE_ALARMS_CEILING = 0.98, 0.05


def _rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (HERE / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_case_sets_are_the_frozen_ones():
    """A case set is never edited to fit the rules: its hash is the one recorded when it was frozen."""
    for line in (HERE / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        assert hashlib.sha256((HERE / name).read_bytes()).hexdigest() == digest, name


@pytest.mark.parametrize("name", TUNING)
def test_tuning_sets_meet_the_targets(matcher, name):
    result = score_redflags(matcher, _rows(name))
    assert result["recall"] >= TUNED_RECALL, [w for w in result["wrong"] if w["emergency"]]
    assert result["false_alarms"] <= TUNED_FALSE_ALARMS, [w for w in result["wrong"] if not w["emergency"]]


def test_heldout_half_does_not_fall_below_its_last_measured_level(matcher):
    result = score_redflags(matcher, _rows("heldout.jsonl"))
    assert result["recall"] >= HELDOUT_RECALL_FLOOR
    assert result["false_alarms"] <= HELDOUT_FALSE_ALARMS_CEILING


def test_every_language_the_bot_accepts_is_checked(matcher):
    """English and toneless pinyin stories in the tuning sets are flagged like the Chinese ones."""
    rows = [r for name in TUNING for r in _rows(name) if r["lang"] in ("en", "pinyin") and r["emergency"]]
    assert len(rows) > 50
    assert score_redflags(matcher, rows)["recall"] >= TUNED_RECALL
