"""Circuit commands: plan (propose, optionally accept), worker (scheduler + sender), announce-sweep."""

from __future__ import annotations

import argparse
import json
import sys
from zoneinfo import ZoneInfo

from bot.cli.app import opened_app
from domain.errors import DomainError

CHINA = ZoneInfo("Asia/Shanghai")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the circuit sub-commands."""
    p = sub.add_parser("plan", help="巡诊排班：今天起 5 周已安排的和建议新增的巡诊 / the weeks ahead: circuits "
                                    "scheduled and proposed (and accept the proposal)")
    p.add_argument("--month", help="只排某个月（已过去的日子不排）/ that month instead, never a day in the past "
                                   "(YYYY-MM)")
    p.add_argument("--hospital", help="只排这家支援医院 / one supporting institution's code")
    p.add_argument("--accept", action="store_true", help="接受建议：新建巡诊并排入订单 / create the circuits")
    p.add_argument("--max-orders", type=int, default=None, help="最多列出多少个订单 / orders listed")
    p.add_argument("--outside-support", action="store_true",
                   help="允许在支援关系以外的地点新建巡诊：须同时给出 --hospital 与 --admin / allow places outside the "
                        "hospital's support relations (needs --hospital and --admin)")
    p.add_argument("--admin", help="执行的卫健委管理员人员编码（--outside-support 时必填）/ administrator's code")
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("worker", help="后台服务：定时任务与消息发送 / scheduler and outbox sender")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("announce-sweep", help="执行一次预告扫描 / one announcement sweep (cron, tests)")
    p.add_argument("--send", action="store_true", help="然后发送待发消息 / then drain the outbox")
    p.set_defaults(func=cmd_sweep)


def cmd_plan(args: argparse.Namespace) -> int:
    """Show the weeks ahead (or a month): circuits scheduled and proposed; with --accept store the proposal and
    notify. The same use cases as /plan in chat."""
    from domain.planning import parse_month

    month = parse_month(args.month) if args.month else None
    if args.outside_support and not (args.hospital and args.admin and args.accept):
        raise DomainError("plan.outside_support_usage")
    with opened_app() as app:
        return _plan(app, args, month)


def _plan(app, args: argparse.Namespace, month) -> int:
    from bot.bootstrap import make_clock
    from bot.calendar_cn import ChineseCalendar
    from bot.cli.progress import Progress
    from domain.circuits import month_day
    from domain.staff import Role
    from handlers.plan_text import plan_report
    from handlers.services import queue
    from handlers.services.planning import accept_plan, propose, read_plan

    now = make_clock(app.settings.fake_now)()
    today = now.astimezone(CHINA).date()
    progress = Progress("读取数据")
    admin = None
    with app.uow() as uow:
        if args.hospital and uow.reference.institution(args.hospital) is None:
            raise DomainError("institution.unknown", code=args.hospital)
        if args.outside_support:
            admin = uow.staff.by_code(args.admin)
            if admin is None or not admin.active or not admin.has_role(Role.ADMIN):
                raise DomainError("plan.not_admin", code=args.admin)
        request = read_plan(uow, today, args.hospital, month, progress)
    progress.finish()
    print(f"规划 {month_day(request.first)}至{month_day(request.last)}：{len(request.inputs.orders)} 个待排订单，"
          f"{len(request.inputs.experts)} 名人员 …", file=sys.stderr)
    view = propose(request, ChineseCalendar(app.settings.extra_holidays))
    proposal = view.proposal
    print(plan_report(view, max_orders=args.max_orders))
    if not args.accept:
        return 0
    with app.uow() as uow:
        # The command line acts for each hospital's reviewer, through the same use case as /plan in chat.
        accepted = accept_plan(uow, None, now, proposal, outside_support_by=admin, outside_support_for=args.hospital)
        queue(uow, accepted.notices, now)  # no chat of its own: everyone hears through the outbox
        uow.commit()
    for c in accepted.refused:
        print(f"未新建：{c.place_code} 不在 {c.hospital_code} 的支援范围内 / refused: outside support", file=sys.stderr)
    for st in accepted.experts.unreachable:
        print(f"未能通知专家 {st.name}（{st.code}）：未绑定聊天账号，请电话告知 / expert not reachable by chat",
              file=sys.stderr)
    print(json.dumps({"circuits_created": len(accepted.circuits), "orders_scheduled": len(accepted.scheduled),
                      "circuits_refused": len(accepted.refused), "experts_told": len(accepted.experts.reached),
                      "experts_unreachable": len(accepted.experts.unreachable)}), file=sys.stderr)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Run the scheduler and the sender until SIGTERM."""
    from bot.jobs.worker import run_worker

    with opened_app() as app:
        return run_worker(app)


def cmd_sweep(args: argparse.Namespace) -> int:
    """One announcement sweep; prints what it did as JSON."""
    with opened_app() as app:
        return _sweep(app, args)


def _sweep(app, args: argparse.Namespace) -> int:
    import asyncio

    from bot.bootstrap import build_channels, make_clock
    from bot.delivery.sender import Sender, shared_budget
    from bot.jobs.worker import remind_remote_sessions
    from handlers.services.announcements import Announcer

    clock = make_clock(app.settings.fake_now)
    res = Announcer(app.uow, clock, app.settings.worker.reminders, sms=app.settings.sms.provider is not None).sweep()
    remote = remind_remote_sessions(app, clock())
    out: dict[str, object] = {"reminders_created": res.reminders_created, "fanned_out": res.fanned_out,
                              "skipped": res.skipped, "recipients": res.recipients, "briefed": res.briefed,
                              "remote_reminders": remote.sessions,
                              "next_due": res.next_due.isoformat() if res.next_due else None}
    if args.send:
        # The same per-token budget as the workers: a sweep run by hand beside them never breaks a platform limit.
        shared = {"telegram": shared_budget(app.uow, str(app.settings.database_url), "telegram",
                                            app.settings.telegram_token, app.settings.send_rate)} \
            if app.settings.telegram_token else {}
        sender = Sender(app.uow, build_channels(app), clock=clock, shared=shared)
        stats = asyncio.run(sender.drain(timeout=3600))
        out["sent"] = stats.sent
    print(json.dumps(out, ensure_ascii=False))
    return 0
