"""Chat accounts, subscriptions, invites, buttons and processed platform updates."""

from __future__ import annotations

import base64
import functools
import json
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from domain.accounts import ChatAccount
from domain.privacy import mask_free_text
from domain.staff import Role
from storage.repositories.base import Repository, affected, dialect_insert
from storage.tables import (
    ButtonRow,
    ChatAccountRow,
    CircuitWorkRow,
    CounterRow,
    InviteRow,
    OrderOutcomeRow,
    ProcessedUpdateRow,
    PromptRow,
    SubscriptionRow,
)

BUTTON_TOKEN_BYTES = 9  # 12 url-safe characters: far below Telegram's 64-byte callback_data limit
_ENTROPY_CHUNK = 4096


class _Entropy:
    """Bytes from the operating system's CSPRNG, fetched a page at a time: a list of cards makes dozens of
    tokens, and each ``os.urandom`` call is a system call (and, in a worker thread, a wait for the GIL).
    Dropped in a forked child, so no two processes ever hand out the same bytes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buf = b""
        self._at = 0  # bytes of the page already handed out (each byte once)

    def take(self, n: int) -> bytes:
        with self._lock:
            if self._at + n > len(self._buf):
                self._buf, self._at = os.urandom(_ENTROPY_CHUNK), 0
            start, self._at = self._at, self._at + n
            return self._buf[start:self._at]

    def forget(self) -> None:
        """Drop the page (in a forked child: the parent hands out the same bytes)."""
        self._lock = threading.Lock()  # a lock held by another thread at fork time stays held in the child
        self._buf, self._at = b"", 0


_ENTROPY = _Entropy()
os.register_at_fork(after_in_child=_ENTROPY.forget)


@dataclass(slots=True)
class ReplySlot:
    """The account row's reply prompt as read or last set in this unit of work (``PromptRepository`` reads and
    writes what it means; ``ChatRepository.save`` writes it back with the account)."""

    text: str | None  # the prompt as JSON, or None
    until: datetime | None  # when a reply can no longer pick it
    newest_row: int  # the newest chat_prompt id of the account so far: rows above it came after the reply prompt
    dirty: bool = False
    parsed: Any = None  # ``text`` read (by PromptRepository), kept while ``text`` is what it was read from
    parsed_from: str | None = None


def _new_token() -> str:
    """An unguessable button token (the same alphabet as ``secrets.token_urlsafe``)."""
    return base64.urlsafe_b64encode(_ENTROPY.take(BUTTON_TOKEN_BYTES)).rstrip(b"=").decode("ascii")


class ChatRepository(Repository):
    """Everything the conversation layer stores besides orders.

    Accounts, buttons and update ids are touched by every chat update, so they use Core statements (see
    ``Repository.c``); an account is written back only where it changed since it was read.
    """

    def __init__(self, uow: Any):
        super().__init__(uow)
        self._stored: dict[int, dict[str, Any]] = {}  # account id → column values as last read or written
        self._buttons: list[dict[str, Any]] = []  # made, not yet inserted
        # The pressed button, read with its presser's account (see ``account``): (token, row or None), until asked.
        self._pressed: tuple[str, Any] | None = None
        self._slots: dict[int, ReplySlot] = {}  # account id → its reply prompt (see ``reply_slot``)

    # --- accounts -------------------------------------------------------------------------------------------
    def account(self, platform: str, platform_user_id: str, *, pressed: str | None = None) -> ChatAccount | None:
        """The account of this platform user, or None.

        ``pressed``: the token of the button the user pressed, read in the same statement (one round trip fewer on
        every press); ``button`` then answers from it, as long as no button was written or purged in between.
        """
        params = {"platform": platform, "user": platform_user_id}
        if _is_token(pressed):
            assert pressed is not None
            row = self.c.execute(_ACCOUNT_AND_BUTTON, {**params, "token": pressed}).first()
            if row is not None:  # no account, no answer about the button: ``button`` looks it up itself
                self._pressed = (pressed, row if row.button_token is not None else None)
        else:
            row = self.c.execute(_ACCOUNT_BY_USER, params).first()
        if row is None:
            return None
        # The reference data version rides along (one round trip fewer on every update; see ReferenceCache).
        self.uow.reference_version_seen = int(row.reference_version or 0)
        return self._loaded(row)

    def account_by_id(self, account_id: int) -> ChatAccount | None:
        """One account by id, or None."""
        row = self.c.execute(_ACCOUNT_BY_ID, {"id": account_id}).first()
        return self._loaded(row) if row else None

    def get_or_create(
        self, platform: str, platform_user_id: str, chat_id: str, display_name: str | None, now: datetime,
        *, pressed: str | None = None,
    ) -> ChatAccount:
        """The account for this user, created on first contact (``pressed``: as in ``account``)."""
        acc = self.account(platform, platform_user_id, pressed=pressed)
        if acc is not None:
            if acc.chat_id != chat_id:
                acc.chat_id = chat_id
                self.save(acc)
            return acc
        values = {"platform": platform, "platform_user_id": platform_user_id, "chat_id": chat_id,
                  "display_name": (display_name or "")[:100] or None, "staff_id": None, "resident_id": None,
                  "acting_role": None, "step": None, "draft": "{}", "draft_updated_at": None, "reminded_at": None,
                  "blocked": False, "created_at": now}
        row = self.c.execute(_ACCOUNTS.insert().values(**values).returning(*_ACCOUNTS.c)).one()
        return self._loaded(row)

    def _loaded(self, row: Any) -> ChatAccount:
        acc = _account(row)
        assert acc.id is not None
        self._stored[acc.id] = {k: getattr(row, k) for k in _SAVED}  # as stored: the draft's text, not re-encoded
        slot = self._slots.get(acc.id)
        if slot is None or not slot.dirty:  # read again in the same unit of work: what it set still stands
            newest = row._mapping.get("newest_prompt_id")
            self._slots[acc.id] = ReplySlot(row.prompt, row.prompt_until, int(newest or 0))
        return acc

    # --- the reply prompt on the account row ----------------------------------------------------------------
    def reply_slot(self, account_id: int) -> ReplySlot:
        """The account's reply prompt as stored or as set in this unit of work (the account is read if it was not);
        changing it and setting ``dirty`` writes it with the account (``save``) or at the commit."""
        slot = self._slots.get(account_id)
        if slot is None:
            if self.account_by_id(account_id) is None:
                raise LookupError(f"no chat account {account_id}")
            slot = self._slots[account_id]
        return slot

    def read_slot(self, account_id: int) -> ReplySlot | None:
        """The account's reply prompt if the account was read in this unit of work (nothing is read here)."""
        return self._slots.get(account_id)

    def drop_reply_prompts(self, expired_before: datetime) -> None:
        """Forget, as read here, the reply prompts that expired before ``expired_before`` (they were purged)."""
        for slot in self._slots.values():
            if slot.until is not None and slot.until < expired_before:
                slot.text, slot.until = None, None

    def write_reply_prompts(self) -> None:
        """Write the reply prompts set in this unit of work whose account was not saved since (one UPDATE each)."""
        for account_id, slot in self._slots.items():
            if slot.dirty:
                self.c.execute(_account_update(("prompt", "prompt_until")),
                               {"prompt": slot.text, "prompt_until": slot.until, "account_id": account_id})
                slot.dirty = False

    def save(self, acc: ChatAccount) -> None:
        """Write back an account and its conversation state (only what changed since it was read here)."""
        assert acc.id is not None
        values = _account_values(acc)
        stored = self._stored.get(acc.id)
        changed = values if stored is None else {k: v for k, v in values.items() if stored[k] != v}
        if _STATE.intersection(changed):
            # The conversation state is one thing: written whole, so a reminder mark the draft sweeper set after
            # this update read the account cannot survive into a draft this update just (re)started.
            changed.update({k: values[k] for k in _STATE})
        slot = self._slots.get(acc.id)
        if slot is not None and slot.dirty:  # the reply prompt set in this update: in the same statement
            changed = {**changed, "prompt": slot.text, "prompt_until": slot.until}
            slot.dirty = False
        if changed:
            self.c.execute(_account_update(tuple(changed)), {**changed, "account_id": acc.id})
            self._stored[acc.id] = values

    def forget_reads(self) -> None:
        """After a rollback what was read no longer tells what is stored: the next save writes everything."""
        self._stored.clear()
        self._buttons.clear()
        self._pressed = None
        self._slots.clear()

    def accounts_of_staff(self, staff_ids: list[int]) -> list[ChatAccount]:
        """Every account bound to these staff members."""
        if not staff_ids:
            return []
        rows = self.c.execute(_ACCOUNTS_OF_STAFF, {"ids": staff_ids})
        return [_account(r) for r in rows]

    def accounts_of_resident(self, resident_id: int) -> list[ChatAccount]:
        """Every account linked to this resident."""
        rows = self.s.exec(select(ChatAccountRow).where(col(ChatAccountRow.resident_id) == resident_id))
        return [_account(r) for r in rows]

    def stale_drafts(self, older_than: datetime) -> list[ChatAccount]:
        """Accounts with a draft not touched since ``older_than``."""
        rows = self.s.exec(
            select(ChatAccountRow).where(
                col(ChatAccountRow.step).is_not(None), col(ChatAccountRow.draft_updated_at) < older_than
            )
        )
        return [_account(r) for r in rows]

    def open_drafts(self, platform: str) -> list[ChatAccount]:
        """Accounts of ``platform`` with a draft open, whenever it was last touched."""
        rows = self.s.exec(
            select(ChatAccountRow).where(
                col(ChatAccountRow.platform) == platform, col(ChatAccountRow.step).is_not(None)
            )
        )
        return [_account(r) for r in rows]

    # --- subscriptions --------------------------------------------------------------------------------------
    def subscribe(self, account_id: int, village_code: str, now: datetime) -> bool:
        """Follow a village; False if already following."""
        if self.s.get(SubscriptionRow, (account_id, village_code)) is not None:
            return False
        self.s.add(SubscriptionRow(chat_account_id=account_id, village_code=village_code, created_at=now))
        self.s.flush()
        return True

    def unsubscribe(self, account_id: int, village_code: str | None = None) -> int:
        """Stop following one village (or all); returns how many were removed."""
        q = sa.delete(SubscriptionRow).where(col(SubscriptionRow.chat_account_id) == account_id)
        if village_code is not None:
            q = q.where(col(SubscriptionRow.village_code) == village_code)
        return self.s.exec(q).rowcount

    def subscriptions(self, account_id: int) -> list[str]:
        """Village codes this account follows."""
        q = select(SubscriptionRow.village_code).where(col(SubscriptionRow.chat_account_id) == account_id)
        return list(self.s.exec(q.order_by(col(SubscriptionRow.village_code))))

    def subscribers(self, village_codes: list[str]) -> list[ChatAccount]:
        """Accounts following any of these villages, once each, except blocked ones."""
        q = (
            select(ChatAccountRow)
            .join(SubscriptionRow, col(SubscriptionRow.chat_account_id) == col(ChatAccountRow.id))
            .where(col(SubscriptionRow.village_code).in_(village_codes), col(ChatAccountRow.blocked).is_(False))
            .distinct()
        )
        return [_account(r) for r in self.s.exec(q)]

    # --- invites --------------------------------------------------------------------------------------------
    def add_invite(self, code_hash: str, role: Role, institution_code: str, staff_id: int | None,
                   now: datetime, expires_at: datetime) -> None:
        """Store a new one-time invite (only its hash)."""
        self.s.add(InviteRow(code_hash=code_hash, role=role.value, institution_code=institution_code,
                             staff_id=staff_id, created_at=now, expires_at=expires_at))
        self.s.flush()

    def invite(self, code_hash: str) -> InviteRow | None:
        """The invite with this code hash, locked for update, or None."""
        return self.s.exec(select(InviteRow).where(col(InviteRow.code_hash) == code_hash).with_for_update()).first()

    def invite_by_id(self, invite_id: int | None) -> InviteRow | None:
        """The invite with this id, or None."""
        return self.s.get(InviteRow, invite_id)

    def use_invite(self, invite: InviteRow, account_id: int, now: datetime) -> None:
        """Mark an invite used."""
        invite.used_at, invite.used_by_account_id = now, account_id
        self.s.add(invite)

    # --- buttons --------------------------------------------------------------------------------------------
    def new_button(self, account_id: int, action: str, payload: dict[str, object], now: datetime) -> str:
        """Store what a button means and return its opaque token (written in one batch with the others)."""
        token = _new_token()
        self._buttons.append({"token": token, "chat_account_id": account_id, "action": action,
                              "payload": json.dumps(payload, ensure_ascii=False), "created_at": now,
                              "prompt_id": None})
        return token

    def offered_by(self, tokens: Iterable[str], prompt_id: int) -> None:
        """Note that the buttons ``tokens`` were offered by prompt ``prompt_id`` (see ``PromptRepository``)."""
        wanted = set(tokens)
        for row in self._buttons:
            if row["token"] in wanted:
                row["prompt_id"] = prompt_id
                wanted.discard(row["token"])
        if wanted:  # already written (a lookup in between flushed them): tag them where they are
            self.c.execute(_BUTTON_OFFERED_BY, [{"b_token": t, "b_prompt": prompt_id} for t in sorted(wanted)])

    def write_buttons(self) -> None:
        """Insert the buttons made so far in this unit of work (one statement for a whole list of cards)."""
        if self._buttons:
            rows, self._buttons = self._buttons, []
            self._pressed = None  # what was read with the account may no longer be all there is
            self.c.execute(_BUTTON_INSERT, rows)

    def button(self, token: str) -> tuple[int, str, dict[str, object], datetime] | None:
        """(owner account id, action, payload, created) for a token, or None."""
        if not _is_token(token):
            return None
        self.write_buttons()
        pressed, self._pressed = self._pressed, None
        if pressed is not None and pressed[0] == token:
            row = pressed[1]
            if row is None:
                return None
            return row.button_chat_account_id, row.button_action, json.loads(row.button_payload), row.button_created_at
        row = self.c.execute(_BUTTON_BY_TOKEN, {"token": token}).first()
        if row is None:
            return None
        return row.chat_account_id, row.action, json.loads(row.payload), row.created_at

    def purge_buttons(self, older_than: datetime, limit: int) -> int:
        """Forget up to ``limit`` buttons older than ``older_than``; returns how many."""
        self.write_buttons()
        self._pressed = None
        old = sa.select(_BUTTONS.c.token).where(_BUTTONS.c.created_at < older_than).limit(limit)
        return affected(self.c.execute(sa.delete(_BUTTONS).where(_BUTTONS.c.token.in_(old))))

    # --- idempotency ----------------------------------------------------------------------------------------
    def first_time(self, platform: str, update_id: str, now: datetime) -> bool:
        """Record a platform update id; False if it was handled before (a retry or replay)."""
        # RETURNING, not rowcount: rowcount of ON CONFLICT DO NOTHING is not reliable across drivers.
        stmt = _first_time(self.uow.engine.dialect.name)
        return self.c.execute(stmt, {"platform": platform, "update_id": update_id, "at": now}).first() is not None

    def purge_processed_updates(self, older_than: datetime, limit: int) -> int:
        """Forget up to ``limit`` update ids recorded before ``older_than``; returns how many."""
        key = sa.tuple_(_PROCESSED.c.platform, _PROCESSED.c.update_id)
        old = sa.select(_PROCESSED.c.platform, _PROCESSED.c.update_id).where(_PROCESSED.c.at < older_than).limit(limit)
        return affected(self.c.execute(sa.delete(_PROCESSED).where(key.in_(old))))

    # --- circuit work -----------------------------------------------------------------------------------------
    def record_work(self, circuit_id: int, kind: str, count: int, note: str | None, staff_id: int,
                    now: datetime) -> None:
        """Record other work done on a circuit (lecture, training, home visits, special consultations)."""
        self.s.add(CircuitWorkRow(circuit_id=circuit_id, kind=kind, count=count, note=mask_free_text(note),
                                  recorded_by_staff_id=staff_id, at=now))

    def work_on(self, circuit_id: int) -> list[tuple[str, int, str | None]]:
        """(kind, count, note) recorded for a circuit."""
        q = select(CircuitWorkRow.kind, CircuitWorkRow.count, CircuitWorkRow.note).where(
            col(CircuitWorkRow.circuit_id) == circuit_id
        )
        return [(k, n, note) for k, n, note in self.s.exec(q.order_by(col(CircuitWorkRow.id)))]

    def record_outcome(self, order_id: int, outcome: str, staff_id: int, now: datetime) -> None:
        """Record (or replace) what the expert noted for an order."""
        outcome = mask_free_text(outcome) or ""
        row = self.s.get(OrderOutcomeRow, order_id)
        if row is None:
            row = OrderOutcomeRow(order_id=order_id, outcome=outcome, recorded_by_staff_id=staff_id, at=now)
        else:
            row.outcome, row.recorded_by_staff_id, row.at = outcome, staff_id, now
        self.s.add(row)

    def outcome(self, order_id: int) -> str | None:
        """The expert's note on an order, or None."""
        row = self.s.get(OrderOutcomeRow, order_id)
        return row.outcome if row else None


_ACCOUNTS: sa.Table = ChatAccountRow.__table__  # type: ignore[attr-defined]
_BUTTONS: sa.Table = ButtonRow.__table__  # type: ignore[attr-defined]
_PROCESSED: sa.Table = ProcessedUpdateRow.__table__  # type: ignore[attr-defined]
_COUNTERS: sa.Table = CounterRow.__table__  # type: ignore[attr-defined]
_PROMPTS: sa.Table = PromptRow.__table__  # type: ignore[attr-defined]
# The newest chat_prompt row of the account (an index seek): a reply prompt on the account row came after every row
# up to it (see ``ReplySlot``).
_NEWEST_PROMPT = (
    sa.select(sa.func.max(_PROMPTS.c.id)).where(_PROMPTS.c.chat_account_id == _ACCOUNTS.c.id).scalar_subquery()
    .label("newest_prompt_id")
)
_ACCOUNT_BY_USER = sa.select(
    *_ACCOUNTS.c,
    sa.select(_COUNTERS.c.value).where(_COUNTERS.c.name == "reference_version").scalar_subquery()
    .label("reference_version"),
    _NEWEST_PROMPT,
).where(
    _ACCOUNTS.c.platform == sa.bindparam("platform"), _ACCOUNTS.c.platform_user_id == sa.bindparam("user")
)
# The same, with the button the user pressed (if that token exists): one statement on every button press.
_ACCOUNT_AND_BUTTON = sa.select(
    *_ACCOUNT_BY_USER.selected_columns, *(c.label(f"button_{c.name}") for c in _BUTTONS.c)
).select_from(
    _ACCOUNTS.outerjoin(_BUTTONS, _BUTTONS.c.token == sa.bindparam("token"))
).where(
    _ACCOUNTS.c.platform == sa.bindparam("platform"), _ACCOUNTS.c.platform_user_id == sa.bindparam("user")
)
_ACCOUNTS_OF_STAFF = sa.select(_ACCOUNTS).where(_ACCOUNTS.c.staff_id.in_(sa.bindparam("ids", expanding=True)))
_ACCOUNT_BY_ID = sa.select(*_ACCOUNTS.c, _NEWEST_PROMPT).where(_ACCOUNTS.c.id == sa.bindparam("id"))
_BUTTON_BY_TOKEN = sa.select(_BUTTONS).where(_BUTTONS.c.token == sa.bindparam("token"))
_BUTTON_INSERT = _BUTTONS.insert()
_BUTTON_OFFERED_BY = (
    _BUTTONS.update().where(_BUTTONS.c.token == sa.bindparam("b_token")).values(prompt_id=sa.bindparam("b_prompt"))
)


@functools.cache
def _account_update(columns: tuple[str, ...]) -> Any:
    """UPDATE of these columns of one account (built once per set of columns)."""
    return _ACCOUNTS.update().where(_ACCOUNTS.c.id == sa.bindparam("account_id")).values(
        {c: sa.bindparam(c) for c in columns}
    )


@functools.cache
def _first_time(dialect_name: str) -> Any:
    """INSERT of an update id that does nothing if it is there already, returning it if it was new."""
    return (
        dialect_insert(dialect_name, _PROCESSED)
        .values(platform=sa.bindparam("platform"), update_id=sa.bindparam("update_id"), at=sa.bindparam("at"))
        .on_conflict_do_nothing()
        .returning(_PROCESSED.c.update_id)
    )


def _is_token(token: str | None) -> bool:
    """Whether ``token`` could be a button's (anything else is not looked up at all)."""
    return bool(token) and len(token or "") <= 24


_STATE = frozenset({"step", "draft", "draft_updated_at", "reminded_at"})


# The columns ``save`` writes (the keys of ``_account_values``).
_SAVED = ("chat_id", "display_name", "staff_id", "resident_id", "acting_role", "step", "draft", "draft_updated_at",
          "reminded_at", "blocked")


def _masked_draft(draft: dict) -> dict:
    """The draft as stored: the need being typed has its phone and ID numbers masked like the order's."""
    need = draft.get("need")
    if isinstance(need, str) and need:
        masked = mask_free_text(need)
        if masked != need:
            draft = {**draft, "need": masked}
    return draft


def _account_values(acc: ChatAccount) -> dict[str, Any]:
    """The columns ``save`` writes."""
    return {
        "chat_id": acc.chat_id, "display_name": acc.display_name, "staff_id": acc.staff_id,
        "resident_id": acc.resident_id, "acting_role": acc.acting_role.value if acc.acting_role else None,
        "step": acc.step, "draft": json.dumps(_masked_draft(acc.draft), ensure_ascii=False),
        "draft_updated_at": acc.draft_updated_at,
        "reminded_at": acc.reminded_at, "blocked": acc.blocked,
    }


def _account(r: Any) -> ChatAccount:
    return ChatAccount(
        id=r.id, platform=r.platform, platform_user_id=r.platform_user_id, chat_id=r.chat_id,
        display_name=r.display_name, staff_id=r.staff_id, resident_id=r.resident_id,
        acting_role=Role(r.acting_role) if r.acting_role else None, step=r.step, draft=json.loads(r.draft),
        draft_updated_at=r.draft_updated_at, reminded_at=r.reminded_at, blocked=r.blocked, created_at=r.created_at,
    )
