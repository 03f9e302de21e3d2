"""Remote consultations on the command line (issue 20): ``remote list|schedule|move|cancel|outcome|no-show``.

The same use cases as chat (``handlers.services.remote``), acting as the member of staff named by ``--by`` with the
same checks (a hospital reviewer schedules, moves and cancels; the session's expert records the outcome). Everyone
hears through the outbox, as from chat; a refusal is one sentence in Chinese and English, exit status 2.
"""

from __future__ import annotations

import argparse
import json

from bot.cli.app import unit_of_work
from domain.errors import DomainError

ROLE_OF = {"schedule": "hospital_reviewer", "move": "hospital_reviewer", "cancel": "hospital_reviewer",
           "outcome": "expert", "no-show": None}


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``remote`` sub-commands."""
    p = sub.add_parser("remote", help="远程会诊：列出、安排、改期、取消、登记结果 / remote consultations: list, "
                                      "schedule, move, cancel, record the outcome")
    rsub = p.add_subparsers(dest="remote_command", metavar="ACTION", required=True)

    q = rsub.add_parser("list", help="待进行的远程会诊 / scheduled sessions, soonest first")
    q.add_argument("--hospital", help="只列这家医院的 / one hospital's code")
    q.add_argument("--all", action="store_true", help="也列出已会诊、改期、取消、未到场的 / every state")
    q.set_defaults(func=cmd_list)

    q = rsub.add_parser("schedule", help="把一个已初审的订单安排为远程会诊 / dispose an approved order as remote")
    q.add_argument("--order", required=True, help="订单号，如 XZ-20261123-0001 / order number")
    q.add_argument("--expert", required=True, help="专家人员编码，如 S0003 / the expert's staff code")
    q.add_argument("--site", required=True, help="居民参加会诊的卫生院或村卫生所编码 / where the resident sits "
                                                 "(institution code)")
    q.add_argument("--at", required=True, help="会诊时间，如 \"2026-11-25 15:00\" / date and time (Sanming)")
    q.add_argument("--room", required=True, help="会诊链接或会议室 / meeting link or room")
    q.add_argument("--by", required=True, help="执行的医院审核人员编码 / the hospital reviewer's staff code")
    q.set_defaults(func=cmd_schedule)

    q = rsub.add_parser("move", help="改期（须写原因）/ move to another time, with a reason")
    q.add_argument("--session", required=True, help="会诊编号，如 RC1 / session id")
    q.add_argument("--at", required=True, help="新时间 / the new date and time")
    q.add_argument("--reason", required=True, help="改期原因 / why")
    q.add_argument("--by", required=True, help="执行的医院审核人员编码 / the hospital reviewer's staff code")
    q.set_defaults(func=cmd_move)

    q = rsub.add_parser("cancel", help="取消（须写原因）/ cancel, with a reason")
    q.add_argument("--session", required=True, help="会诊编号 / session id")
    q.add_argument("--reason", required=True, help="取消原因 / why")
    q.add_argument("--by", required=True, help="执行的医院审核人员编码 / the hospital reviewer's staff code")
    q.set_defaults(func=cmd_cancel)

    q = rsub.add_parser("outcome", help="专家登记会诊结果 / the expert records the outcome")
    q.add_argument("--session", required=True, help="会诊编号 / session id")
    q.add_argument("--advice", required=True, help="会诊意见 / advice")
    q.add_argument("--refer-up", action="store_true", help="需要上转 / refer the resident up")
    q.add_argument("--plan", help="随访计划 / follow-up plan")
    q.add_argument("--by", required=True, help="会诊专家的人员编码 / the session's expert")
    q.set_defaults(func=cmd_outcome)

    q = rsub.add_parser("no-show", help="居民未到场 / the resident did not come")
    q.add_argument("--session", required=True, help="会诊编号 / session id")
    q.add_argument("--by", required=True, help="专家或医院审核人员编码 / the expert or the hospital reviewer")
    q.set_defaults(func=cmd_no_show)


def _actor(uow, code: str, role_value: str | None):
    from domain.staff import Role
    from handlers.services import Actor

    st = uow.staff.by_code(code)
    if st is None or st.id is None or not st.active:
        raise DomainError("staff.unknown", code=code)
    roles = [Role(role_value)] if role_value else [Role.EXPERT, Role.HOSPITAL_REVIEWER]
    role = next((r for r in roles if st.has_role(r)), None)
    if role is None:
        raise DomainError("perm.action_not_for_role", role=roles[0].value)
    return Actor(st, role, uow.reference.jurisdiction(), {"via": "cli"})


def _when(text: str, now):
    from domain.remote import read_when
    from handlers.services import today_of

    at = read_when(text, today_of(now))
    if at is None:
        raise DomainError("remote.cli.bad_when", text=text)
    return at


def _now(app):
    from bot.bootstrap import make_clock

    return make_clock(app.settings.fake_now)()


def _finish(uow, done, now, what: str) -> int:
    from handlers.services import queue
    from handlers.services.orders import Decided

    decided: Decided | None = done.decided
    if decided is not None and not decided.done:
        raise DomainError("remote.order_not_open", number=decided.order.number,
                          status=decided.order.status.value)
    queued = queue(uow, done.notices, now)
    uow.commit()
    s = done.session
    print(json.dumps({"done": what, "session": s.entity_id if s else None, "status": s.status.value if s else None,
                      "messages_queued": queued}, ensure_ascii=False))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """Print the sessions (one JSON object a line: scripts read it; no resident names)."""
    from domain.remote import SessionStatus, wall_clock

    with unit_of_work() as (_app, uow):
        statuses = list(SessionStatus) if args.all else [SessionStatus.SCHEDULED]
        if args.hospital and uow.reference.institution(args.hospital) is None:
            raise DomainError("institution.unknown", code=args.hospital)
        found = uow.remote.upcoming(hospital_codes=[args.hospital] if args.hospital else None, statuses=statuses,
                                    limit=1000)
        for s in found:
            order = uow.orders.get(s.order_id)
            expert = uow.staff.get(s.expert_id)
            print(json.dumps({"session": s.entity_id, "status": s.status.value, "when": wall_clock(s.starts_at),
                              "starts_at": s.starts_at.isoformat(), "order": order.number if order else None,
                              "expert": expert.code if expert else None, "site": s.site_code, "room": s.room,
                              "hospital": s.hospital_code, "refer_up": s.refer_up}, ensure_ascii=False))
    return 0


def cmd_schedule(args: argparse.Namespace) -> int:
    """Dispose the order as remote and schedule its session."""
    from handlers.services import remote

    with unit_of_work() as (app, uow):
        now = _now(app)
        actor = _actor(uow, args.by, ROLE_OF["schedule"])
        order = uow.orders.by_number(args.order.strip())
        if order is None:
            raise DomainError("order.unknown", number=args.order)
        expert = uow.staff.by_code(args.expert)
        if expert is None:
            raise DomainError("staff.unknown", code=args.expert)
        done = remote.schedule(uow, actor, now, order.id, expert.id, args.site, _when(args.at, now), args.room)
        return _finish(uow, done, now, "scheduled")


def cmd_move(args: argparse.Namespace) -> int:
    """Move a session to another time."""
    from handlers.services import remote

    with unit_of_work() as (app, uow):
        now = _now(app)
        done = remote.move(uow, _actor(uow, args.by, ROLE_OF["move"]), now, args.session, _when(args.at, now),
                           args.reason)
        return _finish(uow, done, now, "moved")


def cmd_cancel(args: argparse.Namespace) -> int:
    """Cancel a session."""
    from handlers.services import remote

    with unit_of_work() as (app, uow):
        now = _now(app)
        done = remote.cancel(uow, _actor(uow, args.by, ROLE_OF["cancel"]), now, args.session, args.reason)
        return _finish(uow, done, now, "cancelled")


def cmd_outcome(args: argparse.Namespace) -> int:
    """Record the outcome (the session's expert)."""
    from handlers.services import remote

    with unit_of_work() as (app, uow):
        now = _now(app)
        done = remote.record_outcome(uow, _actor(uow, args.by, ROLE_OF["outcome"]), now, args.session, args.advice,
                                     args.refer_up, args.plan)
        return _finish(uow, done, now, "held")


def cmd_no_show(args: argparse.Namespace) -> int:
    """Record that the resident did not come."""
    from handlers.services import remote

    with unit_of_work() as (app, uow):
        now = _now(app)
        done = remote.mark_no_show(uow, _actor(uow, args.by, ROLE_OF["no-show"]), now, args.session)
        return _finish(uow, done, now, "no_show")
