"""Two-way referral commands: a hospital's reserved slots (import, list) and its referrals (list, mark, discharge).

The same use cases as /slots and /referrals in chat (``handlers.services.referrals``); what the chat would tell
people goes through the outbox.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from pathlib import Path

from bot.cli.app import unit_of_work
from domain.errors import DomainError

MARKS = ("arrive", "see", "admit", "no_show", "cancel")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the referral sub-commands."""
    p = sub.add_parser("referral-slots", help="转诊号源：导入并列出支援医院为基层预留的号源 / a hospital's reserved "
                                              "referral slots: import a CSV, list")
    p.add_argument("--hospital", required=True, help="支援医院机构编码 / the hospital's institution code")
    p.add_argument("--import", dest="import_file",
                   help="CSV：date,half_day,specialty,capacity[,time][,place][,beds]（half_day 为 上午/下午）")
    p.add_argument("--days", type=int, default=14, help="列出今天起多少天 / days listed (default 14)")
    p.set_defaults(func=cmd_slots)

    p = sub.add_parser("referrals", help="上转病人：列出、标记状态、出院下转 / a hospital's referrals: list, mark, "
                                         "discharge with a follow-up plan")
    p.add_argument("--hospital", required=True, help="支援医院机构编码 / the hospital's institution code")
    p.add_argument("--by", help="执行的医院审核人员编码（标记、下转时必填）/ the hospital reviewer's staff code")
    p.add_argument("--mark", type=int, metavar="ID", help="要标记的转诊编号 / the referral to mark")
    p.add_argument("--as", dest="state", choices=MARKS, help="标记为 / mark as")
    p.add_argument("--reason", help="取消原因（--as cancel 时必填，会告诉居民和村医）/ why it is cancelled "
                                    "(told to the resident and the village doctor; required with --as cancel)")
    p.add_argument("--discharge", type=int, metavar="ID", help="出院下转的转诊编号 / the referral to discharge")
    p.add_argument("--plan", help="随访计划，如 “7天 测血压；30天 测血压” / the follow-up plan")
    p.add_argument("--template", help="随访模板：bp, glucose, wound, meds / a plan template")
    p.set_defaults(func=cmd_referrals)


def cmd_slots(args: argparse.Namespace) -> int:
    """Import slots from a CSV (all or nothing), then list the hospital's slots for the days ahead."""
    from bot.bootstrap import make_clock
    from handlers.services import today_of
    from handlers.services.referrals import parse_slot_csv, publish_slots, slot_line

    with unit_of_work() as (app, uow):
        now = make_clock(app.settings.fake_now)()
        if uow.reference.institution(args.hospital) is None:
            raise DomainError("institution.unknown", code=args.hospital)
        if args.import_file:
            text = Path(args.import_file).read_text(encoding="utf-8")
            done = publish_slots(uow, None, args.hospital, parse_slot_csv(text, args.hospital), now)
            uow.commit()
            print(json.dumps({"new": done.new, "updated": done.updated}), file=sys.stderr)
        today = today_of(now)
        for s in uow.referrals.slots(args.hospital, today, today + timedelta(days=max(1, args.days))):
            print(f"{s.id}\t{s.day.isoformat()}\t{slot_line(s)}")
    return 0


def cmd_referrals(args: argparse.Namespace) -> int:
    """List the hospital's open referrals; with --mark/--as or --discharge act as the reviewer named by --by."""
    from bot.bootstrap import make_clock
    from domain.followups import TEMPLATES, parse_plan
    from domain.referrals import ReferralAction
    from domain.staff import Role
    from handlers.services import Actor, queue
    from handlers.services.referrals import Discharged, discharge, mark, status_name

    with unit_of_work() as (app, uow):
        now = make_clock(app.settings.fake_now)()
        if uow.reference.institution(args.hospital) is None:
            raise DomainError("institution.unknown", code=args.hospital)
        acting = args.mark is not None or args.discharge is not None
        if acting:
            st = uow.staff.by_code(args.by or "")
            if st is None or not st.active or not st.has_role(Role.HOSPITAL_REVIEWER) \
                    or st.institution_code != args.hospital:
                raise DomainError("referral.cli_by", code=args.by or "", hospital=args.hospital)
            actor = Actor(st, Role.HOSPITAL_REVIEWER, uow.reference.jurisdiction(), {"origin": "cli"})
            if args.mark is not None:
                if not args.state:
                    raise DomainError("cli.usage", message="--mark 需要 --as", help="python -m bot referrals --help")
                done = mark(uow, actor, args.mark, ReferralAction(args.state), now, reason=args.reason)
                queue(uow, done.notices, now)
                print(f"{done.referral.id}\t{status_name(done.referral.status)}")
            else:
                if args.template:
                    if args.template not in TEMPLATES:
                        raise DomainError("referral.unknown_template", name=args.template,
                                          names=", ".join(TEMPLATES))
                    items = TEMPLATES[args.template][1]
                else:
                    items = parse_plan(args.plan) if args.plan else ()
                res = discharge(uow, actor, args.discharge, items, now)
                assert isinstance(res, Discharged)
                queue(uow, res.notices, now)
                print(f"{res.referral.id}\t{status_name(res.referral.status)}\t{res.referral.plan}")
            uow.commit()
            return 0
        for r in uow.referrals.of_hospital(args.hospital):
            order = uow.orders.get(r.order_id)
            slot = uow.referrals.slot(r.slot_id) if r.slot_id else None
            when = f"{slot.day.isoformat()} {slot.half_day.value}" if slot else "-"
            print(f"{r.id}\t{order.number if order else ''}\t{r.specialty}\t{r.status.value}\t{when}")
    return 0
