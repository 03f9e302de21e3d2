"""Chinese texts for two-way referral (双向转诊): the hospital's /slots and /referrals, the booking notice and reminder
for the resident and the village doctor, the down-referral and the village doctor's /tasks."""

from __future__ import annotations

from handlers.texts import TEXTS, t

TEXTS.update(
    {
        # --- slots -----------------------------------------------------------------------------------------------
        "slots.usage": (
            "本院为基层转诊预留的号源（今天起 {days} 天）：\n{lines}\n\n"
            "新增或修改号源，请发送：/slots 日期 上午/下午 科室 号数 [时间] [地点] [床位N]\n"
            "例如：/slots 2026-12-01 上午 心血管内科 5 08:30 门诊楼2层 床位2"
        ),
        "slots.none": "（还没有号源）",
        "slots.line": "{date}{weekday}{half}{time}｜{specialty}｜已约 {booked}/{capacity}{beds}{place}",
        "slots.beds": "｜床位 {beds}",
        "slots.saved_new": "已发布号源：{line}",
        "slots.saved_updated": "已修改号源：{line}",
        "slots.imported": "已导入 {new} 个新号源，修改 {updated} 个。",
        "referral.bad_slot_line": "第 {line} 行看不懂：{why}。写法：日期,上午/下午,科室,号数[,时间][,地点][,床位]。",
        "referral.bad_slot_text": (
            "号源写法看不懂：{why}。请发送：/slots 日期 上午/下午 科室 号数 [时间] [地点] [床位N]，"
            "例如 /slots 2026-12-01 上午 心血管内科 5"
        ),
        "referral.bad_capacity": "号数应为 1 到 {limit} 之间的整数。",
        "referral.bad_beds": "床位数应为 0 到 {limit} 之间的整数。",
        "referral.place_too_long": "地点太长（最多 {limit} 个字）。",
        "referral.time_not_in_half_day": "时间 {time} 与上午/下午不符。",
        "referral.slot_in_past": "号源日期 {day} 已经过去，只能发布今天以后的号源。",
        "referral.not_hospital": "{code} 不是支援医院（县总医院、市级或省级医院），不能发布转诊号源。",
        "referral.unknown_specialty": "没有科室“{text}”。请写科室名称或诊疗科目代码（如 03.04 或 心血管内科）。",
        "referral.unknown": "没有这条转诊记录。",
        "referral.not_yours": "这条转诊不属于本院，操作未执行。",
        "referral.illegal_transition": "这条转诊现在是“{status_name}”，不能再“{action_name}”。",
        "referral.slot_missing": "没有选定号源。",
        "referral.changed": "这条转诊在您查看之后已有变化，请看下面的最新情况。",
        # --- booking ---------------------------------------------------------------------------------------------
        "referral.booked_reviewer": (
            "已为 {resident} 预约：{when}，{hospital}{specialty}（{place}）。居民和村医已收到通知。"
        ),
        "referral.no_slot": (
            "⚠️ {resident}（订单 {number}，{urgency}）需在 {last} 前到本院{specialty}就诊，"
            "但这段时间本院没有空余的转诊号源。请开放一个号源，或选一个日期："
        ),
        "referral.open_day": "{date}{weekday}{half}",
        "referral.retry": "我已发布号源，重新预约",
        "referral.still_no_slot": "还是没有空余号源。请先用 /slots 发布号源，或直接选一个日期。",
        "referral.notice": (
            "【上转预约】{resident}（转诊单号 {number}）\n"
            "时间：{when}\n医院：{hospital}\n科室：{specialty}\n地点：{place}\n"
            "请带上：医保卡（社保卡）、身份证、以往的病历和检查结果、本转诊单号。\n"
            "到医院后请到{specialty}服务台报转诊单号。如不能按时前往，请告诉村医。"
        ),
        "referral.notice_doctor": "{notice}\n\n（请提醒居民按时前往；需要改期请联系医院。）",
        "referral.reminder": "【明天就诊提醒】{notice}",
        "referral.place_default": "门诊服务台",
        "referral.waiting_doctor": (
            "订单 {number}（{resident}）已上转 {hospital}，医院正在安排号源，预约好后会通知您和居民。"
        ),
        # --- states ----------------------------------------------------------------------------------------------
        "referral.status.waiting": "待排号",
        "referral.status.booked": "已预约",
        "referral.status.arrived": "已到院",
        "referral.status.seen": "已就诊",
        "referral.status.admitted": "已住院",
        "referral.status.discharged": "已下转",
        "referral.status.no_show": "未到",
        "referral.status.cancelled": "已取消",
        "referral.action.book": "预约",
        "referral.action.arrive": "到院",
        "referral.action.see": "已就诊",
        "referral.action.admit": "住院",
        "referral.action.discharge": "出院下转",
        "referral.action.no_show": "未到",
        "referral.action.cancel": "取消",
        "referrals.none": "本院目前没有进行中的上转病人（爽约累计 {no_shows} 人次）。",
        "referrals.head": "本院进行中的上转病人 {count} 人（爽约累计 {no_shows} 人次）：",
        "referrals.card": "{resident}｜{specialty}｜{status}{when}\n转诊单号 {number}，来自 {post}",
        "referrals.more": "还有 {count} 人未显示。",
        "referral.marked": "{resident}：{status}。",
        "referral.no_show_doctor": (
            "居民 {resident}（转诊单号 {number}）没有按预约到 {hospital} 就诊。请联系居民了解情况。"
        ),
        "referral.cancelled_doctor": (
            "【转诊预约取消】居民 {resident}（转诊单号 {number}）{when}在 {hospital}{specialty}的预约已取消。\n"
            "原因：{reason}\n请告诉居民不用按原时间去医院；如仍需就诊，请联系医院重新安排。"
        ),
        "referral.cancelled_resident": (
            "【转诊预约取消】{resident}（转诊单号 {number}）{when}在 {hospital}{specialty}的预约已取消。\n"
            "原因：{reason}\n不用按原时间去医院了。如仍需就诊，请联系村医重新安排。"
        ),
        "referral.cancelled_when": "原定 {when} ",
        "referral.ask_cancel_reason": (
            "请输入取消原因（会告诉居民和村医，请用大白话写，例如：专家临时外出，改期另约）："
        ),
        "referral.reason.empty": "请输入取消原因，不能为空。",
        "referral.reason.too_long": "原因太长（最多 {limit} 个字），请简短说明。",
        "step.rf.cancel": "转诊：输入取消原因",
        "referral.admitted_doctor": "居民 {resident}（转诊单号 {number}）已在 {hospital} 住院。",
        # --- discharge and down-referral -------------------------------------------------------------------------
        "discharge.choose": "{resident} 出院（或门诊结束）下转回 {post}。请选择随访计划，或点“自己输入”：",
        "discharge.type": "自己输入",
        "discharge.none": "不需要随访",
        "discharge.ask_plan": "请输入随访计划，每项写天数和内容，用分号隔开，例如：7天 测血压；30天 测血压、查血脂",
        "discharge.done": "已下转：{resident}。随访计划：{plan}。已通知村医。",
        "discharge.doctor": (
            "【下转】居民 {resident}（转诊单号 {number}）已从 {hospital} 出院/结束门诊，转回本村卫生所。\n"
            "随访计划：{plan}\n随访任务已加入您的 /tasks，到期当天会提醒您。"
        ),
        "discharge.no_plan": "无",
        "referral.no_show_too_early": "预约在 {when}，还没到：到那天才能登记“未到”。",
        "followup.bad_plan": "“{clause}”看不懂：每项要写天数和内容，例如 7天 测血压。",
        "followup.bad_days": "{days} 天不行：天数应在 1 到 {limit} 之间。",
        "followup.empty_plan": "随访计划是空的。请写天数和内容，例如 7天 测血压。",
        "followup.too_many": "随访项目太多（最多 {limit} 项）。",
        # --- follow-up tasks -------------------------------------------------------------------------------------
        "tasks.none": "目前没有到期的随访任务。",
        "tasks.head": "随访任务（今天及以前到期 {due} 项，逾期 {overdue} 项；7 天内还有 {soon} 项）：",
        "tasks.card": "{mark}{resident}｜{what}｜{due}{status}",
        "tasks.mark_overdue": "⏰ ",
        "tasks.status_overdue": "（已逾期）",
        "tasks.later": "今后 7 天：{lines}",
        "tasks.done_button": "已完成，填写结果",
        "tasks.ask_result": "请简单写下随访结果（如：血压 135/85，无不适）：",
        "tasks.done": "已记录：{resident} {what} — {result}",
        "tasks.reminder": "【随访提醒】今天请为居民 {resident} {what}（{source}）。完成后发送 /tasks 记录结果。",
        "tasks.source.referral": "下转随访",
        "tasks.source.remote": "远程会诊随访",
        "followup.unknown": "没有这项随访任务。",
        "followup.not_yours": "这项随访任务不属于您的村卫生所，操作未执行。",
        "followup.result_empty": "结果不能为空，请简单写下随访结果。",
        "followup.result_too_long": "结果太长（最多 {limit} 个字），请简单写。",
        "followup.illegal_transition": "这项随访任务已经处理过了。",
        "step.tasks.result": "随访任务：填写结果",
        "step.rf.plan": "下转：输入随访计划",
        "referral.bad_field": "{why}",
        "referral.cli_by": (
            "{code} 不是 {hospital} 的医院审核人员。请用 --by 写本院医务科审核人员的人员编码（如 S0002）。"
        ),
        "referral.unknown_template": "没有随访模板“{name}”。可用的模板：{names}。",
    }
)

# The command line's refusals in English (``handlers.texts_cli`` adds them to its catalogue).
ENGLISH = {
    "referral.bad_slot_line": "line {line} of the slots file is not understood ({why}); columns: date,half_day,"
                              "specialty,capacity[,time][,place][,beds], half_day 上午 or 下午",
    "referral.not_hospital": "{code} is not a supporting hospital, so cannot publish referral slots",
    "referral.slot_in_past": "the slot's day {day} is past; publish slots from today on",
    "referral.unknown_specialty": "no department {text!r}; use its code (03.04) or Chinese name",
    "referral.unknown": "no such referral; see the first column of `python -m bot referrals --hospital CODE`",
    "referral.not_yours": "that referral belongs to another hospital",
    "referral.illegal_transition": "the referral is {status_name} now and cannot be marked {action_name}",
    "referral.cli_by": "{code} is not a hospital reviewer of {hospital}; give --by the reviewer's staff code",
    "referral.unknown_template": "no follow-up template {name!r}; templates: {names}",
    "referral.reason.empty": "give the reason of the cancellation (--reason); the resident and the doctor are told it",
    "referral.reason.too_long": "the reason is too long (at most {limit} characters)",
    "referral.no_show_too_early": "the appointment is on {when}: a no-show can be recorded from that day",
    "followup.bad_plan": "{clause!r} is not understood: each item needs its days and what to do, e.g. 7天 测血压",
    "followup.bad_days": "{days} days is out of range: 1 to {limit}",
    "followup.empty_plan": "the follow-up plan is empty",
    "followup.too_many": "too many follow-up items (at most {limit})",
}

__all__ = ["t"]
