"""Prompts in the conversation: record the choices each message puts to a person, read a reply typed to them.

Whatever a platform shows of a message with buttons (buttons, numbered lines on the Official Account, a template
message with none), the choices are recorded here for the person it goes to, with what they are about and until
when they can be answered: as an answer to the person's own message (``Conversation``), as a message to someone
else (``Ctx.offer``) or straight into the outbox (emergency alerts). A bare reply ("5", "五", "5分", "好", a
label) is then read by :func:`domain.prompts.read_reply`: the answer to the newest valid prompt is that button's
press, re-authorised and audited as a press is; a reply that fits only an older or expired prompt is explained.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from domain.prompts import Choice, Prompt, Read, Reading, words_of
from handlers import texts_prompts  # noqa: F401  (registers the texts)
from handlers.texts import TEXTS, t
from storage.ports import UnitOfWork

# A list shown in answer to the person's own message stops meaning anything after a day (its buttons live longer,
# on platforms that show them; a typed "3" a week later is not about that list).
REPLY_VALID = timedelta(days=1)
# A message sent without being asked for is answerable as long as its buttons work (``handlers.core.BUTTON_TTL``),
# unless the handler says less (``Asked.until``); never longer.
PROACTIVE_VALID = timedelta(days=30)
_BRACKET = re.compile(r"[（(]")


class Shown(Protocol):
    """A choice as a message carries it (``handlers.core.Button``)."""

    @property
    def label(self) -> str: ...

    @property
    def data(self) -> str: ...

    @property
    def answers(self) -> tuple[str, ...]: ...


@dataclass(frozen=True, slots=True)
class Asked:
    """What a message with choices asks, for reading a late or typed reply to it (``domain.prompts.Prompt``)."""

    topic: str | None = None
    until: datetime | None = None
    again: str | None = None


def words(key: str) -> tuple[str, ...]:
    """Answer words from the catalogue (``answer.*``, separated by spaces); none if the key is not there."""
    return tuple(TEXTS[key].split()) if key in TEXTS else ()


def yes() -> tuple[str, ...]:
    """The words that confirm (好, 是, 确认 …)."""
    return words("answer.yes")


def no() -> tuple[str, ...]:
    """The words that refuse (不, 否, 拒绝 …)."""
    return words("answer.no")


def words_picking(choice: Shown) -> set[str]:
    """The words that pick a choice when typed: its label, the label's name before any details in brackets (what
    WeCom shows of a long label), and the handler's own words (``Button.answers``)."""
    found = {words_of(choice.label), words_of(_BRACKET.split(choice.label, maxsplit=1)[0])}
    found.update(words_of(w) for w in choice.answers)
    return {w for w in found if w and not w.isdigit()}  # a number picks by position, as the OA numbers choices


def record(uow: UnitOfWork, account_id: int, shown: Sequence[Shown], now: datetime, asked: Asked | None = None, *,
           proactive: bool) -> None:
    """Store the choices ``shown`` to one account (in the order the platform shows and numbers them)."""
    if not shown:
        return
    asked = asked or Asked()
    until = min(asked.until or now + (PROACTIVE_VALID if proactive else REPLY_VALID), now + PROACTIVE_VALID)
    choices = tuple(Choice(c.data, uow.prompts.keys(words_picking(c))) for c in shown)
    prompt_id = uow.prompts.add(Prompt(account_id, now, until, choices, topic=asked.topic, again=asked.again,
                                       proactive=proactive))
    if prompt_id is not None:  # a reply prompt, kept on the account row, is named by no button
        uow.chat.offered_by((c.data for c in shown), prompt_id)


def explain(read: Read, answer_text: str) -> str:
    """Why a late reply was not taken, and what to do instead."""
    p = read.prompt
    expired = read.reading is Reading.EXPIRED
    what = t(f"prompt.what.{p.topic}") if p.topic else t("prompt.what")
    if p.topic:
        key = f"prompt.instead.{p.topic}"
        instead = t(key + ".expired") if expired and (key + ".expired") in TEXTS else t(key)
    elif p.again:
        instead = t("prompt.instead.again", again=p.again)
    else:
        instead = t("prompt.instead")
    return t(f"prompt.{read.reading.value}", answer=answer_text, what=what, instead=instead)

