"""Texts of circuit planning and announcements (坐诊预告), added to the one catalogue in ``handlers.texts``."""

from __future__ import annotations

from handlers.texts import TEXTS, t

TEXTS.update(
    {
        # --- announcements --------------------------------------------------------------------------------
        "ann.reminder.head": "【坐诊预告】{when_hint}专家将到{place}坐诊",
        "ann.update.head": "【坐诊变更通知】{place}的巡诊安排有变化，请以本通知为准",
        "ann.cancel.head": "【坐诊取消通知】原定{date}{half_day}在{place}的巡诊已取消",
        "ann.when.days": "{days}天后，",
        "ann.when.tomorrow": "明天，",
        "ann.when.soon": "",
        "ann.time": "时间：{date}（{weekday}）{half_day}",
        "ann.place": "地点：{place}",
        "ann.hospital": "派出医院：{hospital}",
        "ann.expert": "专家：{name}，{title}，{specialties}",
        "ann.expert_profile": "  简介：{profile}",
        "ann.conditions": "主要诊治：{conditions}",
        "ann.bring": "就诊请带：身份证、医保卡、既往病历和检查报告、正在服用的药物（或药盒）。",
        "ann.changed": "变更：{changes}",
        "ann.change.time": "时间由{old}改为{new}",
        "ann.change.place": "地点由{old}改为{new}",
        "ann.change.experts": "专家由{old}改为{new}",
        "ann.personal": "您的订单 {number}（{specialty}）安排在这次巡诊，请按时前往。",
        "ann.personal_cancel": "您的订单 {number} 将另行安排，我们会再通知您。",
        "ann.staff": "本次巡诊涉及贵单位的订单：{numbers}",
        "ann.cancel.tail": "给您带来不便，敬请谅解。已登记的订单会另行安排。",
        "ann.footer": "如需取消订阅，请发送 /unsubscribe",
        "weekday.0": "周一",
        "weekday.1": "周二",
        "weekday.2": "周三",
        "weekday.3": "周四",
        "weekday.4": "周五",
        "weekday.5": "周六",
        "weekday.6": "周日",
        "title.unknown": "医师",
        # --- /plan ----------------------------------------------------------------------------------------
        "help.plan": (
            "巡诊排班：\n/plan 今天起 5 周的巡诊：已安排的和建议新增的（可一键接受）\n"
            "/plan 2026-12 只排某个月（年-月），已过去的日子不排\n"
            "/plan list 本院近期巡诊（改期、取消、添加订单）\n"
            "/plan new 地点 日期 上午|下午 专家工号… 新建巡诊，例如：/plan new 350421101 2026-12-08 上午 S0003"
        ),
        "plan.no_hospital": "只有支援医院的审核员可以排班。",
        "plan.bad_month": "月份格式应为 年-月，例如 /plan 2026-12。",
        "plan.month_over": "{month}已经过去，不能再排班。发送 /plan 查看今天起的巡诊。",
        "plan.accept": "接受建议（{count} 场）",
        "plan.actions": (
            "接受建议：新建巡诊 {count} 场，排入订单 {orders} 个\n接受后会通知村医、居民和专家，坐诊预告按时发出。"
        ),
        "plan.actions.none": "没有需要新增的巡诊。\n已安排的巡诊可在“本院近期巡诊”里改期、取消或添加订单。",
        "plan.list_button": "本院近期巡诊",
        "plan.nothing": "{first}至{last}没有已安排的巡诊，也没有需要新增的巡诊或待排订单。",
        # The plan as people read it (handlers/plan_text.py): chat lists, the command line adds a calendar grid.
        "plan.head": "巡诊排班：{first}至{last}{who}",
        "plan.head.month": "巡诊排班：{year}年{month}月（{first}至{last}）{who}",
        "plan.head.who": "，{hospital}",
        "plan.summary": "已安排 {scheduled} 场，建议新增 {proposed} 场。",
        "plan.summary.orders": "待排订单 {total} 个：可安排 {covered} 个，自提交起平均等待 {mean} 天。",
        "plan.summary.orders_none": "待排订单 {total} 个，这段时间都排不进（原因见下）。",
        "plan.section.scheduled": "【已安排】{count} 场",
        "plan.section.proposed": "【建议新增】{count} 场",
        "plan.section.orders": "【订单】{count} 个",
        "plan.week": "〔{first}—{last}〕",
        "plan.when": "{date}（{weekday}）{half_day}",
        "plan.circuit": "{when} {place}{market}｜{what}｜{experts}｜{orders}",
        "plan.circuit.bare": "{when} {place}{market}｜{experts}｜{orders}",
        "plan.market": "（圩日）",
        "plan.orders.some": "订单 {count} 个",
        "plan.orders.none": "无订单",
        "plan.more_circuits": "……另有 {count} 场（{first}起）",
        "plan.order": "{number} {village} {specialty}{urgent} → {when} {place}，等待 {wait} 天",
        "plan.order.scheduled": "{number} {village} {specialty}{urgent} → {when} {place}（已排），等待 {wait} 天",
        "plan.order.uncovered": "{number} {village} {specialty}{urgent}：排不进——{reason}",
        "plan.order.urgent": "（尽快）",
        "plan.more_orders": "……另有 {count} 个订单",
        "plan.warn.overdue": "⚠ 将逾期 {count} 个地点（按本建议仍赶不上应巡日期）：{places}",
        "plan.warn.short": "⚠ 下沉天数不足 {count} 人：{names}",
        "plan.warn.conflicts": "⚠ 未能解决的冲突 {count} 项：",
        "plan.and_more": "等 {count} 个",
        "plan.purpose.orders": "订单巡诊",
        "plan.purpose.frequency": "例行巡诊",
        "plan.purpose.stationing": "驻点坐诊",
        "plan.level.county": "县级",
        "plan.level.township": "乡级",
        "plan.level.village": "村级",
        "plan.level.mobile": "移动医院",
        "plan.rule.county": "每季度≥1次",
        "plan.rule.township": "每月≥1次",
        "plan.rule.village": "每周≥1次",
        "plan.reason.unknown_place": "村不在地名表中",
        "plan.reason.no_specialty": "尚未确定专科",
        "plan.reason.no_supporter": "该村没有支援医院",
        "plan.reason.no_specialist": "支援医院中没有该专科的专家",
        "plan.reason.no_free_slot": "这段时间该专科专家已排满或休假",
        "plan.reason.unknown": "原因不明",
        "plan.freq_reason.no_staff": "直接支援单位没有可派人员",
        "plan.freq_reason.no_free_slot": "可派人员已排满或休假",
        "plan.conflict.double_booked": "已排巡诊冲突：{expert} 在 {when}同时在 {place} 和 {other}",
        "plan.conflict.on_leave": "已排巡诊冲突：{expert} 在 {date} 请假，但已排在 {place}",
        "plan.conflict.no_stationing_day": "{expert} {month}没有空闲日可到受援单位，少于每月 {need} 天",
        "plan.expert": "专家 {id}",
        # The command line's report (a terminal is monospace: it keeps a calendar grid).
        "plan.report.overall": "【总体】",
        "plan.report.scheduled": "  已安排 {scheduled} 场，建议新增 {proposed} 场",
        "plan.report.coverage": "  订单覆盖：{covered} / {total}（{share}）",
        "plan.report.wait": "  预计等待（自提交起）：平均 {mean} 天，90% 的订单不超过 {p90} 天",
        "plan.report.experts": "  专家使用（建议新增部分）：{days} 人日（{half_days} 个半天）",
        "plan.report.overdue_count": (
            "  将逾期地点：{count} 个（按本建议排完仍赶不上应巡日期；报表和看板的“已逾期”只数应巡日期已过的地点）"
        ),
        "plan.report.calendar": "【日历】",
        "plan.report.legend": (
            "（数字为当日巡诊场数，含已安排的；* 含圩日巡诊；休 为周末或节假日，! 为周末或节假日仍有巡诊；"
            "空白的日子已经过去或不在本次排班范围内）"
        ),
        "plan.report.off": "休",
        "plan.report.section": "{title}{count} 项",
        "plan.report.none": "{title}无",
        "plan.report.overdue_title": "【将逾期】",
        "plan.report.short_title": "【下沉天数不足】",
        "plan.report.conflicts_title": "【未能解决的冲突】",
        "plan.report.overdue": "  {place}（{level}，{rule}）应于 {due} 前巡诊：{reason}",
        "plan.report.short": "  {name}（{code}）{month}在受援单位 {days} 天，少于 {minimum} 天",
        "plan.stale": "数据已变化，排班建议已失效，请重新发送 /plan。",
        "plan.accepted": (
            "已接受排班建议：新建巡诊 {circuits} 场，{orders} 个订单已排入巡诊。坐诊预告会按时发出。"
            "发送 /plan 可随时查看已安排的巡诊。"
        ),
        "plan.list.none": "本院近期没有巡诊安排。发送 /plan new … 新建。",
        "plan.list.head": "本院近期巡诊（{count} 场）：",
        "plan.list.line": "#{id} {date}（{weekday}）{half_day}｜{place}｜{experts}｜订单 {orders} 个",
        "plan.move": "改期/改地点",
        "plan.cancel": "取消巡诊",
        "plan.add_orders": "添加订单",
        "plan.ask_move": "请输入新的日期和时段（可加地点编码），例如：2026-12-10 下午 或 2026-12-10 上午 350421101",
        "plan.bad_move": "没看懂。请按“日期 上午|下午 [地点编码]”输入，例如：2026-12-10 下午",
        "plan.bad_new": (
            "格式：/plan new 地点编码 日期 上午|下午 专家工号…，例如：/plan new 350421101 2026-12-08 上午 S0003"
        ),
        "plan.unknown_place": "未知的地点编码：{code}",
        "plan.unknown_expert": "不是本院专家：{code}",
        "plan.past_day": "日期 {date} 已经过去，请选择以后的日期。",
        "plan.created": "已新建巡诊 #{id}：{date}{half_day}，{place}，{experts}。",
        "plan.moved": "巡诊 #{id} 已改为 {date}{half_day}，{place}。已收到预告的人会收到变更通知。",
        "plan.confirm_cancel": "确认取消巡诊 #{id}（{date}{half_day}，{place}）？已排入的订单会退回待排。",
        "plan.confirm_cancel_button": "确认取消",
        "plan.cancelled": "巡诊 #{id} 已取消，{orders} 个订单退回待排，已通知相关人员。",
        "plan.not_planned": "巡诊 #{id} 已不是计划状态，操作未执行。",
        "circuit.illegal_transition": "巡诊 #{id} 已不是计划状态，操作未执行。",
        "plan.started": "巡诊 #{id} 已经开始，不能再修改。",
        "plan.unknown_circuit": "找不到这次巡诊，或它不属于本院。",
        "plan.choose_orders": "可加入巡诊 #{id} 的待排订单：",
        "plan.no_orders": "没有可加入巡诊 #{id} 的待排订单。",
        "plan.order_line": "{number}｜{village}｜{specialty}",
        "plan.order_added": "订单 {number} 已排入巡诊 #{id}。",
        "plan.warnings": "⚠ 注意：\n{warnings}",
        "plan.warn.double": "{expert} 在 {date}{half_day} 已有巡诊 #{other}（{place}）",
        "plan.warn.leave": "{expert} 在 {date} 请假",
        "plan.warn.outside": "{place} 不在本院支援范围内",
        "plan.warn.holiday": "{date} 是节假日或周末",
        "plan.outside_support": (
            "{place} 不在本院的支援范围内（按支援关系），不能在那里安排或改到那里巡诊，也不会向那里的居民发布预告。"
            "如确需前往，请先由卫健委管理员登记支援关系。"
        ),
        "perm.circuit_not_held": "这次巡诊定在 {date}，还没有到日子，不能登记诊疗结果或工作量。",
        "absence.not_on_circuit": "这位专家没有安排在巡诊 #{circuit}，不能登记缺席。",
        "absence.not_held": "巡诊 #{circuit} 定在 {date}，还没有举行，不能登记缺席。",
        "perm.expert_inactive": "这位专家已不在岗（已停用），不能指派。请选择其他专家或“稍后指派”。",
        "absence.served": "这位专家已在巡诊 #{circuit} 上登记过诊疗结果或工作量（已到岗），不能登记为缺席。",
        "notify.circuit_scheduled": "订单 {number}（{resident}）已排入巡诊：{date}{half_day}，{place}，{experts}。",
        # --- telling experts (handlers/services/experts.py) ------------------------------------------------
        "expert.assigned": (
            "【新指派】{hospital}指派您接诊订单 {number}\n"
            "{village}｜{specialty}｜{urgency}\n需求：{need}\n{when}"
        ),
        "expert.when": "巡诊：{date}（{weekday}）{half_day}，{place}",
        "expert.when_later": "巡诊时间和地点排定后会再通知您。",
        "expert.plan.head": "【巡诊安排】您已排入以下巡诊：",
        "expert.plan.line": "· {date}（{weekday}）{half_day}｜{place}｜订单 {count} 个",
        "expert.plan.tail": "巡诊前一天会发给您订单名单；也可随时发送 /circuits 查看。",
        "expert.brief.head": "【巡诊名单】{hint}{date}（{weekday}）{half_day}，{place}，您的订单 {count} 个：",
        "expert.brief.tomorrow": "明天 ",
        "expert.brief.today": "今天 ",
        "expert.brief.line": "{i}. {number}｜{resident}｜{village}｜{specialty}｜{need}",
        "expert.brief.more": "另有 {count} 个订单，请发送 /circuits 查看。",
        "expert.brief.none": "目前没有排入的订单。",
        "expert.brief.tail": "到场后发送 /circuits 登记诊疗结果。",
        "expert.brief.unreachable": (
            "【巡诊名单未送达】专家 {name} 未绑定聊天账号，{date}（{weekday}）{half_day}在{place}的巡诊订单名单"
            "没有发出，请电话告知。"
        ),
        "expert.reached": "已通知专家：{names}",
        "expert.unreachable": "专家 {names} 未绑定聊天账号，系统无法通知，请电话告知。",
        # --- steps ----------------------------------------------------------------------------------------
        "step.plan.move": "巡诊改期",
    }
)

__all__ = ["TEXTS", "t"]
