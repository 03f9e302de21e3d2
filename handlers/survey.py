"""The village doctor's survey import in chat (issue 19, 摸底导入): send the sheet as a file, read one summary card,
confirm all or go through the rows one by one; /survey explains it and sends the blank template.

The pending import is data (``survey_import``), named on the buttons only by its id: a restart or another worker
loses nothing, and every press is re-authorised by the use cases (``handlers.services.survey``): only the doctor
who sent the sheet, at their post, may confirm, skip or drop it.
"""

from __future__ import annotations

from typing import Any

from domain.errors import DomainError
from domain.staff import Role
from handlers import texts_survey  # noqa: F401  (registers the texts)
from handlers.common import actor_of, deliver, specialty_name
from handlers.core import Attachment, Ctx, Router
from handlers.services import survey as service
from handlers.texts import t

router = Router()
VD = Role.VILLAGE_DOCTOR
NO_FILES = ("wecom", "wechat")  # platforms that deliver no files to the bot (WeCom apps, the Official Account)
MAX_LISTED = 15  # lines per list on the card; the rest are counted


@router.command("survey", VD)
def survey_command(ctx: Ctx, arg: str) -> None:
    """/survey: what a survey sheet is, and the template's button."""
    note = t("survey.help_no_files") if ctx.acc.platform in NO_FILES else ""
    ctx.reply(t("survey.help") + note, [[ctx.btn(t("survey.template_button"), "survey.template")]])


@router.button("survey.template")
def template(ctx: Ctx, payload: dict) -> None:
    """下载模板: the blank sheet as a file."""
    actor_of(ctx)
    ctx.reply(t("survey.template_sent", filename=service.TEMPLATE_NAME),
              attachment=Attachment(service.TEMPLATE_NAME, service.template_xlsx(), t("survey.template_caption")))


@router.file(VD)
def sheet_sent(ctx: Ctx, caption: str) -> None:
    """A file from a village doctor: checked as a survey sheet; refused whole (every problem by row), or kept pending
    behind one summary card."""
    sent = ctx.inbound.attachment
    assert sent is not None
    actor = actor_of(ctx)
    post, village = service.post_of(ctx.uow, actor)
    try:
        checked = service.check_sheet(ctx.uow, ctx.services.matcher, name=sent.filename, data=sent.data, post=post,
                                      village=village, today=ctx.today)
        if checked.rejected:
            raise checked.refusal()
    except DomainError as e:
        # The refusal is audited (which rows, never their contents) and said in full; nothing is kept.
        ctx.audit("refused", "survey", sent.filename[:64], reason=e.key,
                  detail={"rows": [p.row for p in checked.rejected][:50]} if e.key == "survey.refused" else None)
        ctx.reply(_refusal_text(e))
        return
    imp = service.start_import(ctx.uow, actor, ctx.now, checked, consent_version=ctx.services.consent_version)
    # An emergency is never an order, and its township is alerted, as for a typed one (one alert per resident).
    alerted = service.alert_emergencies(ctx.uow, actor, ctx.now, post, village, checked)
    _card(ctx, imp, checked.summary(), alerted)


def _refusal_text(e: DomainError) -> str:
    from handlers.texts_cli import refusal

    zh, en = refusal(e.key, **e.params)
    return f"{zh}\n\n{en}"


def _card(ctx: Ctx, imp: Any, summary: dict[str, Any], alerted: str = "") -> None:
    rows = imp.rows
    emergencies = [r for r in rows if r.get("emergency") and r["state"] == "ready"]
    dupes = [r for r in rows if r.get("duplicate") and not r.get("emergency") and r["state"] == "ready"]
    ready = service.ready_rows(imp)
    text = t(
        "survey.card", file=imp.file_name, rows=summary["rows"], village=ctx.place_name(imp.village_code),
        emergencies=t("survey.emergencies", count=len(emergencies), lines=_lines(
            [t("survey.emergency_line", row=r["row"], name=r["name"], reasons=r["reasons"]) for r in emergencies]))
        + (alerted + "\n" if alerted else "") if emergencies else "",
        counts=t("survey.counts", new=summary["new_residents"], existing=summary["existing_residents"],
                 duplicates=summary["duplicates"], ready=len(ready)),
        by_specialty=t("survey.by_specialty", lines="、".join(
            f"{specialty_name(code)} {n}" for code, n in summary["by_specialty"].items())) if summary["by_specialty"]
        else "",
        duplicates=t("survey.duplicates", lines=_lines(
            [t("survey.duplicate_line", row=r["row"], name=r["name"], why=r["duplicate"]) for r in dupes]))
        if dupes else "",
        hint=t("survey.hint"),
    )
    buttons = []
    if ready:
        buttons.append([ctx.btn(t("survey.all", count=len(ready)), "survey.all", id=imp.id)])
    if service.open_rows(imp):
        buttons.append([ctx.btn(t("survey.rows"), "survey.rows", id=imp.id),
                        ctx.btn(t("survey.drop"), "survey.drop", id=imp.id)])
    ctx.reply(text, buttons)


def _lines(lines: list[str]) -> str:
    extra = len(lines) - MAX_LISTED
    return "\n".join(lines[:MAX_LISTED] + ([f"  ……另有 {extra} 行"] if extra > 0 else []))


@router.button("survey.all")
def confirm_all(ctx: Ctx, payload: dict) -> None:
    """全部提交: every ready row filed at once (emergencies and likely duplicates stay for row by row)."""
    filed = service.confirm_all(ctx.uow, actor_of(ctx), ctx.now, payload.get("id"))
    if not filed.numbers:
        ctx.reply(t("survey.nothing_ready"))
        return
    deliver(ctx, filed.notices)
    ctx.edit(t("survey.filed", count=len(filed.numbers), numbers=_numbers(filed.numbers)))
    if filed.left:
        ctx.reply(t("survey.left", count=filed.left),
                  [[ctx.btn(t("survey.rows"), "survey.rows", id=payload.get("id"))]])


def _numbers(numbers: list[str]) -> str:
    return "、".join(numbers[:30]) + (f" 等 {len(numbers)} 个" if len(numbers) > 30 else "")


@router.button("survey.rows")
def rows(ctx: Ctx, payload: dict) -> None:
    """逐行查看: the first row still to decide on (emergencies first)."""
    imp = service.load_import(ctx.uow, actor_of(ctx), ctx.now, payload.get("id"))
    _row_card(ctx, imp)


def _row_card(ctx: Ctx, imp: Any) -> None:
    left = service.open_rows(imp)
    if not left:
        ctx.reply(t("survey.rows_done"))
        return
    r = left[0]
    done = len(imp.rows) - len(left)
    sex = t("new.sex." + r["sex"])
    resident = t("survey.row_existing" if r.get("rid") else "survey.row_new", name=r["name"], sex=sex,
                 year=r["birth_year"])
    flag = (t("survey.row_emergency", reasons=r["reasons"]) if r.get("emergency")
            else t("survey.row_duplicate", why=r["duplicate"]) if r.get("duplicate") else "")
    label = ("survey.row_override" if r.get("emergency") else "survey.row_anyway" if r.get("duplicate")
             else "survey.row_file")
    ctx.reply(
        t("survey.row_card", row=r["row"], index=done + 1, total=len(imp.rows), resident=resident, need=r["need"],
          specialty=specialty_name(r.get("specialty")), urgency=t("survey.urgency." + r["urgency"]), flag=flag),
        [[ctx.btn(t(label), "survey.file_row", id=imp.id, row=r["row"]),
          ctx.btn(t("survey.row_skip"), "survey.skip_row", id=imp.id, row=r["row"])],
         [ctx.btn(t("survey.row_back"), "survey.card", id=imp.id)]],
    )


@router.button("survey.file_row")
def file_row(ctx: Ctx, payload: dict) -> None:
    """This row filed (an emergency only with the doctor's "不是急症"), then the next."""
    actor = actor_of(ctx)
    filed = service.file_row(ctx.uow, actor, ctx.now, payload.get("id"), payload.get("row"))
    deliver(ctx, filed.notices)
    ctx.edit(t("survey.row_filed", row=payload.get("row"), number=filed.numbers[0]))
    _next(ctx, payload)


@router.button("survey.skip_row")
def skip_row(ctx: Ctx, payload: dict) -> None:
    """This row left out, then the next."""
    service.skip_row(ctx.uow, actor_of(ctx), ctx.now, payload.get("id"), payload.get("row"))
    ctx.edit(t("survey.row_skipped", row=payload.get("row")))
    _next(ctx, payload)


def _next(ctx: Ctx, payload: dict) -> None:
    imp = ctx.uow.surveys.get(int(payload["id"]))
    if imp is None or imp.status != "pending":
        ctx.reply(t("survey.rows_done"))
        return
    _row_card(ctx, imp)


@router.button("survey.card")
def card(ctx: Ctx, payload: dict) -> None:
    """返回汇总: the summary card again, as it stands."""
    imp = service.load_import(ctx.uow, actor_of(ctx), ctx.now, payload.get("id"))
    _card(ctx, imp, service.summary_of(int(imp.extra.get("total", len(imp.rows))), imp.rows, []))


@router.button("survey.drop")
def drop(ctx: Ctx, payload: dict) -> None:
    """放弃: nothing more of this sheet is filed."""
    service.drop_import(ctx.uow, actor_of(ctx), ctx.now, payload.get("id"))
    ctx.edit(t("survey.dropped"))
