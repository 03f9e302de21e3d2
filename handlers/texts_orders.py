"""Chinese texts of the one-message order card, duplicates and the fuller order details (issue 18).

Button labels stay within WeCom's ten characters; the details they stand for are in the card's body.
"""

from __future__ import annotations

from handlers.texts import TEXTS

TEXTS.update(
    {
        # --- one message, one card -------------------------------------------------------------------------
        "card.title": "新订单，请核对（点下面的按钮修改；缺的信息直接回复即可）：",
        "card.resident_found": "居民：{resident}，本村已登记",
        "card.resident_new": "居民：{name}（{sex}，{year}），新建居民",
        "card.resident_missing": "居民：未填写 —— 请回复居民姓名（可带性别和出生年份，如：王秀英 女 1956）",
        "card.sex_missing": "性别？",
        "card.year_missing": "出生年份？",
        "card.year": "{year}年生",
        "card.year_from_age": "{year}年生，按{age}岁推算",
        "card.ask_sex": "· 性别没有说：请点「男」或「女」。",
        "card.ask_year": "· 出生年份没有说：请回复，如 1956 或 70岁。",
        "card.ask_year_approx": "· 您说的是{age}多岁：请回复出生年份（如 {example}）。",
        "card.bad_year": "· 「{year}」不是出生年份：请回复 {min}–{max} 之间的年份，或年龄（如 70岁）。",
        "card.homonyms": "· 本村另有同名居民：{residents}。是同一人请点下面的名字。",
        "card.similar": "· 本村没有叫「{name}」的居民，相近的有：{residents}。是其中一位请点名字，否则按新居民登记。",
        "card.homonyms_pick": "· 本村有{count}位{name}：{residents}。请点选是哪一位；都不是请点「是新居民」。",
        "card.consent_on_file": "同意书：已签署（{version}）",
        "card.consent_given": "同意书：居民已当面同意（提交时记录）",
        "card.consent_needed": (
            "同意书：⚠️ 尚未签署。请向 {name} 说明：为安排专家巡诊，本服务将记录其姓名、性别、出生年份、手机号和"
            "就医需求，仅供所在卫生院、支援医院和出诊专家使用，不作他用；可随时撤回同意并删除个人信息"
            "（{version}）。居民同意后请点「居民已同意」。"
        ),
        "card.need": "需求：{need}",
        "card.need_missing": "需求：未填写 —— 请回复居民的就医需求（症状、持续多久、想看什么）",
        "card.specialty": "科室：{specialty}",
        "card.specialty_words": "{name}（依据：{words}）",
        "card.specialty_words_low": "{name}（依据：{words}；把握不大，请核对）",
        "card.specialty_unsure_none": "{name}（没能从描述中判断，请核对，或点「改科室」）",
        "card.specialty_none": "未定",
        "card.urgency": "紧急程度：{urgency}",
        "card.urgency_words": "{urgency}（依据：{words}）",
        "card.populations": "特殊人群：{populations}",
        "card.population_word": "{population}（{word}）",
        "card.populations_none": "无",
        "card.btn.resident": "改居民",
        "card.btn.need": "改需求",
        "card.btn.specialty": "改科室",
        "card.btn.soon": "改为尽快",
        "card.btn.routine": "改为常规",
        "card.btn.populations": "特殊人群",
        "card.btn.pick": "{name}（{year}）",
        "card.btn.new_twin": "是新居民",
        "card.btn.back": "« 返回核对",
        "card.ask_resident": (
            "请回复居民姓名（可带性别和出生年份，如：王秀英 女 1956）；只记得姓或名中的一个字也可以："
        ),
        "card.ask_need": "请回复新的需求描述（症状、持续多久、想看什么）：",
        "card.not_found": "本村卫生所没有找到「{query}」。请回复居民的全名（新居民会在提交时建档）。",
        "card.hint": "收到，但没有改动卡片。要修改需求请先点「改需求」，要换居民请点「改居民」。",
        "card.replaced": "上一张卡片（{name}：{need}）没有提交，已放弃。下面是新的：",
        "card.changed": "卡片内容已更新，请在最新的卡片上确认。",
        "card.not_ready": "还不能提交：{missing}。请按卡片上的提示补齐。",
        "card.missing.name": "居民姓名",
        "card.missing.sex": "性别",
        "card.missing.birth_year": "出生年份",
        "card.missing.consent": "居民的单独同意",
        "card.missing.need": "需求",
        "card.missing.specialty": "科室",
        "card.missing.homonym": "选定同名居民中的哪一位",
        "new.hint_one_line": "登记订单可以直接发一句话，如：邱瑞鹏 男 1956 胸闷气短两周，想看心内科",
        # --- duplicates ----------------------------------------------------------------------------------------
        "dupe.order": (
            "⚠️ {name}已有未办结的{specialty}订单 {number}（{status}：{need}）。同一件事请点「看原订单」修改或补充；"
            "确是另一件事再点「仍然提交」。"
        ),
        "dupe.view": "看原订单",
        "dupe.file_anyway": "仍然提交",
        "dupe.resident": (
            "本村已有居民 {resident}。是同一人请点「就是这位」；确是另一位同名、同性别、同年生的居民，"
            "请点「另建同名居民」。"
        ),
        "dupe.same": "就是这位",
        "dupe.another": "另建同名居民",
        # --- the specialty ---------------------------------------------------------------------------------------
        "new.back_to_suggestions": "« 建议科室",
        "new.no_specialty_words": "没能从描述中判断科室，暂定「{name}」，您也可以点「其他科室…」选择：",
        # --- an order's details ------------------------------------------------------------------------------
        "orders.answer_line": "村医的回复：{answer}",
        "orders.reason.rejected": "驳回原因：{reason}",
        "orders.reason.cancelled": "撤销原因：{reason}",
        "orders.note.remote_consult": "远程会诊安排：{note}",
        "orders.note.referred_up": "上转安排：{note}",
        "orders.note.other": "处理意见：{note}",
        "orders.merged_into": "已合并到订单：{number}",
        "orders.urgency": "紧急程度：{urgency}",
        "orders.rematch": "根据新的描述，建议科室是「{name}」（依据：{words}），订单现在是「{current}」。要改吗？",
        "orders.rematch_to": "改为{name}",
        "orders.rematch_other": "改科室",
        "orders.rematch_keep": "保持不变",
        "orders.respecced": "订单 {number} 的科室已改为 {name}。",
        "notify.order_respecced": (
            "待初审订单 {number}（{village}）的科室已被村医改为 {name}，之前的审核按钮已失效。发送 /pending 查看。"
        ),
        "orders.kept": "好的，订单 {number} 的科室不变。",
        "orders.changed_meanwhile": "订单 {number} 在这之后又有变动，本次操作未执行。请重新打开订单查看。",
        "orders.emergency": (
            "⚠️ 疑似急症：{reasons}。\n请立即拨打 120，或尽快送往最近的医院！\n{alerted}\n"
            "订单 {number} 已按您的回复保存。"
        ),
        "step.new.card": "登记订单：核对卡片",
        "step.new.twin": "登记订单：新建居民",
    }
)
