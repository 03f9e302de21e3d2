"""Prompts: what a short typed reply means, read against the choices a person was last asked to make.

A *prompt* is a message that asks a person to choose (its buttons), stored for that person whatever the platform
showed of it: buttons on Telegram and WeCom, numbered lines on the Official Account, or nothing at all (a template
message). A bare reply ("5", "五", "5分", "好", a choice's label) is read against the newest valid prompt; a reply
that fits only an older or expired prompt is explained, never guessed; everything else is left to the conversation.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

ANSWER_MAX = 12  # characters: anything longer is a sentence, not a choice
_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_CN = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_NUMBER = re.compile(
    r"^(?:回复|选择|选|第|打|给|按)?([0-9]{1,4}|[零〇一二两三四五六七八九十]{1,3})(?:分|个|号|项|条|星|颗星|下)?$"
)


@dataclass(frozen=True, slots=True)
class Answer:
    """A short reply as typed: the text (trimmed), the number it says if any, its words for comparing with labels."""

    text: str
    number: int | None
    words: str


def words_of(text: str) -> str:
    """Text as compared with a label: full width folded (NFKC), no spaces or punctuation, lower case."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in folded if not ch.isspace() and not unicodedata.category(ch).startswith("P"))


def _chinese_number(s: str) -> int | None:
    """一 … 九十九 (十, 十二, 二十, 二十五)."""
    if "十" not in s:
        return _CN[s] if len(s) == 1 else None
    tens, _, ones = s.partition("十")
    if "十" in ones or len(tens) > 1 or len(ones) > 1:
        return None
    return (_CN[tens] if tens else 1) * 10 + (_CN[ones] if ones else 0)


def read_answer(text: str) -> Answer | None:
    """The reply as an answer to a choice, or None if it is not a bare reply (a command, a sentence, empty)."""
    s = text.strip()
    if not s or len(s) > ANSWER_MAX or "\n" in s or s.startswith("/"):
        return None
    words = words_of(s)
    if not words:
        return None
    number: int | None = None
    m = _NUMBER.match(words.translate(_DIGITS))
    if m:
        raw = m.group(1)
        number = int(raw) if raw.isdigit() else _chinese_number(raw)
    return Answer(s, number, words)


@dataclass(frozen=True, slots=True)
class Choice:
    """One choice of a prompt: the button it stands for and the keys of the words that also pick it (its label and
    any others the handler gave, e.g. 好 for a confirmation), as the storage made them (see ``Prompt.pick``)."""

    token: str
    keys: frozenset[str] = frozenset()


@dataclass(slots=True)
class Prompt:
    """Choices put to one chat account at ``created_at``, answerable until ``expires_at``.

    ``topic`` names what was asked (for the explanation of a late reply: ``rate``, ``question``, ``link``, ``claim``,
    ``alert``; None for an answer in a conversation), ``again`` the command that asks it again. ``proactive``: sent
    without being asked for (through the outbox or to another person's chat), not as an answer to the person.
    """

    account_id: int
    created_at: datetime
    expires_at: datetime
    choices: tuple[Choice, ...]
    topic: str | None = None
    again: str | None = None
    proactive: bool = False
    answered_at: datetime | None = None
    id: int | None = None

    def pick(self, answer: Answer, key: str | None) -> int | None:
        """The index of the choice ``answer`` picks: a number is a position (as the Official Account numbers the
        choices, 1 first), words pick the one choice with that key; None if nothing, or more than one, fits."""
        if answer.number is not None:
            return answer.number - 1 if 1 <= answer.number <= len(self.choices) else None
        hits = [i for i, c in enumerate(self.choices) if key is not None and key in c.keys]
        return hits[0] if len(hits) == 1 else None

    def valid_at(self, now: datetime) -> bool:
        """Not yet expired."""
        return now < self.expires_at


class Reading(Enum):
    """What a bare reply turned out to be."""

    ANSWER = "answer"  # the answer to the newest valid prompt: press the choice
    EXPIRED = "expired"  # it fits a prompt that is no longer valid
    SUPERSEDED = "superseded"  # it fits only an older prompt: a newer one was put to the person since


@dataclass(frozen=True, slots=True)
class Read:
    """A reply read against a prompt: how, which prompt, which choice."""

    reading: Reading
    prompt: Prompt
    index: int


def read_reply(prompts: Sequence[Prompt], answer: Answer, key: str | None, now: datetime,
               form_since: datetime | None) -> Read | None:
    """Read a bare reply against the person's prompts (newest first); None leaves it to the conversation.

    The prompt a reply answers is the newest one still open: valid, not yet answered, and, for choices shown in
    answer to the person's own message, not followed by any other prompt (the conversation moved on); a prompt sent
    without being asked for stays open until it is answered or expires. A reply that fits only another prompt is
    explained, never guessed.

    ``form_since`` is when the step-by-step form the person is in asked its current question (None if they are in
    none). The most recent question wins: a form that asked after the open prompt keeps what is typed (a number
    meant for it is never taken by an older prompt); a prompt sent with the form's question (in the same answer)
    is read first, and whatever does not fit it goes to the form.
    """
    if not prompts:
        return None
    newest = prompts[0]
    live = next((p for p in prompts
                 if p.answered_at is None and p.valid_at(now) and (p.proactive or p is newest)), None)
    if form_since is not None:
        asked = live or newest
        if form_since > asked.created_at or (form_since == asked.created_at and asked.proactive):
            return None
    if live is not None and (i := live.pick(answer, key)) is not None:
        return Read(Reading.ANSWER, live, i)
    if form_since is not None:
        return None
    for p in prompts:
        if p is live or p.answered_at is not None:
            continue
        i = p.pick(answer, key)
        if i is not None:
            return Read(Reading.SUPERSEDED if p.valid_at(now) else Reading.EXPIRED, p, i)
    return None
