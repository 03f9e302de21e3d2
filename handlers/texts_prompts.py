"""Chinese texts for replies typed to a prompt: the words that count as an answer, and why a late reply is not taken."""

from __future__ import annotations

from handlers.texts import TEXTS

TEXTS.update(
    {
        # Words (separated by spaces) that answer a question as its yes or no choice would, for confirmations.
        "answer.yes": "好 好的 是 是的 对 确认 同意 可以 行 嗯 收到",
        "answer.no": "不 不是 否 不要 不同意 不行 拒绝",
        # Words that pick a score of the rating besides its number.
        "answer.rate.1": "很差 非常差 最差",
        "answer.rate.5": "很好 非常好 最好 满意 非常满意",
        # What a late reply fits ("您回复的「5」是对{what}的回复").
        "prompt.what": "之前那条消息",
        "prompt.what.rate": "巡诊服务评分邀请",
        "prompt.what.question": "卫生院退回订单时提的问题",
        "prompt.what.link": "居民关联（或删除）的确认请求",
        "prompt.what.claim": "身份绑定的确认请求",
        "prompt.what.alert": "急症提醒",
        "prompt.expired": "您回复的「{answer}」是对{what}的回复，但那条消息已过期，这次回复没有被采用。{instead}",
        "prompt.superseded": (
            "您回复的「{answer}」是对{what}的回复，但之后您又收到了新的选项，为免弄错，这次回复没有被采用。{instead}"
        ),
        # What to do instead, by what was asked (superseded: still possible; expired: no longer).
        "prompt.instead": "请按最新一条消息的选项回复，或发送 /help 查看可用命令。",
        "prompt.instead.again": "请重新发送 {again}，再按新的选项回复。",
        "prompt.instead.rate": "如需评分，请发送 /rate，再回复分数。",
        "prompt.instead.rate.expired": "巡诊后30天内可以评分，这次已超过期限；如有意见或投诉，可拨打12345热线反映。",
        "prompt.instead.question": "请发送 /orders，打开这条订单后点「回复补充」。",
        "prompt.instead.link": "请在那条确认请求上点按钮。",
        "prompt.instead.link.expired": "如仍需关联，请让居民重新发送关联链接。",
        "prompt.instead.claim": "请在那条确认请求上点按钮。",
        "prompt.instead.claim.expired": "如仍需绑定，请让对方向管理员重新申请邀请码。",
        "prompt.instead.alert": "请在那条急症提醒上点「收到，我来处理」，或直接电话联系村医。",
        "prompt.instead.alert.expired": "请直接电话联系村医了解情况。",
    }
)
