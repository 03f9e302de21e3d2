"""Report commands: report, dashboard, set-password, lead (12345 hotline and rectification), absence, target."""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.cli.app import opened_app, parse_day, staff_id, unit_of_work
from domain.errors import DomainError

if TYPE_CHECKING:
    from bot.bootstrap import App

CHINA = ZoneInfo("Asia/Shanghai")
FORMATS = ("xlsx", "csv", "md")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the report and dashboard sub-commands."""
    p = sub.add_parser("report", help="医政科报表：工作台账、目标进度、规则预警、逾期地点、问题线索 / reports")
    p.add_argument("--period", required=True, help="2026-11（月）、2026-Q4（季度）或 2026（年）")
    p.add_argument("--county", help="县（市、区）编码，如 350421；默认全市 / county code (default: the city)")
    p.add_argument("--format", choices=FORMATS, default="xlsx")
    p.add_argument("--out", type=Path, help="输出文件（csv 为目录；默认写到数据目录下的 reports/）/ output file "
                   "(a folder for csv; default: reports/ in the data directory)")
    p.add_argument("--charts", type=Path, help="把图表 PNG 写到此目录 / write PNG charts to this folder")
    p.add_argument("--as-of", help="数据截至日期 YYYY-MM-DD（默认今天）/ as-of date (default today)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("dashboard", help="启动只读网页看板 / start the read-only web dashboard")
    p.add_argument("--listen", default="127.0.0.1:8081", help="HOST:PORT")
    p.add_argument(
        "--secure-cookie",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="会话 cookie 加 Secure（需 HTTPS）；默认：非本机地址开启 / Secure session cookie "
        "(default: on unless --listen is loopback; env XUNZHEN_DASHBOARD_SECURE_COOKIE)",
    )
    p.set_defaults(func=cmd_dashboard)

    p = sub.add_parser("set-password", help="设置看板登录密码（从标准输入读取）/ set a dashboard password")
    p.add_argument("--staff", required=True, help="人员编码 / staff code (role admin or hospital_reviewer)")
    p.set_defaults(func=cmd_set_password)

    p = sub.add_parser("lead", help="问题线索：登记12345热线投诉、指定责任人、整改办结 / problem leads")
    lsub = p.add_subparsers(dest="lead_command", metavar="ACTION", required=True)
    a = lsub.add_parser("add", help="登记一条线索（如12345热线工单）/ add a lead")
    a.add_argument("--source", choices=["hotline", "complaint", "inspection"], default="hotline")
    a.add_argument("--summary", required=True, help="问题描述 / what the complaint says")
    a.add_argument("--place", help="涉及地点编码 / place code")
    a.add_argument("--institution", help="涉及机构编码 / institution code")
    a.add_argument("--order", help="相关订单号 XZ-… / related order number")
    a.add_argument("--ticket", help="12345 工单号 / hotline ticket number")
    a.add_argument("--owner", help="责任人人员编码 / owner staff code")
    a.add_argument("--by", help="登记人人员编码 / who enters it")
    a.add_argument("--due", help="整改期限 YYYY-MM-DD（默认30天）/ rectification deadline")
    a.set_defaults(func=cmd_lead_add)
    u = lsub.add_parser("update", help="指定责任人、改状态、填写处理结果 / update a lead")
    u.add_argument("--id", type=int, required=True)
    u.add_argument("--owner", help="责任人人员编码 / owner staff code")
    u.add_argument("--status", choices=["open", "in_progress", "resolved", "closed"])
    u.add_argument("--resolution", help="处理结果 / resolution")
    u.set_defaults(func=cmd_lead_update)

    p = sub.add_parser("absence", help="登记专家缺席计划巡诊（原因可空：无故缺席）/ record an absence")
    p.add_argument("--circuit", type=int, required=True)
    p.add_argument("--staff", required=True, help="缺席专家的人员编码 / staff code")
    p.add_argument("--reason", default="", help="缺席原因；不填即无故缺席 / reason (empty: without reason)")
    p.set_defaults(func=cmd_absence)

    p = sub.add_parser("target", help="设定年度目标 / set a yearly target")
    p.add_argument("--place", required=True, help="市或县编码 / city or county code")
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--set", nargs="+", required=True, metavar="KEY=VALUE", help="如 lectures=80 patients=7000")
    p.set_defaults(func=cmd_target)

    p = sub.add_parser("key-physician", help="标记骨干医师（每年≥30天）/ mark key physicians")
    p.add_argument("--year", type=int, required=True)
    p.add_argument("staff", nargs="+", help="人员编码 / staff codes")
    p.set_defaults(func=cmd_key_physician)


def _now(app: App) -> datetime:
    """Now, by the service's one clock: the real one, or the fake one of ``XUNZHEN_FAKE_NOW`` (demos, tests)."""
    from bot.bootstrap import make_clock

    return make_clock(app.settings.fake_now)()


def default_out(var_dir: Path, period_code: str, county: str | None, fmt: str) -> Path:
    """``<data directory>/reports/report-2026-11[-350421].xlsx`` (a folder for csv): never the working directory,
    which is the code's own folder when run by ``make``."""
    stem = f"report-{period_code}" + (f"-{county}" if county else "")
    return var_dir / "reports" / (stem if fmt == "csv" else f"{stem}.{fmt}")


def make_report(
    uow,
    period_text: str,
    county: str | None,
    fmt: str,
    out: Path,
    now: datetime,
    as_of: date | None = None,
    charts: Path | None = None,
    progress=None,
) -> list[Path]:
    """Gather and write one report; returns the files written."""
    from bot.web.reports import render_md, write_charts, write_csv, write_xlsx
    from domain.ledgers import parse_period
    from handlers.services.ledgers import report_figures

    period = parse_period(period_text)
    # No reader: whoever runs the command line holds the database, and may ask for any county (or the city).
    data = report_figures(uow, None, period, as_of or now.astimezone(CHINA).date(), now, county, progress)
    if progress:
        progress("写入")
    if fmt == "xlsx":
        files = [write_xlsx(data, out)]
    elif fmt == "csv":
        files = write_csv(data, out)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render_md(data), encoding="utf-8")
        files = [out]
    if charts is not None:
        files += write_charts(data, charts)
        if progress:
            progress("图表")
    return files


def cmd_report(args: argparse.Namespace) -> int:
    """Write the report for a month, quarter or year; print the path of every file written."""
    from bot.cli.progress import Progress
    from domain.ledgers import parse_period

    period = parse_period(args.period)
    as_of = parse_day(args.as_of, "--as-of")
    progress = Progress("生成报表 / report")
    with unit_of_work() as (app, uow):
        out = args.out or default_out(app.settings.var_dir, period.code, args.county, args.format)
        files = make_report(uow, args.period, args.county, args.format, out, _now(app), as_of, args.charts, progress)
    secs = progress.finish()
    for f in files:
        print(f.resolve())
    print(f"用时 {secs:.2f} 秒 / done in {secs:.2f}s", file=sys.stderr)
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    """Serve the dashboard until interrupted."""
    from aiohttp import web

    from bot.bootstrap import make_clock
    from bot.transports.sms import callbacks as sms_callbacks
    from bot.web.dashboard import DashboardServices, make_app, secure_cookie_for

    host, _, port = args.listen.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit():
        raise DomainError("cli.bad_listen", text=args.listen)
    with opened_app() as app:
        secure = secure_cookie_for(host, args.secure_cookie, app.settings.dashboard_secure_cookie)
        shown = f"[{host}]" if ":" in host else host
        cookie = "Secure cookie" if secure else "cookie without Secure: loopback/HTTP only"
        print(f"看板已启动 / dashboard on http://{shown}:{port}/ ({cookie})", file=sys.stderr)
        web.run_app(
            make_app(DashboardServices(uow=app.uow, clock=make_clock(app.settings.fake_now), secure_cookie=secure,
                                        cipher=app.settings.cipher(),
                                        callbacks=sms_callbacks.build(app, make_clock(app.settings.fake_now)))),
            host=host,
            port=int(port),
            print=None,
        )
    return 0


def cmd_set_password(args: argparse.Namespace) -> int:
    """Read a password (twice on a terminal, once from a pipe) and store its argon2 hash."""
    from bot.web.dashboard import MIN_PASSWORD, hash_password
    from handlers.services.ledgers import may_use_dashboard

    if sys.stdin.isatty():
        pw = getpass.getpass("新密码 / new password: ")
        if pw != getpass.getpass("再输入一次 / again: "):
            raise DomainError("password.differ")
    else:
        pw = sys.stdin.readline().rstrip("\r\n")
    with unit_of_work() as (app, uow):
        st = uow.staff.by_code(args.staff)
        if st is None or st.id is None:
            raise DomainError("staff.unknown", code=args.staff)
        if not may_use_dashboard(st):
            raise DomainError("password.not_allowed", name=st.name, code=st.code)
        if len(pw) < MIN_PASSWORD:
            raise DomainError("password.short", min=MIN_PASSWORD)
        uow.ledgers.set_password_hash(st.id, hash_password(pw), _now(app))
        uow.commit()
    print(f"已设置 {st.name}（{st.code}）的看板密码 / password set")
    return 0


def cmd_lead_add(args: argparse.Namespace) -> int:
    """Add a problem lead (a 12345 hotline ticket, a complaint or an inspection finding)."""
    from domain.ledgers import LeadSource

    due = parse_day(args.due, "--due")
    with unit_of_work() as (app, uow):
        order_id = None
        place = args.place
        if args.order:
            o = uow.orders.by_number(args.order)
            if o is None:
                raise DomainError("order.unknown", number=args.order)
            order_id, place = o.id, place or o.village_code
        if place and uow.reference.place(place) is None:
            raise DomainError("place.unknown", code=place)
        if args.institution and uow.reference.institution(args.institution) is None:
            raise DomainError("institution.unknown", code=args.institution)
        lead_id = uow.ledgers.add_lead(
            LeadSource(args.source),
            args.summary,
            now=_now(app),
            place_code=place,
            institution_code=args.institution,
            order_id=order_id,
            owner_staff_id=staff_id(uow, args.owner),
            created_by_staff_id=staff_id(uow, args.by),
            hotline_ticket=args.ticket,
            due=due,
        )
        uow.commit()
    print(f"已登记问题线索 {lead_id} / lead {lead_id} added")
    return 0


def cmd_lead_update(args: argparse.Namespace) -> int:
    """Assign, move or resolve a lead."""
    from domain.ledgers import LeadStatus

    with unit_of_work() as (app, uow):
        uow.ledgers.update_lead(
            args.id,
            now=_now(app),
            status=LeadStatus(args.status) if args.status else None,
            owner_staff_id=staff_id(uow, args.owner),
            resolution=args.resolution,
        )
        uow.commit()
    print(f"已更新问题线索 {args.id} / lead updated")
    return 0


def cmd_absence(args: argparse.Namespace) -> int:
    """Record an expert's absence from a planned circuit."""
    with unit_of_work() as (app, uow):
        sid = staff_id(uow, args.staff)
        assert sid is not None
        uow.ledgers.record_absence(args.circuit, sid, args.reason, None, _now(app))
        uow.commit()
    print("已登记缺席" + ("（无故）" if not args.reason.strip() else f"：{args.reason.strip()}"))
    return 0


def cmd_target(args: argparse.Namespace) -> int:
    """Set yearly targets for a city or county."""
    from domain.places import PlaceLevel

    figures: list[tuple[str, float]] = []
    for item in args.set:
        key, sep, value = item.partition("=")
        try:
            figures.append((key.strip(), float(value)))
        except ValueError:
            raise DomainError("ledger.bad_target_item", item=item) from None
        if not sep or not key.strip():
            raise DomainError("ledger.bad_target_item", item=item)
    with unit_of_work() as (_app, uow):
        place = uow.reference.place(args.place)
        if place is None:
            raise DomainError("place.unknown", code=args.place)
        if place.level not in (PlaceLevel.CITY, PlaceLevel.COUNTY):
            county = uow.reference.gazetteer().ancestor_at(place.code, PlaceLevel.COUNTY)
            raise DomainError("ledger.target_not_area", code=place.code, name=place.name,
                              county=county.code if county else "350421")
        for key, value in figures:
            uow.ledgers.set_target(args.place, args.year, key, value)
        uow.commit()
    print("已保存年度目标 / targets saved")
    return 0


def cmd_key_physician(args: argparse.Namespace) -> int:
    """Mark staff as key physicians for a year."""
    with unit_of_work() as (_app, uow):
        for code in args.staff:
            sid = staff_id(uow, code)
            assert sid is not None
            uow.ledgers.set_key_physician(sid, args.year)
        uow.commit()
    print(f"已标记 {len(args.staff)} 名骨干医师 / marked")
    return 0
