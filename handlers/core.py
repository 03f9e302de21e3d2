"""The transport-agnostic core: ``Inbound`` in, a list of ``Outbound`` out.

Adapters (console, Telegram, WeChat) translate platform updates into ``Inbound`` and send the
``Outbound`` replies. Conversation state lives in the database (``chat_account.step``/``draft``),
so a restart or a second worker loses nothing. Buttons carry only an opaque token; every press
is re-authorised here against the stored record.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain.accounts import ChatAccount
from domain.errors import DomainError, PermissionDenied
from domain.orders import AuditEvent
from domain.permissions import Jurisdiction
from domain.places import Gazetteer
from domain.posters import Sheet
from domain.prompts import Reading, read_answer, read_reply
from domain.staff import ROLE_ORDER, Role, Staff
from handlers import prompts
from handlers.prompts import Asked
from handlers.services import private_chat_of
from handlers.texts import t
from storage.ports import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)
CHINA = ZoneInfo("Asia/Shanghai")
MAX_INBOUND_TEXT = 4096
MAX_OUTBOUND_TEXT = 4096
DRAFT_REMINDER_AFTER = timedelta(hours=23)
DRAFT_TTL = timedelta(hours=24)
# Buttons work across restarts, but not forever: a month-old card must not decide anything today.
BUTTON_TTL = timedelta(days=30)
# Update ids are remembered to ignore a platform's redelivery: Telegram keeps an update for 24 h, WeChat retries
# within 15 s. A week is ample; after that the housekeeping purge forgets them.
UPDATE_ID_TTL = timedelta(days=7)
ROLE_PREFERENCE = ROLE_ORDER
PRIVATE_CHAT = "private"
QR_SCENE_LIMIT = 64  # characters of an Official Account QR code's scene string
QR_MAX_TTL = timedelta(days=30)  # the longest a temporary Official Account QR code lives
VOICE_OK = "voice.ok"  # the button that confirms recognised speech (handled here: it replays the words as text)


@dataclass(frozen=True, slots=True)
class Button:
    """A choice shown to the user; ``data`` is an opaque token (≤ 64 bytes).

    ``answers``: words that pick this choice when typed instead of pressed, besides its label and its number (e.g.
    好 for a confirmation; see ``handlers.prompts``). Only the conversation reads them; platforms show the label.
    """

    label: str
    data: str
    answers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class QrCode:
    """An Official Account QR code to show as an image: a WeChat user who scans it sends the account
    ``/start <scene>`` (``r_<link code>`` links a resident, ``v_<village>`` subscribes to a village).

    The handlers only say what the code is for; the transport asks the Official Account for it and draws it, or
    leaves it out where it cannot send images (then the message's own text must be enough on its own).
    """

    scene: str
    expires_in: timedelta | None  # None: a permanent code (a notice board), else at most QR_MAX_TTL
    caption: str  # goes with the image only, never in place of the message's text

    def __post_init__(self) -> None:
        if not 1 <= len(self.scene) <= QR_SCENE_LIMIT:
            raise ValueError(f"a QR scene has 1-{QR_SCENE_LIMIT} characters, not {len(self.scene)}")
        if self.expires_in is not None and not timedelta(0) < self.expires_in <= QR_MAX_TTL:
            raise ValueError(f"a temporary QR code lives up to {QR_MAX_TTL.days} days")


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file, whole: one a user sent (a Telegram document, a WeCom file), fetched by the adapter before the
    handlers see it; or one the handlers send back (the survey template), after the message's text."""

    filename: str
    data: bytes = field(repr=False)
    caption: str = ""
    # The platform's id for a file whose bytes the adapter has still to fetch (a Telegram file_id); "" once fetched.
    ref: str = ""


@dataclass(frozen=True, slots=True)
class Printable:
    """A page to print (issue 19: a poster for the notice board), sent as a file after the message's text.

    The handlers say what the page holds (``sheet``, already worded and authorised); the transport renders it (PDF,
    with the Official Account's QR code where there is one) and sends it as a document, or as a PNG image where a
    platform takes no files. If the page cannot be made there (no Chinese font on the server), ``unavailable`` is
    sent instead, so the user is never left waiting for a file that will not come.
    """

    sheet: Sheet
    filename: str  # without a suffix: the transport adds .pdf or .png
    caption: str
    unavailable: str


@dataclass(frozen=True, slots=True)
class Inbound:
    """One update from a platform, already translated by the adapter."""

    platform: str
    user_id: str
    chat_id: str
    text: str | None = None
    button: str | None = None
    update_id: str | None = None
    message_id: str | None = None  # the message that carried the pressed button
    display_name: str | None = None
    # "private" for a one-to-one chat with the bot; anything else ("group", "supergroup", "channel", a WeCom
    # group chat) is not private. Adapters set it from the platform's own chat type.
    chat_type: str = "private"
    # A voice message: ``text`` is the platform's speech recognition (the Official Account's ``Recognition``), or
    # None where the platform gives no text. Recognised words are shown back before they count.
    voice: bool = False
    # A file the user sent (the adapter downloaded it; None for every other message). ``text`` is its caption.
    attachment: Attachment | None = None

    @property
    def is_private(self) -> bool:
        """True only for a one-to-one chat: the platform says so and the chat is addressed by the user's own id
        (true of a private chat on Telegram, WeCom and the Official Account), so a mislabelled group fails closed."""
        return self.chat_type == PRIVATE_CHAT and self.chat_id == self.user_id


@dataclass(frozen=True, slots=True)
class Outbound:
    """One message to send (or an edit of an earlier one, where the platform supports edits)."""

    platform: str
    chat_id: str
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    edit_message_id: str | None = None
    bulk: bool = False  # announcements go behind replies
    qr: QrCode | None = None  # an image after the text, where the transport can send one (never via the outbox)
    document: Printable | None = None  # a file after the text (never via the outbox)
    attachment: Attachment | None = None  # a ready-made file after the text (never via the outbox)


def split_text(text: str, limit: int = MAX_OUTBOUND_TEXT) -> list[str]:
    """Split long text into chunks of at most ``limit`` characters, on line boundaries where possible."""
    if len(text) <= limit:
        return [text]
    chunks: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line) > limit:  # a single monster line: cut it hard
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:limit])
            line = line[limit:]
        if len(current) + len(line) > limit:
            chunks.append(current)
            current = ""
        current += line
    if current:
        chunks.append(current)
    return [c.rstrip("\n") or c for c in chunks]


def without_edits(outs: Sequence[Outbound], is_edit: Callable[[Outbound], bool] | None = None, *,
                  keep_marks: bool = False) -> list[Outbound]:
    """An answer for a channel that cannot edit a message it sent (the Official Account, WeCom's text messages).

    There an edit can only arrive as a new message, next to the rest of the answer. Each edit becomes a plain
    message, and a message without choices that only repeats another message of the same answer to the same chat
    is left out: the pressed card's new text that the next reply restates ("已选择 5 分。" before the question that
    starts with it), or a short confirmation the edit already says. ``is_edit`` tells which messages stand for
    edits (by default those with ``edit_message_id``); ``keep_marks`` leaves a kept edit its ``edit_message_id``
    (the console prints it as an update).
    """
    edit = [(is_edit(o) if is_edit else o.edit_message_id is not None) for o in outs]
    if not any(edit):
        return list(outs)
    cores = [o.text.strip().rstrip(_TRAILING) for o in outs]
    kept: list[Outbound] = []
    for i, o in enumerate(outs):
        repeated = bool(cores[i]) and not o.buttons and any(
            j != i and (edit[i] or edit[j]) and outs[j].platform == o.platform and outs[j].chat_id == o.chat_id
            and cores[i] in outs[j].text and (len(cores[i]) < len(cores[j]) or (cores[i] == cores[j] and j < i))
            for j in range(len(outs))
        )
        if not repeated:
            plain = edit[i] and o.edit_message_id is not None and not keep_marks
            kept.append(replace(o, edit_message_id=None) if plain else o)
    return kept


_TRAILING = "。.!！ \n"


def has_chinese(text: str) -> bool:
    """True if the text holds a Chinese character (CJK unified ideographs)."""
    return any("\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" for ch in text)


def has_meaning(text: str) -> bool:
    """True if the text holds at least one letter or CJK character (not only emoji, digits or punctuation)."""
    return any(unicodedata.category(ch).startswith("L") for ch in text)


class ReferenceCache:
    """Places, institutions and support relations, reloaded only when the reference version changes."""

    def __init__(self) -> None:
        self._version = -1
        self._checked: object = None
        self.gazetteer = Gazetteer([])
        self.jurisdiction: Jurisdiction | None = None
        self._memo: dict[tuple, Any] = {}

    def refresh(self, uow: UnitOfWork) -> None:
        """Reload if reference data changed since the last load (checked once per unit of work)."""
        if self._checked is uow and self.jurisdiction is not None:
            return
        v = uow.reference.version()
        if v != self._version or self.jurisdiction is None:
            self.gazetteer = uow.reference.gazetteer()
            self.jurisdiction = uow.reference.jurisdiction()
            self._memo = {}
            self._version = v
        self._checked = uow

    def staff(self, uow: UnitOfWork, staff_id: int) -> Staff | None:
        """A member of staff by id; imports and bindings bump the reference version, which empties this."""
        return self.memo(uow, ("staff", staff_id), lambda: uow.staff.get(staff_id))

    def memo(self, uow: UnitOfWork, key: tuple, load: Callable[[], Any]) -> Any:
        """A staff query's answer (who holds a role where, which experts a hospital has), kept until staff or
        reference data change: both bump the reference version. ``load`` must return something immutable."""
        self.refresh(uow)
        cache = self._memo  # the dict of this version: a reload meanwhile (another thread) starts a new one
        if key in cache:
            return cache[key]
        value = load()
        if not uow.reference_changed:  # never keep what an uncommitted change shows
            cache[key] = value
        return value


Handler = Callable[["Ctx", Any], None]


@dataclass(slots=True)
class Command:
    """A slash command, optionally limited to some roles (None: anyone)."""

    fn: Handler
    roles: frozenset[Role] | None


@dataclass
class Router:
    """Commands, conversation steps and button actions of one flow module."""

    commands: dict[str, list[Command]] = field(default_factory=dict)
    steps: dict[str, Handler] = field(default_factory=dict)
    buttons: dict[str, Handler] = field(default_factory=dict)
    free_texts: dict[Role, Handler] = field(default_factory=dict)
    files: dict[Role, Handler] = field(default_factory=dict)

    def command(self, name: str, *roles: Role) -> Callable[[Handler], Handler]:
        """Register ``/name``, for ``roles`` only if given."""

        def deco(fn: Handler) -> Handler:
            self.commands.setdefault(name, []).append(Command(fn, frozenset(roles) if roles else None))
            return fn

        return deco

    def step(self, name: str) -> Callable[[Handler], Handler]:
        """Register the handler of free text while the user is on step ``name``."""

        def deco(fn: Handler) -> Handler:
            self.steps[name] = fn
            return fn

        return deco

    def button(self, action: str) -> Callable[[Handler], Handler]:
        """Register the handler of a button press with ``action``."""

        def deco(fn: Handler) -> Handler:
            self.buttons[action] = fn
            return fn

        return deco

    def free_text(self, *roles: Role) -> Callable[[Handler], Handler]:
        """Register the handler of free text from ``roles`` when no step is waiting for it (a village doctor's
        one-line order)."""

        def deco(fn: Handler) -> Handler:
            for role in roles:
                self.free_texts[role] = fn
            return fn

        return deco

    def file(self, *roles: Role) -> Callable[[Handler], Handler]:
        """Register the handler of a file (``Inbound.attachment``) sent by ``roles``."""

        def deco(fn: Handler) -> Handler:
            for role in roles:
                self.files[role] = fn
            return fn

        return deco

    def include(self, other: Router) -> None:
        """Merge another module's routes into this one."""
        for name, cmds in other.commands.items():
            self.commands.setdefault(name, []).extend(cmds)
        for role, fn in other.free_texts.items():
            assert role not in self.free_texts, f"free text of {role} registered twice"
            self.free_texts[role] = fn
        for role, fn in other.files.items():
            assert role not in self.files, f"files of {role} registered twice"
            self.files[role] = fn
        for k, v in other.steps.items():
            assert k not in self.steps, f"step {k} registered twice"
            self.steps[k] = v
        for k, v in other.buttons.items():
            assert k not in self.buttons, f"button {k} registered twice"
            self.buttons[k] = v


class Ctx:
    """What a handler needs for one update: the unit of work, the account, the clock, and the replies."""

    def __init__(self, services: Services, uow: UnitOfWork, acc: ChatAccount, inbound: Inbound, now: datetime):
        self.services = services
        self.uow = uow
        self.acc = acc
        self.inbound = inbound
        self.now = now
        self.out: list[Outbound] = []
        self.unplaced_edits: set[int] = set()  # ids of the messages in ``out`` that stand for an edit (see ``edit``)
        # Who the choices in ``out`` are put to, and what they ask, by (platform, chat): see ``offer``.
        self.asked: dict[tuple[str, str], tuple[int, Asked | None]] = {}
        self.again: str | None = None  # the command this update ran: what asks its choices again
        self.typed = False  # the button this update presses was typed as a reply, not pressed
        self._staff: Staff | None = None
        self._staff_loaded = False

    @property
    def today(self) -> date:
        """Today's date in Sanming."""
        return self.now.astimezone(CHINA).date()

    @property
    def staff(self) -> Staff | None:
        """The member of staff behind this account, if bound (cached until reference data changes)."""
        if not self._staff_loaded:
            self._staff = self.services.reference.staff(self.uow, self.acc.staff_id) if self.acc.staff_id else None
            self._staff_loaded = True
        return self._staff

    @property
    def role(self) -> Role | None:
        """The role the user acts in now (their chosen one, else their first by preference)."""
        st = self.staff
        if st is None or not st.active:
            return None
        if self.acc.acting_role in st.roles:
            return self.acc.acting_role
        return next((r for r in ROLE_PREFERENCE if r in st.roles), None)

    @property
    def jurisdiction(self) -> Jurisdiction:
        """Institutions and support relations (cached across updates)."""
        self.services.reference.refresh(self.uow)
        assert self.services.reference.jurisdiction is not None
        return self.services.reference.jurisdiction

    @property
    def gazetteer(self) -> Gazetteer:
        """The place hierarchy (cached across updates)."""
        self.services.reference.refresh(self.uow)
        return self.services.reference.gazetteer

    def place_name(self, code: str | None) -> str:
        """A place's name, or its code if unknown."""
        p = self.gazetteer.get(code) if code else None
        return p.name if p else (code or "")

    def institution_name(self, code: str | None) -> str:
        """An institution's name, or its code if unknown."""
        inst = self.jurisdiction.institutions.get(code) if code else None
        return inst.name if inst else (code or "")

    def btn(self, label: str, action: str, /, answers: tuple[str, ...] = (), **payload: object) -> Button:
        """A button for this user whose meaning is stored server-side (``answers``: see ``Button``)."""
        assert self.acc.id is not None
        return Button(label, self.uow.chat.new_button(self.acc.id, action, payload, self.now), answers)

    def reply(self, text: str, buttons: Iterable[Iterable[Button]] = (), qr: QrCode | None = None,
              document: Printable | None = None, attachment: Attachment | None = None) -> None:
        """Answer the user in this chat (``qr``: with a QR code image after the text, where one can be sent;
        ``document``: with a page to print after it; ``attachment``: with a ready-made file after it)."""
        rows = tuple(tuple(r) for r in buttons if r)
        for chunk in split_text(text)[:-1]:
            self.out.append(Outbound(self.acc.platform, self.acc.chat_id, chunk))
        self.out.append(Outbound(self.acc.platform, self.acc.chat_id, split_text(text)[-1], rows, qr=qr,
                                 document=document, attachment=attachment))

    def edit(self, text: str, message_id: str | None = None, qr: QrCode | None = None) -> None:
        """Replace the message whose button was pressed (so it cannot be pressed twice); else reply."""
        target = message_id or self.inbound.message_id
        if target and len(text) <= MAX_OUTBOUND_TEXT:
            self.out.append(Outbound(self.acc.platform, self.acc.chat_id, text, (), str(target), qr=qr))
        else:  # nothing to edit (a typed answer): a new message, left out where the rest of the answer repeats it
            start = len(self.out)
            self.reply(text, qr=qr)
            self.unplaced_edits.update(id(o) for o in self.out[start:])

    def send_to(self, accounts: Iterable[ChatAccount], text: str) -> None:
        """Notify other accounts (once each, skipping those who blocked us or withdrew)."""
        seen: set[int | None] = set()
        for a in accounts:
            if a.blocked or a.id in seen or a.id == self.acc.id:
                continue
            seen.add(a.id)
            for chunk in split_text(text):
                self.out.append(Outbound(a.platform, private_chat_of(a), chunk))

    def offer(self, accounts: Iterable[ChatAccount], text: str, choices: Sequence[Sequence[tuple]],
              asked: Asked | None = None) -> None:
        """Send other accounts a message with buttons of their own (each token belongs to its recipient).

        ``choices``: rows of ``(label, action, payload)``, or ``(label, action, payload, answers)`` (see ``Button``);
        ``asked``: what the message asks, for reading a reply typed to it (see ``handlers.prompts``).
        """
        seen: set[int | None] = set()
        for a in accounts:
            if a.blocked or a.id is None or a.id in seen or a.id == self.acc.id:
                continue
            seen.add(a.id)
            rows = tuple(tuple(self._offered(a.id, *choice) for choice in row) for row in choices)
            self.out.append(Outbound(a.platform, private_chat_of(a), text, rows))
            self.asked[(a.platform, private_chat_of(a))] = (a.id, asked)

    def _offered(self, account_id: int, label: str, action: str, payload: dict,
                 answers: Iterable[str] = ()) -> Button:
        """One button of an offer, owned by its recipient."""
        return Button(label, self.uow.chat.new_button(account_id, action, payload, self.now), tuple(answers))

    def notify_staff(self, staff_ids: Iterable[int | None], text: str) -> None:
        """Notify these staff members on every platform they are bound on."""
        self.notify_groups((staff_ids, text))

    def notify_groups(self, *groups: tuple[Iterable[int | None], str]) -> None:
        """Notify each group of staff members with its own text, as ``notify_staff`` would one after the other
        (a member of two groups gets both), with their accounts read in one statement."""
        wanted = [[i for i in ids if i is not None] for ids, _ in groups]
        accounts = self.uow.chat.accounts_of_staff(sorted({i for ids in wanted for i in ids}))
        for ids, (_, text) in zip(wanted, groups, strict=True):
            if ids:
                members = set(ids)
                self.send_to([a for a in accounts if a.staff_id in members], text)

    def staff_at(self, institution_codes: Iterable[str], role: Role) -> tuple[int, ...]:
        """The staff members holding ``role`` at these institutions (cached with the reference data)."""
        codes = tuple(sorted(set(institution_codes)))
        if not codes:
            return ()
        return self.services.reference.memo(
            self.uow, ("ids_at", codes, role), lambda: tuple(self.uow.staff.ids_at(codes, role))
        )

    def notify_role_at(self, institution_codes: Iterable[str], role: Role, text: str) -> None:
        """Notify everyone holding ``role`` at these institutions."""
        ids = self.staff_at(institution_codes, role)
        if ids:
            self.notify_staff(ids, text)

    def read_resident(self, resident_id: int | None, purpose: str):
        """Load a resident to show their personal data, recording who read it and why (PIPL access audit)."""
        return self.read_residents([resident_id], purpose).get(resident_id) if resident_id else None

    def read_residents(self, resident_ids: Iterable[int | None], purpose: str) -> dict:
        """Residents (by id) whose data a list will show, loaded at once; each read is audited as above."""
        found = self.uow.residents.get_many(i for i in resident_ids if i)
        for resident_id in found:
            self.audit("read", "resident", str(resident_id), detail={"purpose": purpose})
        return found

    def audit(
        self,
        action: str,
        entity: str,
        entity_id: str,
        *,
        reason: str | None = None,
        detail: dict[str, object] | None = None,
    ) -> None:
        """Append an audit event for something this user did or tried."""
        self.uow.audit.append(
            AuditEvent(
                actor_staff_id=self.acc.staff_id,
                actor_role=(self.role.value if self.role else "resident"),
                action=action,
                entity=entity,
                entity_id=entity_id,
                from_status=None,
                to_status=None,
                reason=reason,
                at=self.now,
                detail={"account": self.acc.id, "platform": self.acc.platform, **(detail or {}),
                        **({"typed": True} if self.typed else {})},
            )
        )


@dataclass
class Services:
    """What handlers get from the composition root."""

    uow: UnitOfWorkFactory
    matcher: Any  # nlp.Matcher: classify(text, age=None, sex=None)
    clock: Callable[[], datetime]
    consent_version: str
    reference: ReferenceCache = field(default_factory=ReferenceCache)
    bot_username: str | None = None
    # An Official Account that may make QR codes is configured: links and villages are also shown as its QR codes.
    qr_codes: bool = False
    sms: bool = False  # an SMS provider is configured: village doctors may register residents for SMS announcements
    calendar: Any = None  # domain.planning's calendar protocol (holidays); the composition root supplies it


AfterUpdate = Callable[[UnitOfWork, ChatAccount], None]
_COMMAND = re.compile(r"^/([A-Za-z_]+)(?:@\w+)?(?:\s+(.*))?$", re.S)


@dataclass(slots=True)
class Update:
    """One inbound update on its way through the middleware chain, with what the chain opened for it.

    Middlewares share it as aiogram's share ``data``: the update's time, the caller's ``after``, and the one unit
    of work that :func:`handlers.middleware.one_transaction` opens for everything written about this update.
    """

    inbound: Inbound
    services: Services
    after: AfterUpdate | None = None
    _now: datetime | None = field(default=None, init=False, repr=False)
    _uow: UnitOfWork | None = field(default=None, init=False, repr=False)
    _redo: list[Callable[[UnitOfWork], object]] = field(default_factory=list, init=False, repr=False)

    @property
    def now(self) -> datetime:
        """The update's time, read from the clock when first asked (inside the chain, so a flood never asks)."""
        if self._now is None:
            self._now = self.services.clock()
        return self._now

    @property
    def uow(self) -> UnitOfWork:
        """The update's unit of work; only inside the chain's transaction."""
        if self._uow is None:
            raise RuntimeError("no unit of work is open: one_transaction must come earlier in the chain")
        return self._uow

    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        """Open the update's one unit of work for the rest of the chain (left without a commit, it rolls back)."""
        if self._uow is not None:
            raise RuntimeError("this update's unit of work is already open")
        with self.services.uow() as uow:
            self._uow = uow
            try:
                yield uow
            finally:
                self._uow = None

    def after_rollback(self, redo: Callable[[UnitOfWork], object]) -> None:
        """Write ``redo`` again whenever the update's work is rolled back: bookkeeping of the update itself (that
        it was handled) outlives a refusal, the handler's writes do not."""
        self._redo.append(redo)

    def rollback(self) -> None:
        """Discard everything written for this update, then redo its bookkeeping (see :meth:`after_rollback`)."""
        uow = self.uow
        uow.rollback()
        for redo in self._redo:
            redo(uow)


Next = Callable[[Update], list[Outbound]]
Middleware = Callable[[Update, Next], list[Outbound]]
"""A cross-cutting concern around the router: ``middleware(update, call_next)`` returns the update's answer, by
calling the rest of the chain or instead of it (``handlers.middleware`` holds the standard ones)."""


def _link(middleware: Middleware, call_next: Next) -> Next:
    return lambda update: middleware(update, call_next)


class Conversation:
    """Runs each inbound update through a chain of middlewares to the router.

    The chain is given whole, outermost first (``handlers.middleware.default_middlewares`` is the one every
    transport uses); the router runs at its end, in the unit of work the chain opened.
    """

    def __init__(self, services: Services, router: Router, middlewares: Sequence[Middleware]):
        self.services = services
        self.router = router
        self.middlewares = tuple(middlewares)
        chain: Next = self._handle
        for middleware in reversed(self.middlewares):
            chain = _link(middleware, chain)
        self._chain = chain

    def handle(self, inbound: Inbound, after: AfterUpdate | None = None) -> list[Outbound]:
        """Handle one update; with the standard chain it never raises (a polite answer instead of a traceback).

        ``after`` (optional) runs once the update is committed, on the same unit of work and with the account as
        stored: an adapter reads what it needs (the account's role, for the menu) without opening another one.
        It is not called for a replayed update, a flood, a group chat or a failed update, so what it reads is
        never a state that was rolled back; if it fails, that is logged and the update's answer still goes out.
        """
        return self._chain(Update(inbound, self.services, after))

    def takes_file(self, inbound: Inbound) -> bool:
        """Whether a file from this sender, in their private chat and in the role they act in now, would reach a
        handler (a village doctor's survey sheet). An adapter fetches a file's bytes only then: a stranger's or a
        resident's upload is refused without ever being downloaded. A read only; nothing is written."""
        if not inbound.is_private:
            return False
        with self.services.uow() as uow:
            acc = uow.chat.account(inbound.platform, inbound.user_id)
            if acc is None:
                return False
            role = Ctx(self.services, uow, acc, inbound, self.services.clock()).role
        return role is not None and role in self.router.files

    def _handle(self, update: Update) -> list[Outbound]:
        """The end of the chain: the router, inside the update's unit of work, committed here.

        A DomainError drops everything the update did (its bookkeeping is redone) and records only the refusal.
        """
        uow, inbound, now = update.uow, update.inbound, update.now
        acc = uow.chat.get_or_create(inbound.platform, inbound.user_id, inbound.chat_id, inbound.display_name, now,
                                     pressed=inbound.button)
        ctx = Ctx(self.services, uow, acc, inbound, now)
        try:
            self._dispatch(ctx)
            outs = ctx.out
            if ctx.unplaced_edits:
                outs = without_edits(outs, lambda o: id(o) in ctx.unplaced_edits)
            self._record_prompts(ctx, outs)
            outs = self._route(uow, inbound, outs, now)
            uow.chat.save(ctx.acc)
            uow.commit()
            self._after(update.after, uow, ctx.acc)
            return outs
        except DomainError as e:
            # Nothing half-written: drop everything this update did, then record only the refusal.
            update.rollback()
            acc = uow.chat.get_or_create(inbound.platform, inbound.user_id, inbound.chat_id, inbound.display_name,
                                         now)
            ctx = Ctx(self.services, uow, acc, inbound, now)
            if isinstance(e, PermissionDenied):
                ctx.audit(
                    "refused", "chat", str(acc.id), reason=e.key, detail={k: str(v) for k, v in e.params.items()}
                )
            ctx.reply(t(e.key, **e.params))
            uow.commit()
            self._after(update.after, uow, ctx.acc)
            return ctx.out

    @staticmethod
    def _after(after: AfterUpdate | None, uow: UnitOfWork, acc: ChatAccount) -> None:
        """Run the caller's read once the update is stored; its failure is logged, never the update's."""
        if after is None:
            return
        try:
            after(uow, acc)
        except Exception:
            log.exception("the read after an update failed (the update itself is stored)")

    @staticmethod
    def _record_prompts(ctx: Ctx, outs: list[Outbound]) -> None:
        """Store the choices this answer puts to each person, in the order their platform shows and numbers them
        (numbers run across one answer to one chat, as on the Official Account)."""
        shown: dict[tuple[str, str], list[Button]] = {}
        for o in outs:
            if o.buttons:
                shown.setdefault((o.platform, o.chat_id), []).extend(b for row in o.buttons for b in row)
        own = (ctx.acc.platform, ctx.acc.chat_id)
        for where, buttons in shown.items():
            if where == own:
                assert ctx.acc.id is not None
                prompts.record(ctx.uow, ctx.acc.id, buttons, ctx.now, Asked(again=ctx.again), proactive=False)
            elif where in ctx.asked:
                account_id, asked = ctx.asked[where]
                prompts.record(ctx.uow, account_id, buttons, ctx.now, asked, proactive=True)

    @staticmethod
    def _route(uow: UnitOfWork, inbound: Inbound, outs: list[Outbound], now: datetime) -> list[Outbound]:
        """Keep what the inbound's own transport delivers; queue the rest in the outbox, in this transaction.

        A decision taken on Telegram may have to reach a reviewer on WeCom: that message is written with the
        decision itself, so it is never lost, and the sender for that platform delivers it.
        """
        own: list[Outbound] = []
        update = inbound.update_id or uuid.uuid4().hex
        for i, o in enumerate(outs):
            if o.platform == inbound.platform:
                own.append(o)
                continue
            buttons = (
                json.dumps([[{"label": b.label, "data": b.data} for b in row] for row in o.buttons], ensure_ascii=False)
                if o.buttons
                else None
            )
            uow.outbox.enqueue(o.platform, o.chat_id, o.text, buttons, priority="reply",
                               dedupe_key=f"x:{inbound.platform}:{update}:{i}", account_id=None, now=now)
        return own

    def _dispatch(self, ctx: Ctx) -> None:
        ib = ctx.inbound
        if ib.button is not None:
            self._press(ctx, ib.button)
            return
        if ib.attachment is not None:
            self._file(ctx)
            return
        text = (ib.text or "").strip()
        if ib.voice:
            self._voice(ctx, text)
            return
        self._text(ctx, text)

    def _file(self, ctx: Ctx) -> None:
        """A file the user sent: for a role that takes files (a village doctor's survey sheet), else a polite no."""
        fn = self.router.files.get(ctx.role) if ctx.role is not None else None
        if fn is None:
            assert ctx.inbound.attachment is not None
            ctx.audit("refused", "file", ctx.inbound.attachment.filename[:64], reason="no_file_expected")
            ctx.reply(t("file.unexpected"))
            return
        fn(ctx, ctx.inbound.text or "")

    def _voice(self, ctx: Ctx, text: str) -> None:
        """Recognised speech is shown back and counts only once confirmed (a misheard name or symptom must not be
        filed); where the platform gives no text, the user is told plainly to type."""
        if not text or len(text) > MAX_INBOUND_TEXT:
            ctx.reply(t("voice.no_text"))
            return
        # The words ride on the button encrypted, like a phone number at rest: they may name a resident.
        sealed = ctx.uow.cipher.encrypt(text, context=VOICE_OK)
        ctx.reply(t("voice.heard", text=text), [[ctx.btn(t("voice.ok"), VOICE_OK, text=sealed, step=ctx.acc.step)]])

    def _text(self, ctx: Ctx, text: str) -> None:
        if not text:
            ctx.reply(t("empty_text"))
            return
        if len(text) > MAX_INBOUND_TEXT:
            ctx.reply(t("too_long", length=len(text), limit=MAX_INBOUND_TEXT))
            return
        m = _COMMAND.match(text)
        if m:
            self._command(ctx, m.group(1).lower(), (m.group(2) or "").strip())
            return
        if self._answer(ctx, text):
            return
        if ctx.acc.step:
            fn = self.router.steps.get(ctx.acc.step)
            if fn is not None:
                fn(ctx, text)
            else:  # a step that waits for a button: keep the draft, say what is expected
                ctx.reply(t("press_button"))
            return
        fn = self.router.free_texts.get(ctx.role) if ctx.role is not None else None
        if fn is not None:
            fn(ctx, text)
            return
        # Someone who writes in letters and no Chinese ("hello", "help") may not read it either: in English too.
        latin = any(ch.isascii() and ch.isalpha() for ch in text) and not has_chinese(text)
        ctx.reply(t("free_text_unexpected") + ("\n" + t("free_text_unexpected.en") if latin else ""))

    def _answer(self, ctx: Ctx, text: str) -> bool:
        """A bare reply to the choices last put to this person: press the choice it picks, or explain why a reply
        to an older or expired prompt is not taken. False leaves the text to the form or the usual answer."""
        answer = read_answer(text)
        if answer is None or ctx.acc.id is None:
            return False
        recent = ctx.uow.prompts.recent(ctx.acc.id)
        if not recent:
            return False
        key = ctx.uow.prompts.key(answer.words) if answer.number is None else None
        form_since = ctx.acc.draft_updated_at if ctx.acc.step else None
        read = read_reply(recent, answer, key, ctx.now, form_since)
        if read is None:
            return False
        if read.reading is Reading.ANSWER:
            token = read.prompt.choices[read.index].token
            ctx.typed = True
            ctx.inbound = replace(ctx.inbound, text=None, button=token, message_id=None)
            self._press(ctx, token)
            return True
        # A list shown in answer to the person's own message rides on their account row (no id): "reply", and when.
        ctx.audit("refused", "prompt", str(read.prompt.id) if read.prompt.id is not None else "reply",
                  reason=read.reading.value, detail={"topic": read.prompt.topic, "choice": read.index + 1,
                                                     "asked_at": read.prompt.created_at.isoformat()})
        ctx.reply(prompts.explain(read, answer.text))
        return True

    def _command(self, ctx: Ctx, name: str, arg: str) -> None:
        ctx.again = "/" + name
        cmds = self.router.commands.get(name)
        if not cmds:
            ctx.reply(t("unknown_command", command="/" + name[:30]))
            return
        role = ctx.role
        for cmd in cmds:
            if cmd.roles is None or (role is not None and role in cmd.roles):
                cmd.fn(ctx, arg)
                return
        if role is None:
            ctx.reply(t("need_binding"))
        else:
            ctx.audit("refused", "command", "/" + name, reason="role", detail={"role": role.value})
            ctx.reply(t("not_for_you", role=t(f"role.{role.value}")))

    def _press(self, ctx: Ctx, token: str) -> None:
        found = ctx.uow.chat.button(token)
        if found is None:
            ctx.audit("refused", "button", token[:64], reason="unknown_button")
            ctx.reply(t("button.expired"))
            return
        owner, action, payload, created = found
        if owner != ctx.acc.id:
            ctx.audit("refused", "button", token, reason="not_owner", detail={"owner": owner, "action": action})
            ctx.reply(t("button.not_yours"))
            return
        if ctx.now - created > BUTTON_TTL:
            ctx.audit("refused", "button", action, reason="button_too_old")
            ctx.reply(t("button.expired"))
            return
        if action == VOICE_OK:
            self._voice_confirmed(ctx, payload)
            return
        fn = self.router.buttons.get(action)
        if fn is None:
            ctx.audit("refused", "button", action, reason="unknown_action")
            ctx.reply(t("button.expired"))
            return
        assert ctx.acc.id is not None
        ctx.uow.prompts.answered(ctx.acc.id, token, ctx.now)  # pressed or typed: the prompt has its answer
        fn(ctx, payload)

    def _voice_confirmed(self, ctx: Ctx, payload: dict) -> None:
        """The recognised words, confirmed: handled as if typed, if the conversation is where it was then."""
        sealed = payload.get("text")
        text = ctx.uow.cipher.decrypt(sealed, context=VOICE_OK) if isinstance(sealed, str) else None
        if not isinstance(text, str) or payload.get("step") != ctx.acc.step:
            ctx.audit("refused", "button", VOICE_OK, reason="stale_step", detail={"step": ctx.acc.step})
            ctx.reply(t("button.expired"))
            return
        self._text(ctx, text.strip())

    def sweep_drafts(self) -> list[Outbound]:
        """Remind once about drafts idle for 23 h and clear those idle for 24 h.

        The messages are queued in the outbox in the same transaction that records the reminder or clears the
        draft, so a crash between the two can neither lose them nor repeat them. Returns what was queued (for
        logging); the caller has nothing left to send.
        """
        now = self.services.clock()
        out: list[Outbound] = []
        with self.services.uow() as uow:
            for acc in uow.chat.stale_drafts(now - DRAFT_REMINDER_AFTER):
                stamp = acc.draft_updated_at
                assert stamp is not None
                if now - stamp >= DRAFT_TTL:
                    acc.clear()
                    kind, msg = "expired", Outbound(acc.platform, acc.chat_id, t("draft.expired"))
                elif acc.reminded_at is None:
                    acc.reminded_at = now
                    kind = "reminder"
                    msg = Outbound(acc.platform, acc.chat_id, t("draft.reminder", step=t(f"step.{acc.step}")))
                else:
                    continue
                uow.chat.save(acc)
                uow.outbox.enqueue(msg.platform, msg.chat_id, msg.text, None, priority="reply",
                                   dedupe_key=f"draft:{kind}:{acc.id}:{stamp:%Y%m%dT%H%M%S.%f}",
                                   account_id=acc.id, now=now)
                out.append(msg)
            uow.commit()
        return out
