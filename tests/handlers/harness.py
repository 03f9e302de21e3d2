"""A chat harness for end-to-end tests: users type and press buttons, every reply is recorded per chat."""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from dataclasses import dataclass

from domain.staff import Role
from handlers import Button, Conversation, Inbound, Outbound
from handlers.onboarding import create_invite


@dataclass
class Shown:
    """A message as the user sees it (edits applied)."""

    message_id: str
    text: str
    buttons: tuple


class ChatHarness:
    """Drives a ``Conversation`` the way an adapter does, with one chat per user id."""

    def __init__(self, conv: Conversation, platform: str = "test"):
        self.conv = conv
        self.platform = platform
        self.screens: dict[str, list[Shown]] = defaultdict(list)
        self._ids = itertools.count(1)
        self._updates = itertools.count(1)
        self.last_out: list[Outbound] = []

    def _deliver(self, outs: list[Outbound]) -> list[Outbound]:
        for o in outs:
            screen = self.screens[o.chat_id]
            if o.edit_message_id:
                for shown in reversed(screen):  # edits are to recent messages; a long chat is not rescanned
                    if shown.message_id == o.edit_message_id:
                        shown.text, shown.buttons = o.text, o.buttons
                        break
            else:
                screen.append(Shown(str(next(self._ids)), o.text, o.buttons))
        self.last_out = outs
        return outs

    def send(self, inbound: Inbound) -> list[Outbound]:
        """Deliver an arbitrary inbound (forged ones included)."""
        return self._deliver(self.conv.handle(inbound))

    def say(self, user: str, text: str | None, update_id: str | None = None) -> list[Outbound]:
        """``user`` types ``text``."""
        uid = update_id or str(next(self._updates))
        return self.send(Inbound(self.platform, user, user, text=text, update_id=uid, display_name=user))

    def find_button(self, user: str, label: str):
        """The newest message of ``user`` with a button whose label contains ``label``."""
        for shown in reversed(self.screens[user]):
            for row in shown.buttons:
                for b in row:
                    if label in b.label:
                        return shown, b
        raise AssertionError(f"no button {label!r} for {user}; last texts: {self.texts(user)[-3:]}")

    def press(self, user: str, label: str) -> list[Outbound]:
        """``user`` presses the newest button labelled ``label``."""
        shown, b = self.find_button(user, label)
        return self.send(
            Inbound(
                self.platform,
                user,
                user,
                button=b.data,
                update_id=str(next(self._updates)),
                message_id=shown.message_id,
            )
        )

    def deliver_outbox(self, uow_factory, now) -> list[str]:
        """Deliver what the outbox holds for this platform, as the sender would; returns the texts delivered."""
        with uow_factory() as uow:
            msgs = uow.outbox.claim("harness", [self.platform], now, limit=1000)
            for m in msgs:
                uow.outbox.mark_sent(m.id, now, "harness")
            uow.commit()
        for m in msgs:
            rows = json.loads(m.buttons_json) if m.buttons_json else []
            buttons = tuple(tuple(Button(b["label"], b["data"]) for b in row) for row in rows)
            self.screens[m.chat_id].append(Shown(str(next(self._ids)), m.text, buttons))
        return [m.text for m in msgs]

    def texts(self, user: str) -> list[str]:
        """Everything ``user``'s chat shows, oldest first."""
        return [s.text for s in self.screens[user]]

    def last(self, user: str) -> str:
        """The newest message in ``user``'s chat."""
        return self.screens[user][-1].text if self.screens[user] else ""

    def replies(self) -> str:
        """The texts of the last handled update's outbounds."""
        return "\n".join(o.text for o in self.last_out)

    def login(self, user: str, staff_code: str, role: Role, uow_factory, now) -> None:
        """Bind ``user`` to a member of staff through a real invite code."""
        with uow_factory() as uow:
            st = uow.staff.by_code(staff_code)
            code = create_invite(uow, role, st.institution_code, staff_code, now)
            uow.commit()
        self.say(user, f"/start {code}")
        assert "绑定成功" in self.last(user), self.texts(user)
