"""Prompts put to chat accounts (``domain.prompts``): written with the message that asks, read when a reply is typed.

Where a prompt is kept depends on how it may still be read. The choices put to a person in answer to their own
message are answerable only while they are the newest (``domain.prompts.read_reply``), and nearly every update puts
new ones: they ride on the person's account row (``chat_account.prompt``), which the update writes anyway, and are
marked answered there. When newer ones replace them while still unanswered, they move to ``chat_prompt``, where a
late reply to them is still explained. Prompts sent without being asked for (``proactive``) are rows of
``chat_prompt`` from the start. Reading merges the two in the order they were put (a prompt that moved keeps its
place behind the one that replaced it, but is read as newer than the proactive ones put between the two: neither
can be answered any more, so this only decides which of them a reply that fits both is explained by).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from domain.prompts import Choice, Prompt
from storage.repositories.base import Repository, affected
from storage.repositories.chat import ReplySlot
from storage.tables import ButtonRow, ChatAccountRow, PromptRow

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

    def add(self, prompt: Prompt) -> int | None:
        """Store a prompt put to ``prompt.account_id`` (the caller's transaction).

        Returns the id of its ``chat_prompt`` row, which its buttons are to name (``ChatRepository.offered_by``);
        None for a reply prompt, kept on the account row, whose buttons name none.
        """
        if prompt.proactive:
            return self._insert(prompt)
        slot = self.uow.chat.reply_slot(prompt.account_id)
        older = _from_slot(prompt.account_id, slot)
        if older is not None and older.answered_at is None:
            # Still open: a reply to it is explained (superseded), so it moves to the table, its buttons naming it.
            older_id = self._insert(older)
            self.uow.chat.offered_by((c.token for c in older.choices), older_id)
        if self._pg:
            # PostgreSQL runs updates side by side: a prompt another update put to this person since their account
            # was read (a rating request committed meanwhile) came before this one, so it is read again now.
            newest = self.c.execute(_NEWEST, {"account": prompt.account_id}).scalar()
            slot.newest_row = max(slot.newest_row, int(newest or 0))
        _set(slot, _slot_data(prompt, slot.newest_row), prompt.expires_at)
        return None

    def recent(self, account_id: int, limit: int = RECENT) -> list[Prompt]:
        """The account's newest prompt and its newest unanswered ones (those a reply may still be about), newest
        first."""
        rows = [_prompt(r) for r in self.c.execute(_RECENT, {"account": account_id, "limit": limit})]
        slot = self.uow.chat.reply_slot(account_id)
        reply = _from_slot(account_id, slot)
        if reply is not None:
            after = _after(slot)
            at = next((i for i, p in enumerate(rows) if p.id is not None and p.id <= after), len(rows))
            rows.insert(at, reply)
        # The newest is read answered or not; an older one only while open (the table's newest may be older now).
        return [p for i, p in enumerate(rows) if i == 0 or p.answered_at is None][:limit]

    def answered(self, account_id: int, token: str, now: datetime) -> int:
        """Mark the account's open prompt that offered button ``token`` answered (pressed or typed); 1 if one was."""
        slot = self.uow.chat.reply_slot(account_id)
        reply = _from_slot(account_id, slot)
        if reply is not None and any(c.token == token for c in reply.choices):
            if reply.answered_at is not None:
                return 0
            _set(slot, {**(_data(slot) or {}), "answered": now.isoformat()}, slot.until)
            return 1
        return affected(self.c.execute(_ANSWERED, {"account": account_id, "token": token, "now": now}))

    def _insert(self, prompt: Prompt) -> int:
        choices = json.dumps([[c.token, sorted(c.keys)] for c in prompt.choices], separators=(",", ":"))
        values = {"chat_account_id": prompt.account_id, "created_at": prompt.created_at,
                  "expires_at": prompt.expires_at, "answered_at": prompt.answered_at, "topic": prompt.topic,
                  "again": (prompt.again or "")[:32] or None, "proactive": prompt.proactive, "choices": choices}
        new_id = _inserted_id(self.c.execute(_INSERT, values))
        slot = self.uow.chat.read_slot(prompt.account_id)
        if slot is not None:  # a reply prompt set after this (later in the update) comes after it
            slot.newest_row = max(slot.newest_row, new_id)
        return new_id

    def purge(self, expired_before: datetime, limit: int) -> int:
        """Forget up to ``limit`` prompts that expired before ``expired_before``; returns how many."""
        old = sa.select(_TABLE.c.id).where(_TABLE.c.expires_at < expired_before).limit(limit)
        gone = affected(self.c.execute(sa.delete(_TABLE).where(_TABLE.c.id.in_(old))))
        if gone < limit:
            stale = sa.select(_ACCOUNTS.c.id).where(_ACCOUNTS.c.prompt_until < expired_before).limit(limit - gone)
            # The expiry is checked again on the row itself: an update that put fresh choices there while this
            # waited for the row keeps them (PostgreSQL re-reads only the target row's own conditions).
            gone += affected(self.c.execute(
                _ACCOUNTS.update().where(_ACCOUNTS.c.id.in_(stale), _ACCOUNTS.c.prompt_until < expired_before)
                .values(prompt=None, prompt_until=None)))
            self.uow.chat.drop_reply_prompts(expired_before)
        return gone


_TABLE: sa.Table = PromptRow.__table__  # type: ignore[attr-defined]
_ACCOUNTS: sa.Table = ChatAccountRow.__table__  # type: ignore[attr-defined]
_INSERT = _TABLE.insert()
_OPEN = (_TABLE.c.chat_account_id == sa.bindparam("account"), _TABLE.c.answered_at.is_(None))  # ix_chat_prompt_open
# The newest prompt, and the newest open ones (each part on its own index; answered history is never walked).
_RECENT = sa.union(
    sa.select(_TABLE).where(_TABLE.c.chat_account_id == sa.bindparam("account"))
    .order_by(_TABLE.c.id.desc()).limit(1).subquery().select(),
    sa.select(_TABLE).where(*_OPEN).order_by(_TABLE.c.id.desc()).limit(sa.bindparam("limit")).subquery().select(),
).order_by(sa.desc("id")).limit(sa.bindparam("limit"))
_NEWEST = sa.select(sa.func.max(_TABLE.c.id)).where(_TABLE.c.chat_account_id == sa.bindparam("account"))
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


def _set(slot: ReplySlot, data: dict[str, Any], until: datetime | None) -> None:
    """Put a reply prompt (as ``_data`` reads it) on the account row, to be written with the account."""
    slot.text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    slot.until, slot.dirty, slot.parsed, slot.parsed_from = until, True, data, slot.text


def _slot_data(p: Prompt, newest_row: int) -> dict[str, Any]:
    """A reply prompt as the account row keeps it (``after``: the newest chat_prompt row it came after)."""
    return {"at": p.created_at.isoformat(), "until": p.expires_at.isoformat(), "topic": p.topic, "again": p.again,
            "answered": None, "after": newest_row, "choices": [[c.token, sorted(c.keys)] for c in p.choices]}


def _data(slot: ReplySlot) -> dict[str, Any] | None:
    """The reply prompt on the account row as stored (read once per text)."""
    if not slot.text:
        return None
    if slot.parsed_from is not slot.text:
        slot.parsed, slot.parsed_from = json.loads(slot.text), slot.text
    return slot.parsed


def _after(slot: ReplySlot) -> int:
    data = _data(slot)
    assert data is not None
    return int(data["after"])


def _from_slot(account_id: int, slot: ReplySlot) -> Prompt | None:
    """The reply prompt on the account row, or None."""
    data = _data(slot)
    if data is None:
        return None
    answered = data.get("answered")
    return Prompt(account_id=account_id, created_at=_utc(data["at"]), expires_at=_utc(data["until"]),
                  choices=tuple(Choice(token, frozenset(keys)) for token, keys in data["choices"]),
                  topic=data.get("topic"), again=data.get("again"), answered_at=_utc(answered) if answered else None)


def _utc(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _prompt(r: Any) -> Prompt:
    choices = tuple(Choice(token, frozenset(keys)) for token, keys in json.loads(r.choices))
    return Prompt(account_id=r.chat_account_id, created_at=r.created_at, expires_at=r.expires_at, choices=choices,
                  topic=r.topic, again=r.again, proactive=r.proactive, answered_at=r.answered_at, id=r.id)
