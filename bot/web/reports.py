"""Reports for the medical administration section (医政科): ledgers as sheets (xlsx, csv, md) and charts.

``handlers.services.ledgers.report_figures`` reads everything once (for the dashboard and the command line alike);
``sheets`` turns it into Chinese tables; the writers only format.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from domain.circuits import month_day
from domain.ledgers import (
    FREQUENCY_LABELS,
    LEAD_SOURCE_LABELS,
    LEAD_STATUS_LABELS,
    RULE_LABELS,
    Lead,
    LeadStatus,
    sent_down,
)
from domain.places import PlaceLevel
from handlers.services.ledgers import ReportData
from handlers.texts_ledgers import SHEET_NOTES, TARGET_DEFINITIONS

CHINA = ZoneInfo("Asia/Shanghai")
HALF_DAY = {"am": "上午", "pm": "下午"}
LEVEL = {"county": "县级", "township": "乡镇级", "village": "村级", "mobile": "移动医院"}
CIRCUIT_STATUS = {"planned": "计划", "done": "已完成", "cancelled": "已取消"}


# --- sheets -----------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Sheet:
    """A table with Chinese headers and column widths (in characters)."""

    name: str
    headers: list[str]
    widths: list[int]
    rows: list[list[object]]
    note: str = ""  # what the sheet lists: under its heading in Markdown, a comment on its first cell in Excel

    def __post_init__(self) -> None:
        self.note = self.note or SHEET_NOTES.get(self.name, "")


def _pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.1f}%"


def _num(x: float) -> int | float:
    return int(x) if float(x).is_integer() else round(x, 1)


def sheets(d: ReportData) -> list[Sheet]:
    """The report's tables, in the order a clerk files them."""
    unit = lambda code: d.unit_names.get(code) or d.place_name(code)  # noqa: E731
    out = []
    rows: list[list[object]] = []
    for r in d.physician_rows:
        st = d.staff[r.staff_id]
        w = r.work
        rows.append(
            [
                st.code,
                st.name,
                d.institution_names.get(st.institution_code, st.institution_code),
                st.title,
                unit(r.unit_code),
                f"{r.month:%Y-%m}",
                len(r.days),
                len(r.half_days),
                len(r.circuits),
                w.patients,
                w.served,
                w.no_show,
                w.lectures,
                w.trainings,
                w.training_heads,
                w.special_total,
                w.home_visits,
            ]
        )
    out.append(
        Sheet(
            "工作台账-医师",
            [
                "医师编码",
                "姓名",
                "派出单位",
                "职称",
                "受援单位",
                "月份",
                "服务天数",
                "服务半天数",
                "巡诊次数",
                "诊疗人次",
                "订单已诊",
                "订单未到",
                "讲座场次",
                "培训场次",
                "培训人次",
                "特殊人群诊疗人次",
                "送医上门人次",
            ],
            [10, 8, 22, 6, 22, 8, 8, 9, 8, 8, 8, 8, 8, 8, 8, 14, 12],
            rows,
        )
    )
    rows = []
    for cr in d.circuit_rows:
        c, w = cr.circuit, cr.work
        present = [d.staff_name(s) for s in c.attended_by()]
        absent = [d.staff_name(s) + (f"（{c.absent[s]}）" if c.absent[s] else "（无故）") for s in c.absent]
        rows.append(
            [
                c.day.isoformat(),
                HALF_DAY.get(c.half_day, c.half_day),
                d.place_name(c.place_code),
                unit(cr.unit_code),
                d.institution_names.get(c.hospital_code, c.hospital_code),
                LEVEL.get(c.level, c.level),
                CIRCUIT_STATUS.get(c.status, c.status),
                "、".join(present),
                "、".join(absent),
                w.orders_scheduled,
                w.served,
                w.no_show,
                w.lectures,
                w.training_heads,
                w.special_total,
                w.home_visits,
                c.id,
                "是" if sent_down(c.level, d.place_level(c.place_code)) else "否",
            ]
        )
    out.append(
        Sheet(
            "工作台账-巡诊",
            [
                "日期",
                "时段",
                "地点",
                "受援单位",
                "派出医院",
                "级别",
                "状态",
                "出诊专家",
                "缺席",
                "排入订单",
                "已诊",
                "未到",
                "讲座场次",
                "培训人次",
                "特殊人群诊疗人次",
                "送医上门人次",
                "巡诊编号",
                "计入医师下基层",
            ],
            [11, 5, 16, 22, 22, 8, 7, 24, 18, 8, 6, 6, 8, 8, 14, 12, 8, 9],
            rows,
        )
    )
    rows = [
        [
            p.label,
            p.unit,
            _num(p.target) if p.target else "未设定",
            _num(p.actual),
            _pct(p.ratio),
            p.projected.isoformat() if p.projected else ("—" if not p.met else "已完成"),
            p.status,
            *TARGET_DEFINITIONS[p.key],
        ]
        for p in d.progress
    ]
    out.append(
        Sheet(
            "目标进度",
            ["指标", "单位", "年度目标", f"累计完成（截至{month_day(d.as_of)}）", "完成率", "按当前进度预计完成",
             "状态", "口径", "依据"],
            [30, 6, 10, 22, 9, 18, 10, 60, 50],
            rows,
        )
    )
    rows = []
    for v in d.violations:
        who = d.staff.get(v.staff_id) if v.staff_id is not None else None
        rows.append(
            [
                RULE_LABELS[v.rule],
                who.name if who else "",
                who.code if who else "",
                d.institution_names.get(who.institution_code, "") if who else d.scope.label,
                v.when.isoformat(),
                v.detail,
                "预警" if v.warning else "违规",
            ]
        )
    out.append(
        Sheet(
            "规则预警", ["规则", "医师", "医师编码", "单位", "时间", "说明", "级别"], [34, 8, 10, 22, 11, 50, 6], rows
        )
    )
    rows = [
        [
            o.place_code,
            d.place_name(o.place_code),
            {"county": "县", "township": "乡镇", "village": "村"}[o.level.value],
            FREQUENCY_LABELS[o.level],
            o.first_missed.isoformat(),
            o.missed,
            o.last_visit.isoformat() if o.last_visit else "无记录",
        ]
        for o in sorted(d.overdue, key=lambda o: (list(PlaceLevel).index(o.level), o.place_code))
    ]
    out.append(
        Sheet(
            "已逾期地点",
            ["地点编码", "地点", "层级", "频次要求", "首个已过的应巡日期", "缺次数", "最近巡诊"],
            [14, 18, 6, 18, 11, 7, 11],
            rows,
        )
    )
    lead_headers = [
        "编号",
        "来源",
        "登记日期",
        "地点",
        "涉及单位",
        "订单号",
        "评分",
        "问题描述",
        "责任人",
        "状态",
        "处理结果",
        "整改期限",
        "办结日期",
    ]
    rows = [_lead_row(d, lead) for lead in d.leads]
    out.append(Sheet("问题线索台账", lead_headers, [6, 9, 11, 14, 20, 18, 5, 40, 8, 7, 30, 11, 11], rows))
    rows = [
        [
            lead.id,
            lead.summary,
            lead.owner_name or "未指定",
            lead.due.isoformat() if lead.due else "",
            LEAD_STATUS_LABELS[lead.status],
            "是" if lead.overdue(d.as_of) else "否",
            lead.resolution or "",
        ]
        for lead in d.leads
        if lead.status in (LeadStatus.OPEN, LeadStatus.IN_PROGRESS, LeadStatus.RESOLVED)
    ]
    out.append(
        Sheet(
            "整改清单",
            ["线索编号", "问题", "责任人", "整改期限", "状态", "是否逾期", "整改措施"],
            [8, 40, 8, 11, 7, 8, 30],
            rows,
        )
    )
    first = d.funnel[0].count or 1
    rows = [[s.label, s.count, _pct(s.count / first)] for s in d.funnel]
    ws = d.waits
    rows += [
        ["", "", ""],
        ["候诊天数（已诊订单）", ws.count, ""],
        ["平均", ws.mean if ws.mean is not None else "", ""],
        ["中位数", ws.median if ws.median is not None else "", ""],
        ["90%分位", ws.p90 if ws.p90 is not None else "", ""],
        *[[label, n, ""] for label, n in ws.histogram],
    ]
    out.append(Sheet("订单漏斗与候诊", ["环节", "订单数", "占登记比例"], [22, 10, 12], rows))
    out.append(catalogue_sheet(d))
    out.append(remote_sheet(d))
    out.append(referral_sheet(d))
    return out


def catalogue_sheet(d: ReportData) -> Sheet:
    """首诊病种目录: each health center's catalogue against its 80/50 target on the as-of day, and of the period's
    orders whose need was in the catalogue, those the center handled itself (issue 20)."""
    rows: list[list[object]] = []
    for c in d.catalogue:
        rows.append([c.name, c.institution_code, "中心卫生院/社区医院" if c.tier.value == "central" else "一般卫生院",
                     c.size, c.target, "是" if c.meets_target else "否", c.matched_orders, c.handled_locally,
                     _pct(c.local_share)])
    met = sum(1 for c in d.catalogue if c.meets_target)
    matched = sum(c.matched_orders for c in d.catalogue)
    local = sum(c.handled_locally for c in d.catalogue)
    rows.append(["合计", f"{len(d.catalogue)} 家", "", "", "", f"{met} 家达标", matched, local,
                 _pct(local / matched if matched else None)])
    return Sheet("首诊病种目录", ["卫生院", "机构编码", "类别", "目录病种数", "目标", "是否达标", "目录内订单",
                               "本院处理", "本院处理占比"], [20, 14, 16, 10, 6, 8, 10, 8, 12], rows)


def remote_sheet(d: ReportData) -> Sheet:
    """Remote consultations (远程会诊) set for the period, per county and supporting hospital, by how they ended."""
    rows: list[list[object]] = [
        [d.place_name(r.county_code) if r.county_code else "合计", d.institution_names.get(r.hospital_code,
                                                                                        r.hospital_code),
         r.held, r.cancelled, r.no_show, r.scheduled, r.moved]
        for r in d.remote
    ]
    return Sheet("远程会诊", ["县（市、区）", "支援医院", "已会诊", "已取消", "未到场", "待会诊", "已改期"],
                 [12, 22, 8, 8, 8, 8, 8], rows,
                 note="会诊时间在本期内的远程会诊场次，按居民所在县和支援医院统计；改期的场次计入新的时间。")


def referral_sheet(d: ReportData) -> Sheet:
    """双向转诊: up- and down-referrals per county and hospital, then each hospital's reserved slots."""
    hospital = lambda code: d.institution_names.get(code, code)  # noqa: E731
    rows: list[list[object]] = [
        [d.place_name(r.county_code), hospital(r.hospital_code), r.up, r.booked, r.no_shows, _pct(r.no_show_rate),
         r.down, r.overdue_followups]
        for r in d.referrals
    ]
    if d.slot_use:
        rows.append(["", "", "", "", "", "", "", ""])
        rows.append(["号源使用", "医院", "预留号数", "已约", "使用率", "预留床位", "", ""])
        rows += [["", hospital(u.hospital_code), u.capacity, u.booked, _pct(u.ratio), u.beds, "", ""]
                 for u in d.slot_use]
    return Sheet("双向转诊", ["县（市、区）", "接收医院", "上转", "已预约号源", "爽约", "爽约率", "下转", "随访逾期"],
                 [12, 18, 6, 10, 6, 8, 6, 8], rows)


def _lead_row(d: ReportData, lead: Lead) -> list[object]:
    return [
        lead.id,
        LEAD_SOURCE_LABELS[lead.source],
        lead.created_at_day.isoformat(),
        d.place_name(lead.place_code),
        d.institution_names.get(lead.institution_code or "", ""),
        lead.order_number or "",
        lead.score if lead.score is not None else "",
        lead.summary,
        lead.owner_name or "未指定",
        LEAD_STATUS_LABELS[lead.status],
        lead.resolution or "",
        lead.due.isoformat() if lead.due else "",
        lead.resolved_day.isoformat() if lead.resolved_day else "",
    ]


def title(d: ReportData) -> str:
    """The report's title line."""
    return f"{d.scope.label}巡诊工作报告（{d.period.label}，数据截至{d.as_of.year}年{month_day(d.as_of)}）"


# --- writers ----------------------------------------------------------------------------------------------


# Spreadsheet formula injection (OWASP "CSV Injection"): a text cell starting with one of these is read by
# Excel/WPS/LibreOffice as a formula (openpyxl itself stores any string starting with "=" as one). Staff names,
# lead summaries from hotline tickets and chat text reach the sheets, so such text gets a leading apostrophe.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell_value(v: object) -> object:
    """``v`` safe for a spreadsheet: text that could start a formula is prefixed with ``'``; numbers unchanged."""
    if isinstance(v, str) and v.startswith(FORMULA_START):
        return "'" + v
    return v


def _safe_row(row: Sequence[object]) -> list[object]:
    return [cell_value(v) for v in row]


def write_xlsx(d: ReportData, path: Path) -> Path:
    """One sheet per table: bold frozen header row, column widths, autofilter, landscape printing."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    # Write-only mode streams rows to the file: a city's year is ~100,000 cells.
    wb = Workbook(write_only=True)
    head_font, head_fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    head_align = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for sh in sheets(d):
        ws = wb.create_sheet(sh.name[:31])
        for i, w in enumerate(sh.widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = w * 2 + 2 if w < 12 else w * 1.6 + 2
        ws.freeze_panes = "A2"
        if sh.rows:
            ws.auto_filter.ref = f"A1:{get_column_letter(len(sh.headers))}{len(sh.rows) + 1}"
        ws.page_setup.orientation = "landscape"
        ws.oddHeader.center.text = title(d)
        header = []
        for h in sh.headers:
            cell = WriteOnlyCell(ws, value=cell_value(h))
            cell.font, cell.fill, cell.alignment = head_font, head_fill, head_align
            header.append(cell)
        if sh.note:
            header[0].comment = Comment(f"口径：{sh.note}", "巡诊", height=160, width=360)
        ws.append(header)
        for row in sh.rows:
            ws.append(_safe_row(row))
    wb.properties.title = title(d)
    wb.properties.creator = "巡诊 Xunzhen"
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def write_csv(d: ReportData, folder: Path) -> list[Path]:
    """One UTF-8 (with BOM, so Excel shows the Chinese) CSV per table in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, sh in enumerate(sheets(d), start=1):
        p = folder / f"{i:02d}_{sh.name}.csv"
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(_safe_row(sh.headers))
        w.writerows(_safe_row(r) for r in sh.rows)
        p.write_text(buf.getvalue(), encoding="utf-8-sig")
        out.append(p)
    return out


# Every ASCII punctuation mark CommonMark (and GFM: tables, autolinks, strikethrough) gives a meaning to; a
# backslash before any of them makes it literal. ``:`` stops www/http autolinks, ``<`` raw HTML.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>&~:=\"'])")


def md_escape(text: str) -> str:
    """Free text (lead summaries, names, resolutions) made literal in Markdown: one line, no markup, no HTML."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _md_cell(v: object) -> str:
    if isinstance(v, str):
        return md_escape(v)
    return str(v).replace("|", "\\|").replace("\n", " ")


def render_md(d: ReportData) -> str:
    """The report as Markdown (one section per table)."""
    lines = [f"# {md_escape(title(d))}", "", f"生成时间：{d.generated_at.astimezone(CHINA):%Y-%m-%d %H:%M}", ""]
    for sh in sheets(d):
        lines += [f"## {md_escape(sh.name)}", ""]
        if sh.note:
            lines += [f"口径：{md_escape(sh.note)}", ""]
        if not sh.rows:
            lines += ["（无）", ""]
            continue
        lines.append("| " + " | ".join(md_escape(h) for h in sh.headers) + " |")
        lines.append("|" + "---|" * len(sh.headers))
        lines += ["| " + " | ".join(_md_cell(v) for v in r) + " |" for r in sh.rows]
        lines.append("")
    return "\n".join(lines)


# --- charts -----------------------------------------------------------------------------------------------

CJK_FONTS = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
)


def _chinese_font() -> bool:
    """Use a CJK font if one is installed; False means labels fall back to English."""
    import logging

    import matplotlib
    from matplotlib import font_manager

    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)  # "findfont" noise about CJK weights
    names = {f.name for f in font_manager.fontManager.ttflist}
    found = [n for n in CJK_FONTS if n in names]
    if found:
        matplotlib.rcParams["font.sans-serif"] = [*found, "DejaVu Sans"]
        matplotlib.rcParams["axes.unicode_minus"] = False
    return bool(found)


def write_charts(d: ReportData, folder: Path) -> list[Path]:
    """PNG charts: monthly progress against target, the order funnel, wait times."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    zh = _chinese_font()
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    keys = [
        ("person_visits", "医师下基层人次", "physician visits"),
        ("patients", "诊疗人次", "patients"),
        ("special_consults", "特殊人群", "special populations"),
        ("training_person_times", "培训人次", "training"),
    ]
    fig, ax = plt.subplots(figsize=(9, 5), dpi=100)
    months = [m.month for m, _ in d.monthly]
    for key, label_zh, label_en in keys:
        target = d.targets.value(key)
        if not target:
            continue
        ax.plot(
            months, [100 * a.value(key) / target for _, a in d.monthly], marker="o", label=label_zh if zh else label_en
        )
    ax.plot(
        range(1, 13),
        [100 * m / 12 for m in range(1, 13)],
        linestyle="--",
        color="grey",
        label="时间进度" if zh else "time elapsed",
    )
    ax.set_xticks(range(1, 13))
    ax.set_xlabel("月份" if zh else "month")
    ax.set_ylabel("完成率 %" if zh else "% of yearly target")
    ax.set_title(f"{d.period.first.year}年目标进度" if zh else f"{d.period.first.year} progress against target")
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    out.append(_save(fig, folder / "progress.png"))

    fig, ax = plt.subplots(figsize=(9, 4.5), dpi=100)
    en = ["filed", "township passed", "circuit chosen", "scheduled", "served", "no-show"]
    labels = [s.label if zh else en[i] for i, s in enumerate(d.funnel)]
    ax.barh(labels[::-1], [s.count for s in d.funnel][::-1], color="#4472c4")
    for i, s in enumerate(d.funnel[::-1]):
        ax.text(s.count, i, f" {s.count}", va="center")
    ax.set_title(f"订单漏斗（{d.period.label}）" if zh else f"Order funnel {d.period.code}")
    out.append(_save(fig, folder / "funnel.png"))

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    en_bins = ["0-7 d", "8-14 d", "15-30 d", "31-60 d", ">60 d"]
    ax.bar(
        [label if zh else en_bins[i] for i, (label, _) in enumerate(d.waits.histogram)],
        [n for _, n in d.waits.histogram],
        color="#70ad47",
    )
    mean = d.waits.mean if d.waits.mean is not None else "—"
    ax.set_title(
        f"候诊天数（平均 {mean} 天，90%分位 {d.waits.p90 or '—'} 天）"
        if zh
        else f"Days from filing to visit (mean {mean}, p90 {d.waits.p90 or '-'})"
    )
    out.append(_save(fig, folder / "waits.png"))
    return out


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
