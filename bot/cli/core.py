"""Core commands: migrate, seed, import, status, run."""

from __future__ import annotations

import argparse
import signal
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.cli.app import opened_app, unit_of_work
from bot.demo.run import demo_files, run_demo
from domain.errors import DomainError

CHINA = ZoneInfo("Asia/Shanghai")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the core sub-commands."""
    p = sub.add_parser("run", help="启动服务（默认：本地数据库 + 本地对话）/ start the service")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("migrate", help="创建或升级数据库结构 / create or upgrade the schema")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("seed", help="载入演示数据 / load reference data")
    p.add_argument("--demo", action="store_true", required=True, help="三明市演示数据 / the Sanming demo data")
    p.set_defaults(func=cmd_seed)

    p = sub.add_parser(
        "import",
        help="导入参考数据 CSV（UTF-8 或 GBK）/ import reference CSV files",
        description="Files: places.csv, institutions.csv, support.csv, staff.csv, residents.csv "
        "(kind detected from the header; see README). All files are checked together and written "
        "in one transaction: any error rejects the whole batch.",
    )
    p.add_argument("files", nargs="+", type=Path)
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("status", help="显示已载入的数据 / summary of what is loaded")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("invite", help="生成一次性邀请码 / create a one-time invite code for staff")
    p.add_argument("--role", required=True, choices=[r.value for r in _roles()])
    p.add_argument("--institution", required=True, help="机构编码 / institution code, e.g. TC350421101")
    p.add_argument("--staff", help="绑定到已有人员编码 / bind to an existing staff code (optional)")
    p.add_argument("--bot-username", default=None, help="Telegram 机器人用户名，用于生成深链接 / for the deep link")
    p.set_defaults(func=cmd_invite)

    p = sub.add_parser(
        "audit",
        help="查看某居民数据的访问记录 / who read or changed a resident's data",
        description="按姓名（同名时加村）或订单号找到居民 / find the resident by name (and village) or by an order "
        "number, e.g. --resident 邱瑞鹏 --village 城东村（示例）, or --order XZ-20261204-0001",
    )
    p.add_argument("--resident", help="居民姓名 / the resident's name")
    p.add_argument("--village", help="村名或村编码（同名居民时）/ the village's name or code, for a shared name")
    p.add_argument("--order", help="该居民的任一订单号 / any order number of the resident")
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("purge", help="按保存期限清除已结案订单的自由文本 / retention purge of closed orders' text")
    p.set_defaults(func=cmd_purge)

    p = sub.add_parser("demo", help="运行脚本化演示并打印对话记录 / run the scripted demo and print the transcript")
    p.set_defaults(func=cmd_demo)


def _roles():
    from domain.staff import Role

    return list(Role)


def cmd_migrate(args: argparse.Namespace) -> int:
    """Create or upgrade the schema."""
    from storage.db import current_revision

    with opened_app() as app:
        print(f"数据库已是最新结构 / schema at revision {current_revision(app.engine)}")
    return 0


def load_files(app, files: dict[str, bytes], title: str) -> int:
    """Import ``files`` as one batch with progress; prints a report or the row errors. Returns exit code."""
    from bot.cli.progress import Progress
    from domain.reference import ImportRejected
    from storage.reference import import_files

    progress = Progress(title)
    try:
        with app.uow() as uow:
            report = import_files(uow, files, datetime.now(CHINA).date(), progress)
    except ImportRejected as e:
        progress.finish()
        print(
            f"导入被拒绝，未写入任何数据 / import rejected, nothing written ({len(e.errors)} errors):", file=sys.stderr
        )
        for err in e.errors[:200]:
            print(f"  {err}", file=sys.stderr)
        if len(e.errors) > 200:
            print(f"  … 另有 {len(e.errors) - 200} 处 / {len(e.errors) - 200} more", file=sys.stderr)
        return 1
    progress.finish()
    for kind in sorted(set(report.changed) | set(report.unchanged)):
        print(
            f"{kind}: 新增或更新 {report.changed.get(kind, 0)} 条，未变 {report.unchanged.get(kind, 0)} 条"
            f" / {report.changed.get(kind, 0)} written, {report.unchanged.get(kind, 0)} unchanged"
        )
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    """Load the Sanming demo data (idempotent: a second run changes nothing)."""
    with opened_app() as app:
        return load_files(app, demo_files(), "载入演示数据")


def cmd_import(args: argparse.Namespace) -> int:
    """Import reference CSV files as one all-or-nothing batch."""
    files = {}
    for path in args.files:
        if not path.is_file():
            raise DomainError("cli.no_such_file", path=str(path))
        files[path.name] = path.read_bytes()
    with opened_app() as app:
        return load_files(app, files, "导入")


def summary(app) -> str:
    """A short human-readable summary of what the database holds."""
    from domain.staff import Role

    with app.uow() as uow:
        c = uow.reference.counts()
        lines = [
            f"数据库 / database: {app.engine.url.render_as_string(hide_password=True)}",
            f"地点 / places: 市 {c.get('places.city', 0)}，县区 {c.get('places.county', 0)}，"
            f"乡镇 {c.get('places.township', 0)}，行政村 {c.get('places.village', 0)}",
            f"机构 / institutions: 村卫生所 {c.get('institutions.village_post', 0)}，"
            f"卫生院 {c.get('institutions.township_center', 0) + c.get('institutions.community_center', 0)}，"
            f"县级医院 {c.get('institutions.county_hospital', 0)}，市级医院 {c.get('institutions.city_hospital', 0)}，"
            f"省级医院 {c.get('institutions.provincial_hospital', 0)}",
            f"支援关系 / support relations: {c.get('support_relations', 0)}；"
            f"诊疗科目 / specialties: {c.get('specialties', 0)}",
            "人员 / staff: " + "，".join(f"{r.value} {uow.staff.count(r)}" for r in Role),
            f"居民 / residents: {uow.residents.count()}；订单 / orders: {sum(uow.orders.count_by_status().values())}",
        ]
    return "\n".join(lines)


def cmd_status(args: argparse.Namespace) -> int:
    """Print what is loaded."""
    with opened_app() as app:
        print(summary(app))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Migrate, load the demo data on first run, and start the configured transports."""
    with opened_app() as app:
        with app.uow() as uow:
            empty = not uow.reference.counts().get("places.city")
        if empty:
            print("首次运行：载入三明市演示数据 / first run: loading the Sanming demo data")
            if load_files(app, demo_files(), "载入演示数据"):
                return 1
        print(summary(app))
        return _serve(app)


def _serve(app) -> int:
    """Run the configured transports with the scheduler and the sender until they stop."""
    import asyncio

    from bot import transports
    from bot.bootstrap import build_conversation

    entry_points = [transports.load(name) for name in app.settings.transports]
    conversation = build_conversation(app)

    async def serve_all() -> None:
        from bot.jobs import worker

        stop = asyncio.Event()
        # systemd and docker stop a service with SIGTERM: finish the updates in hand, then exit cleanly.
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        tasks = [asyncio.create_task(serve(app, conversation, stop)) for serve in entry_points]
        # One process is a whole deployment on the embedded default: the scheduler (announcements, draft
        # reminders, retention) and the outbox sender run beside the chat transports.
        background = asyncio.create_task(worker.serve(app, stop, quiet=True))
        # The console ends the process when its user quits; network transports run until interrupted. If the
        # scheduler and sender stop on their own, that is a failure: announcements would silently stop.
        done, pending = await asyncio.wait([*tasks, background], return_when=asyncio.FIRST_COMPLETED)
        requested = stop.is_set()  # SIGTERM: everything stops because it was asked to
        stop.set()
        _, late = await asyncio.wait(pending, timeout=15)
        for task in late:
            task.cancel()
        for task in done:
            task.result()
        if background in done and not requested:
            raise RuntimeError("the scheduler and sender stopped unexpectedly")

    try:
        asyncio.run(serve_all())
    except KeyboardInterrupt:
        print("\n再见 / bye")
    return 0


def cmd_invite(args: argparse.Namespace) -> int:
    """Create a one-time invite code (only its hash is stored) and print it with a deep link."""
    from datetime import UTC

    from domain.staff import Role
    from handlers.onboarding import INVITE_TTL, create_invite

    with unit_of_work() as (_app, uow):
        code = create_invite(uow, Role(args.role), args.institution, args.staff, datetime.now(UTC))
        uow.commit()
    print(
        f"邀请码 / invite code: {code}（{INVITE_TTL.days} 天内有效，只能使用一次 / valid {INVITE_TTL.days} days, once）"
    )
    print(f"在聊天中发送 / send in the chat: /start {code}")
    if args.bot_username:
        print(f"深链接 / deep link: https://t.me/{args.bot_username}?start={code}")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    """Print the access audit of one resident, found by name (and village) or by one of their order numbers."""
    from bot.jobs.privacy import access_report
    from handlers.services.residents import resident_for_audit

    with opened_app() as app:
        with app.uow() as uow:
            resident_id = resident_for_audit(uow, args.resident, args.village, args.order)
        lines = access_report(app, resident_id)
    print("\n".join(lines) if lines else "没有记录 / no events")
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    """Run the retention purge once (the worker also runs it every hour)."""
    from datetime import UTC

    from bot.jobs.privacy import purge_chat_leftovers, purge_expired_free_text

    now = datetime.now(UTC)
    with opened_app() as app:
        n = purge_expired_free_text(app, now)
        buttons, updates = purge_chat_leftovers(app, now)
        days = app.settings.retention_days
    print(f"已清除 {n} 条已结案订单的需求描述（保存期限 {days} 天）/ purged {n} orders")
    print(f"已清除 {buttons} 个过期按钮、{updates} 条过期的消息编号 / purged {buttons} buttons, {updates} update ids")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the scripted demo on a throwaway database; exit 0 only if every step behaved as expected."""

    return run_demo()
