"""What each console user's screen holds (numbered lists, the open question), kept in the database.

The console channel (``bot.delivery.channels.ConsoleChannel``) puts notices for people not typing now on their
screen; the console session (``bot.transports.console``) reads and changes the screen of whoever types.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from handlers.texts import t

PLATFORM = "console"
RESIDENT = "resident:"
STAFF = "staff:"


@dataclass
class Choice:
    """A numbered button on screen."""

    n: int
    label: str
    token: str


@dataclass
class Shown:
    """A message on screen with buttons: its text and its numbered choices."""

    message_id: str
    text: str
    choices: list[Choice]
    answer: int = 0  # which answer showed it (the screen counts them)
    notice: bool = False  # sent by someone else's action (an alert): stays until pressed, whatever is typed


@dataclass
class Screen:
    """What one console user's screen holds: the lists still on it, the open question, whether they owe text."""

    lists: list[Shown] = field(default_factory=list)
    open_text: str = ""  # the last message shown to them
    open_message: str | None = None  # its message id, if it had buttons
    takes_text: bool = False  # their conversation step waits for typed text
    step: str | None = None
    answers: int = 0  # answers shown so far

    def next_number(self) -> int:
        """The first number after those on screen (1 on an empty screen)."""
        return max((c.n for s in self.lists for c in s.choices), default=0) + 1

    def add(self, message_id: str, text: str, buttons: Iterable[tuple[str, str]], notice: bool = False) -> list[Choice]:
        """Number a message's buttons after the others on screen; returns them."""
        first = self.next_number()
        choices = [Choice(first + i, label, token) for i, (label, token) in enumerate(buttons)]
        self.drop(message_id)
        self.lists.append(Shown(message_id, text, choices, self.answers, notice))
        return choices

    def new_screen(self) -> None:
        """A new command: the answers to earlier ones leave the screen; notices from others stay until pressed."""
        self.lists = [s for s in self.lists if s.notice]

    def drop(self, message_id: str | None) -> None:
        """The message's list leaves the screen (pressed, replaced or answered)."""
        self.lists = [s for s in self.lists if s.message_id != message_id]

    def find(self, n: int) -> tuple[Shown, Choice] | None:
        """The list and the choice numbered ``n``."""
        for s in self.lists:
            for c in s.choices:
                if c.n == n:
                    return s, c
        return None

    def is_open_question(self, shown: Shown) -> bool:
        """True if ``shown`` is the last message shown: the question now open."""
        return shown.message_id == self.open_message

    def to_json(self) -> dict[str, object]:
        return {
            "lists": [[s.message_id, s.text, [[c.n, c.label, c.token] for c in s.choices], s.answer, s.notice]
                      for s in self.lists],
            "open": [self.open_text, self.open_message], "text": self.takes_text, "step": self.step,
            "answers": self.answers,
        }

    @classmethod
    def from_json(cls, data: dict) -> Screen:
        lists = []
        for m, text, choices, *more in data.get("lists", []):
            answer, notice = [*more, 0, False][:2]
            lists.append(Shown(str(m), str(text), [Choice(int(n), str(lbl), str(tok)) for n, lbl, tok in choices],
                               int(answer), bool(notice)))
        open_text, open_message = data.get("open", ["", None])
        return cls(lists, str(open_text or ""), open_message, bool(data.get("text")), data.get("step"),
                   int(data.get("answers", 0)))


def numbered(choices: Sequence[Choice]) -> str:
    """``  [1] 批准  [2] 退回补充`` for a list of choices."""
    return "  " + "  ".join(f"[{c.n}] {c.label}" for c in choices)


class ConsoleScreens:
    """Every console user's screen, in the database (one transaction per change), and their display names."""

    def __init__(self, uow_factory: Callable, clock: Callable):
        self.uow = uow_factory
        self.clock = clock
        self._names: dict[str, str] = {}
        self._ids = itertools.count(1)
        self._run = uuid.uuid4().hex[:6]

    def new_message_id(self) -> str:
        """A message id unique across runs (a screen kept from an earlier run keeps its ids)."""
        return f"{self._run}-{next(self._ids)}"

    def load(self, user: str) -> Screen:
        from storage.repositories.wechat import WeChatRepository

        with self.uow() as uow:
            return Screen.from_json(WeChatRepository(uow).screen(PLATFORM, user))

    def change(self, user: str, fn: Callable[[Screen], object]) -> Screen:
        """Apply ``fn`` to ``user``'s screen as stored now and store it again."""
        from storage.repositories.wechat import WeChatRepository

        with self.uow() as uow:
            repo = WeChatRepository(uow)
            screen = Screen.from_json(repo.screen(PLATFORM, user))
            fn(screen)
            repo.set_screen(PLATFORM, user, screen.to_json(), self.clock())
            uow.commit()
        return screen

    def name(self, chat_id: str) -> str:
        """The person a console chat id stands for: a staff member's name, or the resident persona's own."""
        if chat_id not in self._names:
            name = chat_id
            if chat_id.startswith(RESIDENT):
                name = chat_id.removeprefix(RESIDENT)
            elif chat_id.startswith(STAFF):
                with self.uow() as uow:
                    st = uow.staff.by_code(chat_id.removeprefix(STAFF))
                name = st.name if st else chat_id
            self._names[chat_id] = name
        return self._names[chat_id]

    def notice(self, chat_id: str, text: str, buttons: Iterable[tuple[str, str]]) -> str:
        """A message for someone not typing now: put its buttons on their screen; the lines to print."""
        buttons = list(buttons)
        message_id = self.new_message_id()
        choices: list[Choice] = []
        if buttons:
            self.change(chat_id, lambda s: choices.extend(s.add(message_id, text, buttons, notice=True)))
        who = self.name(chat_id)
        lines = [f"  📨 通知 → {who}：" + text.replace("\n", "\n     ")]
        if choices:
            lines.append("   " + numbered(choices) + f"（{t('console.press_as', name=who)}）")
        return "\n".join(lines)
