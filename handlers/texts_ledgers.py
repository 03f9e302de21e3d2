"""Chinese texts for ratings after a served visit and complaints (问题线索)."""

from __future__ import annotations

from handlers.texts import TEXTS

TEXTS.update(
    {
        "rate.none": "最近30天没有待评价的已完成诊疗。",
        "rate.header": "请为以下已完成的诊疗打分（1分最差，5分最好）：",
        "rate.line": "{number} · {date} · {resident}",
        "rate.ask_comment": (
            "已选择 {score} 分。可以再写一句意见（选填）；以“投诉”开头的内容会作为投诉登记到问题线索台账。"
        ),
        "rate.chosen": "已选择 {score} 分。",
        "rate.form_kept": "您正在进行的操作（{step}）没有中断，请继续回复。",
        "rate.saved": "谢谢！评价已记录（{score} 分）。",
        "rate.saved_lead": "谢谢！评价已记录（{score} 分），已转为问题线索，相关单位将跟进整改并回复。",
        "rate.not_yours": "这条诊疗不在您可以评价的范围内。",
        "rating.already": "这条诊疗已经评价过了。",
        "rating.not_served": "只有已完成的诊疗可以评价。",
        "rating.bad_score": "评分应为1到5分。",
        "rating.too_long": "意见太长，请控制在{limit}字以内。",
        "rate.unavailable": "评价功能适用于村医和已绑定的村民。",
    }
)
TEXTS["help.village_doctor"] = TEXTS.get("help.village_doctor", "") + "\n/rate 请村民为已完成的诊疗打分"
