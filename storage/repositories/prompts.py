"""Prompts put to chat accounts (``domain.prompts``): written with the message that asks, read when a reply is typed."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from domain.prompts import Choice, Prompt
from storage.repositories.base import Repository, affected
from storage.tables import ButtonRow, PromptRow

RECENT = 5  # prompts read for a typed reply: the newest, and older open ones (answerable, or to explain a reply)


class PromptRepository(Repository):
    """The choices each chat account was asked to make, newest last."""

    def key(self, words: str) -> str:
        """The stored form of words that pick a choice (``domain.prompts.words_of``): a keyed hash, so a label that
        names a resident is not kept in clear text beside the buttons."""
        found = self.uow.cipher.lookup_hash(words, context="prompt-answer")
        assert found is not None
        return str(found)[:24]

    def keys(self, words: Iterable[str]) -> frozenset[str]:
        """The keys of several words (empty ones left out)."""
        return frozenset(self.key(w) for w in words if w)

    def add(self, prompt: Prompt) -> int:
        """Store a prompt put to ``prompt.account_id`` (the caller's transaction); returns its id."""
        choices = json.dumps([[c.token, sorted(c.keys)] for c in prompt.choices], separators=(",", ":"))
        values = {"chat_account_id": prompt.account_id, "created_at": prompt.created_at,
                  "expires_at": prompt.expires_at, "answered_at": prompt.answered_at, "topic": prompt.topic,
                  "again": (prompt.again or "")[:32] or None, "proactive": prompt.proactive, "choices": choices}
        return _inserted_id(self.c.execute(_INSERT, values))

    def recent(self, account_id: int, limit: int = RECENT) -> list[Prompt]:
        """The account's newest prompt and its newest unanswered ones (those a reply may still be about), newest
        first."""
        return [_prompt(r) for r in self.c.execute(_RECENT, {"account": account_id, "limit": limit})]

    def answered(self, account_id: int, token: str, now: datetime) -> int:
        """Mark the account's open prompt that offered button ``token`` answered (pressed or typed)."""
        return affected(self.c.execute(_ANSWERED, {"account": account_id, "token": token, "now": now}))

    def purge(self, expired_before: datetime, limit: int) -> int:
        """Forget up to ``limit`` prompts that expired before ``expired_before``; returns how many."""
        old = sa.select(_TABLE.c.id).where(_TABLE.c.expires_at < expired_before).limit(limit)
        return affected(self.c.execute(sa.delete(_TABLE).where(_TABLE.c.id.in_(old))))


_TABLE: sa.Table = PromptRow.__table__  # type: ignore[attr-defined]
_INSERT = _TABLE.insert()
_OPEN = (_TABLE.c.chat_account_id == sa.bindparam("account"), _TABLE.c.answered_at.is_(None))  # ix_chat_prompt_open
# The newest prompt, and the newest open ones (each part on its own index; answered history is never walked).
_RECENT = sa.union(
    sa.select(_TABLE).where(_TABLE.c.chat_account_id == sa.bindparam("account"))
    .order_by(_TABLE.c.id.desc()).limit(1).subquery().select(),
    sa.select(_TABLE).where(*_OPEN).order_by(_TABLE.c.id.desc()).limit(sa.bindparam("limit")).subquery().select(),
).order_by(sa.desc("id")).limit(sa.bindparam("limit"))
_BUTTONS: sa.Table = ButtonRow.__table__  # type: ignore[attr-defined]
# The prompt a button names (button.prompt_id, written with both): found by its key, never by reading the choices of
# every open prompt. The account and the moment they were made together must match too, so an id from a purged
# prompt cannot answer another.
_PRESSED = sa.select(_BUTTONS.c.prompt_id, _BUTTONS.c.created_at).where(_BUTTONS.c.token == sa.bindparam("token"))
_ANSWERED = (
    _TABLE.update()
    .where(*_OPEN, sa.tuple_(_TABLE.c.id, _TABLE.c.created_at).in_(_PRESSED))
    .values(answered_at=sa.bindparam("now"))
)


def _inserted_id(result: Any) -> int:
    key = result.inserted_primary_key
    assert key is not None and key[0] is not None
    return int(key[0])


def _prompt(r: Any) -> Prompt:
    choices = tuple(Choice(token, frozenset(keys)) for token, keys in json.loads(r.choices))
    return Prompt(account_id=r.chat_account_id, created_at=r.created_at, expires_at=r.expires_at, choices=choices,
                  topic=r.topic, again=r.again, proactive=r.proactive, answered_at=r.answered_at, id=r.id)
