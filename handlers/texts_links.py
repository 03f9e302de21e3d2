"""Chinese texts for resident link codes, confirmations by the village doctor, and claims an administrator confirms."""

from __future__ import annotations

from handlers.texts import TEXTS

TEXTS.update(
    {
        # --- a resident's link --------------------------------------------------------------------------------
        "link.used": (
            "这个居民链接已经使用过了，不能再用。如需在新的手机或账号上接收通知，请向您的村医索取新的链接。"
        ),
        "link.expired": "这个居民链接已过期或已作废。请向您的村医索取新的链接（7天内有效，只能使用一次）。",
        "link.already": "您的账号已经关联到这位居民了。",
        "link.waiting": (
            "这位居民已有聊天账号关联。为保护居民隐私，需要村医确认后才能关联这个账号；"
            "确认前这里不会显示该居民的任何信息。确认结果会通知您。"
        ),
        "link.ask_doctor": (
            "请确认：居民 {name}（订单 {orders}）的关联链接被一个新的聊天账号（{platform}）使用了，"
            "该居民已有 {count} 个账号关联。\n只有核实是居民本人或家属的新账号时才点「确认关联」；"
            "确认后这个账号能看到居民的信息和订单，也能申请删除。"
        ),
        "link.confirm": "确认关联",
        "link.refuse": "拒绝",
        "link.confirmed_doctor": "已确认：新账号已关联到居民 {name}。",
        "link.refused_doctor": "已拒绝：那个账号没有关联到居民 {name}。",
        "link.confirmed_resident": "村医已确认，您的账号已关联到居民 {name}。您的需求安排好后会通知您。",
        "link.refused_resident": "村医没有确认这次关联，您的账号没有关联到任何居民。如有疑问，请联系您的村医。",
        "link.button": "居民关联链接",
        "link.usage": "用法：/link 订单号（为这条订单的居民重新生成关联链接）",
        "link.no_consent": "这位居民没有有效的同意书，不能生成关联链接。",
        "link.issued": (
            "居民 {name} 的新关联链接（7天内有效，只能使用一次；之前的链接已全部作废）：\n/start r_{link}\n"
            "请只交给居民本人或其家属。该居民已有账号关联时，新账号需要您确认后才能关联。"
        ),
        "link.qr_caption": (
            "居民关联二维码：请居民本人或家属用微信「扫一扫」，关注公众号后即自动关联"
            "（7天内有效，只能使用一次；之前的二维码已全部作废）。"
        ),
        # --- a village's subscription (for the notice board) ---------------------------------------------------
        "village.qr_header": "{village}的村民订阅坐诊预告的方式：",
        "village.qr_scan": "· 微信：扫描下面的二维码，关注公众号即订阅（长期有效，可打印张贴在村务公开栏）",
        "village.qr_telegram": "· Telegram：打开 {link}",
        "village.qr_typed": "· 也可以给公众号或机器人发送：/start v_{code}",
        "village.qr_caption": "{village}坐诊预告订阅二维码：微信扫一扫，关注公众号即订阅（长期有效，可打印张贴）。",
        "perm.not_your_resident": "这位居民不属于您的村卫生所，操作未执行。",
        "confirm.decided": "这项申请已经处理过了。",
        # --- erasure a village doctor confirms ------------------------------------------------------------------
        "forget.waiting": (
            "已提交删除申请。为防止他人冒用您的账号删除信息，需要您的村医核实并确认后才会删除；"
            "在此之前什么都不会删除。结果会通知您。"
        ),
        "forget.ask_doctor": (
            "请确认：居民 {name}（订单 {orders}）通过聊天账号（{platform}）申请撤回同意并删除个人信息。\n"
            "请先与居民本人核实。确认后将删除该居民的姓名、电话和需求内容等信息，无法恢复。"
        ),
        "forget.doctor_yes": "确认删除",
        "forget.confirmed_doctor": "已确认：居民的个人信息已删除。",
        "forget.refused_doctor": "已拒绝：居民 {name} 的信息没有删除。",
        "forget.refused_resident": "村医没有确认删除申请，您的信息仍然保留。如有疑问，请联系您的村医。",
        # --- an open invite naming an existing person ---------------------------------------------------------
        "claim.waiting": (
            "{institution}已有一位名为 {name} 的{role}。为防止冒用同事的身份，需要管理员确认您就是这位人员后"
            "才能绑定；在此之前您的账号没有任何角色，也看不到任何订单。确认结果会通知您。\n"
            "如果您是另一位同名的新同事，请联系管理员为您生成专用邀请码。"
        ),
        "claim.ask_admin": (
            "请确认：有人用{institution}的{role}邀请码绑定聊天账号（{platform}），自称是已有人员 {name}（{code}）。\n"
            "只有核实确是本人后才点「确认绑定」；否则请拒绝，对方将没有任何身份。"
        ),
        "claim.confirm": "确认绑定",
        "claim.confirmed_admin": "已确认：该账号已绑定为 {name}（{code}）。",
        "claim.refused_admin": "已拒绝：该账号没有绑定为 {name}（{code}）。",
        "claim.confirmed": "管理员已确认。绑定成功：{name}，{institution}，{role}。发送 /help 查看可用命令。",
        "claim.refused": "管理员没有确认您的身份，您的账号没有绑定任何角色。如需使用，请联系管理员。",
        "claim.stale": "无法绑定：这位人员已经绑定了其他账号，或已不再符合这个邀请。",
    }
)
