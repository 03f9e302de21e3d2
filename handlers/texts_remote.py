"""Texts of remote consultations (远程会诊), added to the one catalogue in ``handlers.texts`` (and the command
line's English sentences for its refusals)."""

from __future__ import annotations

from handlers.texts import TEXTS, t
from handlers.texts_cli import ENGLISH

TEXTS.update(
    {
        # --- the hospital reviewer schedules --------------------------------------------------------------------
        "remote.choose_expert": "请选择远程会诊的专家（本专科在前）：",
        "remote.no_expert": "本院还没有可安排的专家，请先在人员名单中添加。",
        "remote.expert_line": "{name}（{title}）",
        "remote.choose_site": "居民在哪里参加会诊？",
        "remote.ask_when": "请输入会诊日期和时间，例如：11月25日 15:00、2026-11-25 15:00 或 明天下午3点",
        "remote.bad_when": "没看懂这个时间。请输入会诊日期和时间，例如：11月25日 15:00 或 明天下午3点",
        "remote.in_the_past": "这个时间已经过去了，请输入以后的时间，例如：明天下午3点",
        "remote.too_far": "会诊时间请安排在一年以内。",
        "remote.ask_room": "请输入会诊链接或会议室（例如：腾讯会议 123-456-789，或 县医院远程会诊室）：",
        "remote.room.empty": "请输入会诊链接或会议室，不能为空。",
        "remote.room.meaningless": "没看懂这个会诊链接或会议室，请输入链接、会议号或会议室名称。",
        "remote.room.too_long": "会诊链接或会议室过长（最多 {limit} 字），请输入短一些的链接或会议号。",
        "remote.note": "{when}｜{expert}｜{site}｜{room}",
        "remote.scheduled": (
            "已安排远程会诊 {session}：订单 {number}，{when}，专家 {expert}，居民在{site}参加，{room}。"
            "已通过消息通知专家、乡镇卫生院、村医和已关联的居民。"
        ),
        # --- listing, moving, cancelling ------------------------------------------------------------------------
        "remote.none": "目前没有待进行的远程会诊。",
        "remote.line": "{session}｜{when}｜订单 {number}｜{resident}｜专家 {expert}｜{site}｜{room}",
        "remote.button.move": "改期",
        "remote.button.cancel": "取消",
        "remote.button.outcome": "记录结果",
        "remote.button.no_show": "未到场",
        "remote.ask_move_when": "请输入新的会诊日期和时间，例如：11月27日 9:30",
        "remote.ask_move_reason": "请输入改期原因（会告知专家、卫生院、村医和居民）：",
        "remote.ask_cancel_reason": "请输入取消原因（会告知专家、卫生院、村医和居民）：",
        "remote.reason.empty": "请输入原因，不能为空。",
        "remote.reason.too_long": "原因过长（最多 {limit} 字），请简短说明。",
        "remote.same_time": "新时间与原时间相同，请输入另一个时间。",
        "remote.expert_busy": (
            "{expert} 在 {when} 已有一场远程会诊（{session}），同一位专家的两场会诊至少要相隔 {minutes} 分钟。"
            "请换一个时间，例如这场之后 {minutes} 分钟。"
        ),
        "remote.moved": "已改期：会诊 {old} 改为 {session}，{when}。已通知相关人员。",
        "remote.cancelled": "已取消会诊 {session}。已通知相关人员。",
        "remote.no_show_done": "已登记会诊 {session} 居民未到场。",
        "remote.card": "远程会诊 {session}（{status}）：{when}，专家 {expert}，{site}，{room}",
        "remote.card.reason": "会诊取消原因：{reason}",
        "remote.card.outcome": "会诊意见：{advice}｜{refer}｜随访计划：{plan}",
        # --- the expert records the outcome ---------------------------------------------------------------------
        "remote.ask_advice": "请输入会诊意见（会转告村医）：",
        "remote.advice.empty": "请输入会诊意见，不能为空。",
        "remote.advice.too_long": "会诊意见过长（最多 {limit} 字），请精简后再发。",
        "remote.ask_refer": "是否需要上转到医院？",
        "remote.refer.button_yes": "需要上转",
        "remote.refer.button_no": "不需上转",
        "remote.ask_plan": (
            "请输入随访计划，写明天数和内容（例如：两周后复测血压；30天 测血糖），会加入村医的随访任务；"
            "没有请回复“无”："
        ),
        "remote.refer_waiting": (
            "远程会诊 {session}：专家 {expert} 建议上转（订单 {number}），本院暂无空余的转诊号源。"
            "请发送 /referrals 开放号源或选一个日期。"
        ),
        "remote.plan.unreadable": (
            "没看懂这个随访计划：{why}请重新输入，例如：两周后复测血压；30天 测血糖。没有请回复“无”。"
        ),
        "remote.plan.empty": "请输入随访计划，没有请回复“无”。",
        "remote.plan.too_long": "随访计划过长（最多 {limit} 字），请精简后再发。",
        "remote.plan.none": "无",
        "remote.refer.yes": "需要上转",
        "remote.refer.no": "不需上转",
        "remote.recorded": "已记录会诊 {session} 的结果，并已转告村医。",
        "remote.not_started": "会诊尚未开始（{starts}），开始后才能登记结果或未到场。",
        "remote.already": "会诊 {session} 已是“{status}”，无需重复操作。",
        "remote.illegal_transition": "这次会诊已不能这样操作了。",
        "remote.unknown": "找不到这次远程会诊。",
        "remote.changed_meanwhile": "这次会诊刚被他人修改，请重新打开 /remote 再试。",
        "remote.status.scheduled": "待会诊",
        "remote.status.held": "已会诊",
        "remote.status.moved": "已改期",
        "remote.status.cancelled": "已取消",
        "remote.status.no_show": "未到场",
        "perm.remote_not_yours": "这次远程会诊不属于您，操作未执行。",
        "perm.remote_expert": "只能选择本院在岗的专家，操作未执行。",
        "perm.remote_site": "会诊地点须是居民所在的乡镇卫生院或村卫生所，操作未执行。",
        # --- what people are told -------------------------------------------------------------------------------
        "remote.hint.today": "今天 ",
        "remote.hint.tomorrow": "明天 ",
        "remote.staff.scheduled": (
            "【远程会诊安排】订单 {number}（{resident}）：{when}，专家 {expert}，居民在{site}参加。\n"
            "会诊方式：{room}\n需求：{need}"
        ),
        "remote.resident.scheduled": (
            "【远程会诊安排】您的订单 {number} 已安排远程会诊：{when}，请到{site}参加，专家 {expert}。"
            "如不能到场，请告诉村医。"
        ),
        "remote.staff.moved": (
            "【远程会诊改期】订单 {number}（{resident}）的远程会诊由 {old_when} 改期为 {when}。原因：{reason}\n"
            "专家 {expert}，地点：{site}，会诊方式：{room}"
        ),
        "remote.resident.moved": (
            "【远程会诊改期】您的订单 {number} 的远程会诊由 {old_when} 改期为 {when}，请到{site}参加。原因：{reason}"
        ),
        "remote.staff.cancelled": (
            "【远程会诊取消】订单 {number}（{resident}）原定 {when} 的远程会诊已取消。原因：{reason}"
        ),
        "remote.resident.cancelled": (
            "【远程会诊取消】您的订单 {number} 原定 {when} 的远程会诊已取消。原因：{reason}"
        ),
        "remote.staff.remind": (
            "【会诊提醒】{hint}{when} 远程会诊：订单 {number}（{resident}），专家 {expert}，居民在{site}参加。\n"
            "会诊方式：{room}"
        ),
        "remote.resident.remind": (
            "【会诊提醒】{hint}{when} 请到{site}参加远程会诊（订单 {number}），专家 {expert}。"
        ),
        "remote.staff.no_show": "【远程会诊未到场】订单 {number}（{resident}）{when} 的远程会诊，居民未到场。",
        "remote.resident.no_show": (
            "【远程会诊】您没有参加 {when} 的远程会诊（订单 {number}），如需重新安排请联系村医。"
        ),
        "remote.staff.held": (
            "【远程会诊结果】订单 {number}（{resident}），专家 {expert}，{when}。\n会诊意见：{advice}\n"
            "是否上转：{refer}\n随访计划：{plan}"
        ),
        # --- steps ----------------------------------------------------------------------------------------------
        "step.remote.when": "远程会诊时间",
        "step.remote.room": "远程会诊链接",
        "step.remote.move_when": "会诊改期",
        "step.remote.move_reason": "会诊改期原因",
        "step.remote.cancel": "会诊取消原因",
        "step.remote.advice": "会诊意见",
        "step.remote.refer": "是否上转",
        "step.remote.plan": "随访计划",
        "remote.order_not_open": "订单 {number} 当前状态为 {status}，只有乡镇已初审的订单可以安排远程会诊。",
        "remote.cli.bad_when": "--at 的时间“{text}”看不懂，请写成 2026-11-25 15:00 或 11月25日 15:00。",
    }
)

ENGLISH.update(
    {
        "remote.unknown": "There is no such remote consultation; list them with `remote list`.",
        "remote.bad_when": "The time could not be read; write e.g. 2026-11-25 15:00.",
        "remote.cli.bad_when": "--at {text!r} could not be read; write e.g. 2026-11-25 15:00.",
        "remote.order_not_open": (
            "Order {number} is {status}; only a township-approved order can be disposed as remote."
        ),
        "remote.in_the_past": "That time has passed; give a time in the future.",
        "remote.too_far": "Schedule the consultation within a year.",
        "remote.room.empty": "Give the meeting link or room (--room).",
        "remote.room.meaningless": "没看懂这个会诊链接或会议室，请输入链接、会议号或会议室名称。",
        "remote.room.too_long": "The meeting link or room is too long (at most {limit} characters).",
        "remote.reason.empty": "Give a reason (--reason).",
        "remote.reason.too_long": "The reason is too long (at most {limit} characters).",
        "remote.advice.empty": "Give the advice (--advice).",
        "remote.advice.too_long": "The advice is too long (at most {limit} characters).",
        "remote.plan.too_long": "The follow-up plan is too long (at most {limit} characters).",
        "remote.same_time": "The new time is the old one; give another time.",
        "remote.expert_busy": (
            "{expert} already has remote consultation {session} at {when}; one expert's sessions must start at "
            "least {minutes} minutes apart. Give another time."
        ),
        "remote.not_started": "The consultation has not started yet ({starts}).",
        "remote.illegal_transition": "The consultation can no longer be changed this way (it is {status}).",
        "remote.changed_meanwhile": "Someone changed the consultation meanwhile; try again.",
        "perm.action_not_for_role": "This member of staff does not hold the role this needs ({role}).",
        "perm.remote_not_yours": "This remote consultation is not yours (or your hospital's).",
        "perm.remote_expert": "Choose an active expert of your own hospital.",
        "perm.remote_site": "The site must be the resident's township health center or village post.",
    }
)

__all__ = ["TEXTS", "t"]
