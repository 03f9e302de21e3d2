"""/catalogue (issue 20 part 3): the first-diagnosis catalogue (基层首诊病种目录) in chat.

Township reviewers read and edit their own center's catalogue; village doctors read the catalogue of the center that
supports their post. ``/catalogue`` lists it page by page (each page within WeCom's 2,048 bytes a message),
``/catalogue 血压高`` answers "can this be treated here?" with the matched entry and the words that matched,
``/catalogue 采用默认`` / ``添加 病名 编码`` / ``删除 病名`` change it. The use cases are
``handlers.services.catalogue`` (the command line's too); a refusal is answered politely and audited.
"""

from __future__ import annotations

from datetime import date

from domain.catalogue import CatalogueMatch
from domain.errors import DomainError
from domain.staff import Role
from handlers.common import actor_of
from handlers.core import Ctx, Router
from handlers.services import catalogue as svc
from handlers.texts_catalogue import t

router = Router()
VD, TW = Role.VILLAGE_DOCTOR, Role.TOWNSHIP_REVIEWER
PAGE_BYTES = 2048  # WeCom's limit for one text message, in UTF-8 bytes; the strictest of our platforms
ADOPT = ("采用默认", "采用", "adopt")
ADD = ("添加", "加入", "add")
REMOVE = ("删除", "移出", "remove")


def day_text(d: date) -> str:
    """``2026年11月23日``."""
    return f"{d.year}年{d.month}月{d.day}日"


def head_of(view: svc.CatalogueView) -> str:
    """The catalogue's first line: center, day, size against its target."""
    met = t("catalogue.met") if view.meets_target else t("catalogue.unmet", gap=view.target - view.size)
    return t("catalogue.head", center=view.institution.name, date=day_text(view.day), size=view.size,
             target=view.target, tier=t(f"catalogue.tier.{view.tier.value}"), met=met)


def pages_of(view: svc.CatalogueView, footer: str) -> list[str]:
    """The catalogue as pages of at most ``PAGE_BYTES`` bytes each, every page headed and footed."""
    head = head_of(view)
    lines = [t("catalogue.line", n=i, label=e.label) for i, e in enumerate(view.entries, start=1)]
    # room for the head, the page line ("第 99/99 页") and the footer, each on its own line
    fixed = len(head.encode()) + len(footer.encode()) + len(t("catalogue.page", page=99, pages=99).encode()) + 3
    chunks: list[list[str]] = [[]]
    used = fixed
    for line in lines:
        size = len(line.encode()) + 1
        if chunks[-1] and used + size > PAGE_BYTES:
            chunks.append([])
            used = fixed
        chunks[-1].append(line)
        used += size
    total = len(chunks)
    return ["\n".join([head, t("catalogue.page", page=i, pages=total), *chunk, footer])
            for i, chunk in enumerate(chunks, start=1)]


@router.command("catalogue", VD, TW)
def catalogue_command(ctx: Ctx, arg: str) -> None:
    """/catalogue [页码 | 病情 | 采用默认 | 添加 病名 编码 | 删除 病名]."""
    actor = actor_of(ctx)
    code = svc.center_for(actor, ctx.today)
    word, _, rest = arg.strip().partition(" ")
    try:
        if not arg.strip():
            _list(ctx, code, 1)
        elif arg.strip().isdigit() and len(arg.strip()) <= 3:
            _list(ctx, code, int(arg.strip()))
        elif word in ADOPT and not rest.strip():
            added = svc.adopt_default(ctx.uow, actor, code, ctx.now)
            view = svc.catalogue_on(ctx.uow, code, ctx.today)
            ctx.reply(t("catalogue.adopted", added=added, center=view.institution.name, size=view.size,
                        target=view.target))
        elif word in ADD:
            name, icd = _name_and_code(rest)
            entry = svc.add_entry(ctx.uow, actor, code, name, icd, ctx.now)
            size = svc.catalogue_on(ctx.uow, code, ctx.today).size
            ctx.reply(t("catalogue.added", label=entry.label, date=day_text(ctx.today), size=size))
        elif word in REMOVE:
            entry = svc.remove_entry(ctx.uow, actor, code, rest, ctx.now)
            size = svc.catalogue_on(ctx.uow, code, ctx.today).size
            ctx.reply(t("catalogue.removed", label=entry.label, date=day_text(ctx.today), size=size))
        else:
            _match(ctx, code, arg.strip())
    except DomainError as e:
        # Bad input from a person: nothing was written; the refusal is audited (its length, not its words: a
        # complaint may name a resident) and answered in Chinese.
        ctx.audit("refused", "catalogue", code, reason=e.key, detail={"length": len(arg)})
        ctx.reply(t(e.key, **e.params))


def _name_and_code(rest: str) -> tuple[str, str | None]:
    """``带状疱疹 B02`` as (name, code): a last word in ASCII letters, digits and dots is meant as the code (and
    checked as one); without it the whole rest is the name."""
    words = rest.split()
    if len(words) >= 2 and words[-1].isascii() and words[-1].replace(".", "").isalnum():
        return " ".join(words[:-1]), words[-1]
    return rest.strip(), None


@router.button("catalogue.page")
def page_pressed(ctx: Ctx, payload: dict) -> None:
    """上一页/下一页 pressed: the page of the catalogue this user reads now (the center is found again)."""
    code = svc.center_for(actor_of(ctx), ctx.today)
    page = payload.get("page")
    _list(ctx, code, page if isinstance(page, int) and not isinstance(page, bool) else 1)


def _list(ctx: Ctx, code: str, page: int) -> None:
    view = svc.catalogue_on(ctx.uow, code, ctx.today)
    if not view.entries:
        ctx.reply(t("catalogue.none", center=view.institution.name, count=len(svc.shipped_lexicon())))
        return
    footer = t("catalogue.usage") + (("\n" + t("catalogue.editor_usage")) if ctx.role is TW else "")
    pages = pages_of(view, footer)
    page = min(max(page, 1), len(pages))
    buttons = []
    if page > 1:
        buttons.append(ctx.btn(t("catalogue.prev"), "catalogue.page", page=page - 1))
    if page < len(pages):
        buttons.append(ctx.btn(t("catalogue.next"), "catalogue.page", page=page + 1))
    # A page turned comes as a new message (the pages before stay readable, their buttons harmless).
    ctx.reply(pages[page - 1], [buttons])


def _match(ctx: Ctx, code: str, query: str) -> None:
    view, found = svc.match_text(ctx.uow, code, query, ctx.today)
    if not found:
        ctx.reply(t("catalogue.no_match", query=query[:40], center=view.institution.name, size=view.size))
        return
    lines = "\n".join(t("catalogue.match_line", label=m.label, words="、".join(m.words)) for m in found[:5])
    ctx.reply(t("catalogue.match", center=view.institution.name, lines=lines))


def card_line(match: CatalogueMatch | None) -> str:
    """The line a township reviewer's card shows for an order whose need is in the catalogue ("" if not)."""
    if match is None:
        return ""
    return "\n" + t("catalogue.card_line", disease=match.disease, words="、".join(match.words))
