"""The local console chat: the embedded default of ``make run``.

One terminal plays every role. ``/as <name>`` switches persona to a member of staff from the
database (``/as 村民`` or ``/as 村民2`` for an anonymous resident); buttons are shown as numbered
choices and chosen by typing their number. A reply's QR code (with an Official Account configured) is
written to ``<XUNZHEN_VAR_DIR>/qr/`` and its path printed; a page to print (a poster) to
``<XUNZHEN_VAR_DIR>/posters/`` as a PDF. Everything goes through the same handlers and database
as Telegram or WeChat would: only the translation to and from text lines lives here.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from bot.bootstrap import build_posters, build_qr_images
from bot.delivery.poster import Posters
from bot.delivery.qr import QrImages
from domain.orders import AuditEvent
from domain.staff import ROLE_ORDER, Role
from handlers import Conversation, Inbound, Outbound, Printable, QrCode
from handlers.core import without_edits

PLATFORM = "console"
PROMPT = "{name}> "


@dataclass
class Persona:
    """Who is typing: a staff member (bound to their record) or an anonymous resident."""

    user_id: str
    name: str
    role: str


@dataclass
class ConsoleSession:
    """Turns typed lines into ``Inbound`` and ``Outbound`` into printable text."""

    app: object
    conversation: Conversation
    persona: Persona | None = None
    names: dict[str, str] = field(default_factory=dict)  # console user id -> persona name
    choices: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)  # user -> [(label, data, msg)]
    images: QrImages | None = None  # the Official Account's QR codes (None: none configured, text alone)
    image_dir: Path | None = None  # where a QR code's PNG is written for the operator to open
    posters: Posters | None = None  # lays out pages to print (None: the user is told they cannot be made here)
    # Update ids must not repeat across runs, or the dedupe of processed updates would drop them.
    _session: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    _updates: itertools.count = field(default_factory=lambda: itertools.count(1))
    _messages: itertools.count = field(default_factory=lambda: itertools.count(1))

    def prompt(self) -> str:
        """The prompt shows who is typing."""
        return PROMPT.format(name=self.persona.name if self.persona else "（未选择身份）")

    def handle_line(self, line: str) -> str:
        """Handle one typed line and return what the screen should show."""
        text = line.strip()
        if text.startswith("/as"):
            return self.switch(text[3:].strip())
        if text in ("/who", "/personas"):
            return self.list_personas()
        if self.persona is None:
            return "请先选择身份：/as 姓名（/personas 列出演示人员；/as 村民 以村民身份）"
        user = self.persona.user_id
        shown = self.choices.get(user, [])
        if text.isdigit() and 1 <= int(text) <= len(shown):
            _label, data, message_id = shown[int(text) - 1]
            inbound = Inbound(
                PLATFORM,
                user,
                user,
                button=data,
                update_id=f"{self._session}-{next(self._updates)}",
                message_id=message_id,
                display_name=self.persona.name,
            )
        else:
            inbound = Inbound(
                PLATFORM,
                user,
                user,
                text=line,
                update_id=f"{self._session}-{next(self._updates)}",
                display_name=self.persona.name,
            )
        return self.render(self.conversation.handle(inbound))

    def render(self, outs: list[Outbound]) -> str:
        """Print replies for the current persona, and notifications to others as such."""
        lines: list[str] = []
        me = self.persona.user_id if self.persona else ""
        # Numbers run across all messages of one answer (a /pending list has many cards).
        numbered: list[tuple[str, str, str]] = []
        if any(o.chat_id == me and o.buttons for o in outs):
            self.choices[me] = numbered
        for o in without_edits(outs, keep_marks=True):  # printed lines cannot change: an edit is said once
            if o.chat_id != me:
                who = self.names.get(o.chat_id, o.chat_id)
                lines.append(f"  📨 通知 → {who}：" + o.text.replace("\n", "\n     "))
                continue
            message_id = o.edit_message_id or str(next(self._messages))
            prefix = "（已更新）" if o.edit_message_id else ""
            lines.append(prefix + o.text)
            if o.buttons:
                first = len(numbered) + 1
                for row in o.buttons:
                    for b in row:
                        numbered.append((b.label, b.data, message_id))
                lines.append(
                    "  " + "  ".join(f"[{i}] {label}" for i, (label, _d, _m) in enumerate(numbered[first - 1 :], first))
                )
            if o.qr is not None:
                lines.extend(self.show_qr(o.qr))
            if o.document is not None:
                lines.extend(self.show_document(o.document))
        return "\n".join(lines)

    def show_document(self, doc: Printable) -> list[str]:
        """A page to print, written as a PDF beside the QR codes' folder (posters/), with its caption."""
        try:
            if self.posters is None or self.image_dir is None:
                raise RuntimeError("no poster renderer")
            page = self.posters.pdf(doc.sheet)
        except Exception as e:  # no Chinese font: the operator sees why, the user the catalogue's sentence
            return [f"  ⚠ {doc.unavailable}", f"  （{e}）"]
        folder = self.image_dir.parent / "posters"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{doc.filename}.pdf"
        path.write_bytes(page.data)
        return [f"  📄 海报 / poster: {path}", "  " + doc.caption]

    def show_qr(self, qr: QrCode) -> list[str]:
        """A QR code as a PNG file (named by its content, not its scene) and its caption; nothing without one."""
        png = self.images.png(qr) if self.images is not None and self.image_dir is not None else None
        if png is None or self.image_dir is None:
            return []
        self.image_dir.mkdir(parents=True, exist_ok=True)
        path = self.image_dir / f"qr-{hashlib.sha256(png).hexdigest()[:12]}.png"
        path.write_bytes(png)
        return [f"  🖼 二维码图片 / QR code image: {path}", "  " + qr.caption]

    def list_personas(self) -> str:
        """The demo people one can play, one per role and institution."""
        from storage.tables import StaffRow

        with self.app.uow() as uow:  # type: ignore[attr-defined]
            from sqlmodel import select

            rows = uow.session.exec(select(StaffRow).order_by(StaffRow.code).limit(12)).all()
            people = [uow.staff.get(r.id) for r in rows]
            lines = ["演示人员（/as 姓名）："]
            for st in people:
                if st is None:
                    continue
                roles = "、".join(_ROLE_ZH[r] for r in ROLE_ORDER if r in st.roles)
                inst = uow.reference.institution(st.institution_code)
                lines.append(f"  {st.name}｜{roles}｜{inst.name if inst else st.institution_code}")
        lines.append("  村民｜以村民身份订阅坐诊预告（/as 村民2 可再开一个村民）")
        return "\n".join(lines)

    def switch(self, name: str) -> str:
        """Become the person called ``name`` (binding the console account to their staff record)."""
        if not name:
            return self.list_personas()
        if name.startswith("村民"):
            self.persona = Persona(f"resident:{name}", name, "resident")
            self.names[self.persona.user_id] = name
            return f"现在的身份：{name}（村民）。发送 /start 开始。"
        with self.app.uow() as uow:  # type: ignore[attr-defined]
            found = uow.staff.by_name(name) or ([uow.staff.by_code(name)] if uow.staff.by_code(name) else [])
            if not found:
                return f"没有找到人员「{name}」。/personas 查看演示人员。"
            st = found[0]
            user = f"staff:{st.code}"
            acc = uow.chat.get_or_create(PLATFORM, user, user, st.name, _now(self))
            if acc.staff_id != st.id:
                acc.staff_id = st.id
                acc.acting_role = next((r for r in ROLE_ORDER if r in st.roles), None)
                uow.chat.save(acc)
                # The console is a local, trusted tool (the operator has the database); still, record it.
                uow.audit.append(
                    AuditEvent(
                        st.id,
                        "console",
                        "console_persona",
                        "staff",
                        st.code,
                        None,
                        None,
                        None,
                        _now(self),
                        {"account": acc.id},
                    )
                )
            uow.commit()
            roles = "、".join(_ROLE_ZH[r] for r in ROLE_ORDER if r in st.roles)
        self.persona = Persona(user, st.name, roles)
        self.names[user] = st.name
        return f"现在的身份：{st.name}（{roles}）。发送 /help 查看可用命令。"


_ROLE_ZH = {
    Role.VILLAGE_DOCTOR: "村医",
    Role.TOWNSHIP_REVIEWER: "卫生院审核员",
    Role.HOSPITAL_REVIEWER: "医院审核员",
    Role.EXPERT: "下沉专家",
    Role.ADMIN: "管理员",
}


def _now(session: ConsoleSession):
    return session.conversation.services.clock()


BANNER = """巡诊 · 本地对话（所有角色在同一个终端里）
  /personas 列出演示人员   /as 姓名 切换身份   /as 村民 以村民身份   数字 选择按钮   /quit 退出
  例如：/as 廖德福 → /new （村医登记订单）；/as 曾丽芳 → /pending （卫生院初审）"""


async def serve(app, conversation: Conversation, stop: asyncio.Event) -> None:
    """Read lines from stdin until EOF, /quit or ``stop``; print the replies."""
    session = ConsoleSession(app, conversation, images=build_qr_images(app), image_dir=app.settings.var_dir / "qr",
                             posters=build_posters(app))
    print(BANNER, flush=True)
    while not stop.is_set():
        print(session.prompt(), end="", flush=True)
        line = await asyncio.to_thread(sys.stdin.readline)
        if not line or line.strip() in ("/quit", "/exit"):
            print("\n再见。", flush=True)
            return
        if not line.strip():
            continue
        out = await asyncio.to_thread(session.handle_line, line.rstrip("\n"))
        if out:
            print(out, flush=True)
