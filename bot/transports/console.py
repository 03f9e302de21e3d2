"""The local console chat: the embedded default of ``make run``.

One terminal plays every role. ``/as <name>`` switches persona to a member of staff from the
database (``/as 村民`` or ``/as 村民2`` for an anonymous resident); buttons are shown as numbered
choices and chosen by typing their number. A reply's QR code (with an Official Account configured) is
written to ``<XUNZHEN_VAR_DIR>/qr/`` and its path printed; a page to print (a poster) to
``<XUNZHEN_VAR_DIR>/posters/`` as a PDF. Everything goes through the same handlers and database
as Telegram or WeChat would: only the translation to and from text lines lives here.

How a typed number is read (a console has no buttons to press, so it must say what a number means):

* each message's buttons are one numbered list; a list's numbers follow those still on screen, so the cards of
  ``/pending`` keep their numbers while a card's own follow-up question (merge into which order?) gets new ones;
* a list goes when one of its buttons is pressed, when its message is replaced, or when its question is answered
  in words; a new command starts a new screen (numbers from 1 again);
* at a step that waits for typed text (a head count, a birth year, a need), a number is the answer unless it is a
  button of that very question (``[1] ＋ 新建居民`` beside the name search);
* the screen of every persona (its lists and its open question) is kept in the database: after a restart, or
  when switching back to someone, ``/as`` shows the open question again with the same numbers. Notices to other
  people (the emergency alert, a rating request) are numbered on *their* screen and named by their name.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.bootstrap import build_posters, build_qr_images
from bot.delivery.poster import Posters
from bot.delivery.qr import QrImages
from bot.transports.console_screens import PLATFORM, RESIDENT, STAFF, Choice, ConsoleScreens, Screen, Shown, numbered
from domain.orders import AuditEvent
from domain.staff import ROLE_ORDER, Role
from handlers import Attachment, Conversation, Inbound, Outbound, Printable, QrCode
from handlers.core import without_edits
from handlers.texts import t

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
    screens: ConsoleScreens = field(init=False)
    images: QrImages | None = None  # the Official Account's QR codes (None: none configured, text alone)
    image_dir: Path | None = None  # where a QR code's PNG is written for the operator to open
    posters: Posters | None = None  # lays out pages to print (None: the user is told they cannot be made here)
    # Update ids must not repeat across runs, or the dedupe of processed updates would drop them.
    _session: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    _updates: itertools.count = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.screens = ConsoleScreens(self.app.uow, self.conversation.services.clock)  # type: ignore[attr-defined]

    def prompt(self) -> str:
        """The prompt shows who is typing."""
        return PROMPT.format(name=self.persona.name if self.persona else "（未选择身份）")

    def number_of(self, label: str) -> int | None:
        """The number of the first button whose label contains ``label`` in the latest answer shown to the current
        persona (then in earlier lists still on screen, newest first)."""
        if self.persona is None:
            return None
        lists = self.screens.load(self.persona.user_id).lists
        for shown in sorted(lists, key=lambda s: -s.answer):  # stable: an answer's messages keep their order
            for c in shown.choices:
                if label in c.label:
                    return c.n
        return None

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
        screen = self.screens.load(user)
        echo = ""
        pressed: tuple[Shown, Choice] | None = None
        if text.isdigit():
            found = screen.find(int(text))
            at_text_step = screen.takes_text and not (found and screen.is_open_question(found[0]))
            if found and not at_text_step:
                pressed = found
                echo = f"→ [{found[1].n}] {found[1].label}\n"
            elif found:
                echo = t("console.number_as_text", n=text) + "\n"
            elif not screen.takes_text:
                return self._no_such_number(int(text), screen)
        update = f"{self._session}-{next(self._updates)}"
        if text.startswith("/file"):
            sent = self.read_file(text[5:].strip())
            if isinstance(sent, str):
                return sent
            inbound = Inbound(PLATFORM, user, user, update_id=update, display_name=self.persona.name,
                              attachment=sent)
            return self.render(self.conversation.handle(inbound), lambda s: s.new_screen())
        if pressed is not None:
            inbound = Inbound(PLATFORM, user, user, button=pressed[1].token, update_id=update,
                              message_id=pressed[0].message_id, display_name=self.persona.name)
        else:
            inbound = Inbound(PLATFORM, user, user, text=line, update_id=update, display_name=self.persona.name)
        step: list[str | None] = []
        outs = self.conversation.handle(inbound, after=lambda _uow, acc: step.append(acc.step))
        steps = self.conversation.router.steps

        def answered(s: Screen) -> None:
            if text.startswith("/"):
                s.new_screen()
            elif pressed is not None:
                s.drop(pressed[0].message_id)  # that question has its answer
            elif s.takes_text and s.open_message:
                s.drop(s.open_message)  # answered in words
            if step:
                s.step, s.takes_text = step[-1], step[-1] in steps

        return echo + self.render(outs, answered)

    def _no_such_number(self, n: int, screen: Screen) -> str:
        numbers = sorted(c.n for s in screen.lists for c in s.choices)
        if not numbers:
            return t("console.no_buttons", n=n)
        return t("console.no_such_number", n=n, numbers="、".join(map(str, numbers)))

    def render(self, outs: list[Outbound], before: Callable[[Screen], None] = lambda s: None) -> str:
        """Print replies for the current persona (their buttons numbered on their screen) and notices to others."""
        me = self.persona.user_id if self.persona else ""
        lines: list[str] = []

        def show(s: Screen) -> None:
            before(s)
            s.answers += 1
            for o in without_edits(outs, keep_marks=True):  # printed lines cannot change: an edit is said once
                if o.chat_id != me:
                    continue
                message_id = o.edit_message_id or self.screens.new_message_id()
                if o.edit_message_id:
                    s.drop(o.edit_message_id)
                lines.append(("（已更新）" if o.edit_message_id else "") + o.text)
                if o.buttons:
                    choices = s.add(message_id, o.text, [(b.label, b.data) for row in o.buttons for b in row])
                    lines.append(numbered(choices))
                s.open_text, s.open_message = o.text, (message_id if o.buttons else None)
                if o.qr is not None:
                    lines.extend(self.show_qr(o.qr))
                if o.document is not None:
                    lines.extend(self.show_document(o.document))
                if o.attachment is not None:
                    lines.extend(self.show_attachment(o.attachment))

        if me:
            self.screens.change(me, show)
        for o in outs:
            if o.chat_id != me:
                lines.append(self.screens.notice(o.chat_id, o.text, [(b.label, b.data) for row in o.buttons
                                                                     for b in row]))
        return "\n".join(lines)

    @staticmethod
    def read_file(path_text: str) -> Attachment | str:
        """``/file PATH``: the file a user would send in a chat (a survey sheet), or what is wrong with the path."""
        path = Path(path_text.strip("'\"")).expanduser()
        if not path_text or not path.is_file():
            return t("console.no_file", path=path_text or "（空）")
        return Attachment(path.name, path.read_bytes())

    def show_attachment(self, sent: Attachment) -> list[str]:
        """A ready-made file (the survey template), written under files/ beside the posters, with its caption."""
        folder = (self.image_dir.parent if self.image_dir is not None else Path(".")) / "files"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / Path(sent.filename).name
        path.write_bytes(sent.data)
        return [f"  📎 文件 / file: {path}"] + (["  " + sent.caption] if sent.caption else [])

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
        """Become the person called ``name`` (binding the console account to their staff record), and show the
        question they left open, with the numbers it had."""
        if not name:
            return self.list_personas()
        if name.startswith("村民"):
            self.persona = Persona(f"{RESIDENT}{name}", name, "resident")
            return f"现在的身份：{name}（村民）。发送 /start 开始。" + self._resume()
        with self.app.uow() as uow:  # type: ignore[attr-defined]
            found = uow.staff.by_name(name) or ([uow.staff.by_code(name)] if uow.staff.by_code(name) else [])
            if not found:
                return f"没有找到人员「{name}」。/personas 查看演示人员。"
            st = found[0]
            user = f"{STAFF}{st.code}"
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
        return f"现在的身份：{st.name}（{roles}）。发送 /help 查看可用命令。" + self._resume()

    def left_open(self) -> str:
        """On start: who left a question open here, and how to go back to it (empty if nobody did)."""
        with self.app.uow() as uow:  # type: ignore[attr-defined]
            # Whenever stamped: a demo's clock starts at the same moment on every start, before the last session's.
            drafts = uow.chat.open_drafts(PLATFORM)
        lines = []
        for acc in sorted(drafts, key=lambda a: a.platform_user_id):
            name = self.screens.name(acc.platform_user_id)
            lines.append(t("console.left_open", name=name, step=t(f"step.{acc.step}")))
        return "\n".join(lines)

    def _resume(self) -> str:
        """The persona's screen as they left it: the open question and every list still on it."""
        assert self.persona is not None
        user = self.persona.user_id
        with self.app.uow() as uow:  # type: ignore[attr-defined]
            acc = uow.chat.account(PLATFORM, user)
        step = acc.step if acc else None  # a draft may have expired, or been finished elsewhere, meanwhile
        steps = self.conversation.router.steps

        def now_on(s: Screen) -> None:
            s.step, s.takes_text = step, step in steps

        screen = self.screens.change(user, now_on)
        lines: list[str] = []
        if screen.step:
            lines.append(t("console.resume", step=t(f"step.{screen.step}")))
        for shown in screen.lists:
            lines += [shown.text, numbered(shown.choices)]
        if screen.step and screen.open_text and not screen.open_message:
            lines.append(screen.open_text)  # a question without buttons, waiting for a typed answer
        return ("\n" + "\n".join(lines)) if lines else ""


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
  /file 路径 发送文件（村医的摸底表，见 /survey）
  按钮编号：每条消息的按钮接着屏幕上已有的编号；在需要输入文字的一步，数字就是您的回答。
  例如：/as 廖德福 → /new （村医登记订单）；/as 曾丽芳 → /pending （卫生院初审）"""


async def serve(app, conversation: Conversation, stop: asyncio.Event) -> None:
    """Read lines from stdin until EOF, /quit or ``stop``; print the replies."""
    session = ConsoleSession(app, conversation, images=build_qr_images(app), image_dir=app.settings.var_dir / "qr",
                             posters=build_posters(app))
    print(BANNER, flush=True)
    left = await asyncio.to_thread(session.left_open)
    if left:
        print(left, flush=True)
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
