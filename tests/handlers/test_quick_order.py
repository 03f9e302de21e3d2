"""Issue 18: a routine order in a few messages, played through the handlers as a village doctor would.

One message may carry the resident, the need and the urgency; the bot answers with one card to confirm or
change. The resident's separate consent stays its own button; emergencies are stopped on this path exactly as on
the step-by-step one; duplicates are offered instead of being created without a word.
"""

from __future__ import annotations

from sqlmodel import select

from domain.orders import OrderStatus, SpecialPopulation, Urgency
from domain.staff import Sex
from handlers import Inbound
from storage.tables import EmergencyAlertRow
from tests.conftest import ALSO_ON_POSTGRES

VILLAGE = "350421101001"  # 城东村（示例）, 廖德福's post


class Doctor:
    """The village doctor at the harness, counting every message they send (typed or pressed)."""

    def __init__(self, chat, user: str = "doctor"):
        self.chat, self.user, self.sent = chat, user, 0

    def say(self, text: str) -> str:
        self.sent += 1
        self.chat.say(self.user, text)
        return self.chat.last(self.user)

    def press(self, label: str) -> str:
        self.sent += 1
        self.chat.press(self.user, label)
        return self.chat.last(self.user)

    def labels(self) -> list[str]:
        shown = self.chat.screens[self.user][-1]
        return [b.label for row in shown.buttons for b in row]


def submitted_number(text: str) -> str:
    assert "已提交，订单号 " in text, text
    return text.split("订单号 ")[1].split("。")[0]


def stored(app, number):
    with app.uow() as uow:
        return uow.orders.by_number(number)


def residents_named(app, name):
    with app.uow() as uow:
        return [r for r in uow.residents.in_villages([VILLAGE], name) if r.name == name]


def order_count(app) -> int:
    with app.uow() as uow:
        return sum(uow.orders.count_by_status().values())


@ALSO_ON_POSTGRES
def test_a_routine_order_for_a_known_resident_takes_at_most_four_messages(chat, cast, app):
    doctor = Doctor(chat)
    (known,) = residents_named(app, "邱瑞鹏")
    card = doctor.say("邱瑞鹏 男 1942 胸闷气短两周，想看心内科")
    assert "邱瑞鹏（男，1942年生）" in card and "已登记" in card
    assert "胸闷气短两周，想看心内科" in card and "心血管内科" in card and "胸闷气短" in card
    assert "常规" in card and "老年人" in card
    # The demo resident never consented: the separate consent is its own button, never implied by the confirmation.
    assert "居民已同意" in doctor.labels() and "确认提交" not in doctor.labels()
    doctor.press("居民已同意")
    number = submitted_number(doctor.press("确认提交"))
    assert doctor.sent <= 4
    order = stored(app, number)
    assert order.resident_id == known.id and order.status is OrderStatus.SUBMITTED
    assert order.need_text == "胸闷气短两周，想看心内科"
    assert order.confirmed_specialty == order.suggested_specialty == "03.04"
    assert order.urgency is Urgency.ROUTINE and order.special_populations == {SpecialPopulation.ELDERLY}
    assert residents_named(app, "邱瑞鹏") == [known] or len(residents_named(app, "邱瑞鹏")) == 1
    with app.uow() as uow:
        assert uow.residents.get(known.id).has_consent
    assert any(number in t and "待初审" in t for t in chat.texts("township"))


def test_a_consented_resident_needs_only_the_line_and_the_confirmation(chat, cast, app):
    doctor = Doctor(chat)
    doctor.say("邱瑞鹏 男 1942 胸闷气短两周")
    doctor.press("居民已同意")
    doctor.press("确认提交")
    doctor.sent = 0
    card = doctor.say("/new 邱瑞鹏 眼睛花，看不清字，想尽快看")
    assert "已签署" in card and "居民已同意" not in doctor.labels()
    assert "尽快（依据：尽快）" in card  # the urgency is read from the words and shown with them
    number = submitted_number(doctor.press("确认提交"))
    assert doctor.sent == 2
    order = stored(app, number)
    assert order.confirmed_specialty == "10" and order.urgency is Urgency.SOON


@ALSO_ON_POSTGRES
def test_a_routine_order_for_a_new_resident_takes_at_most_six_messages(chat, cast, app, clock):
    doctor = Doctor(chat)
    card = doctor.say("王秀英 七十岁 腰腿疼")
    assert "王秀英" in card and "新建" in card and "1956" in card
    assert "骨科" in card and "腰腿疼" in card
    # Her sex was not given: asked on the card, not guessed.
    assert "性别" in card and {"男", "女"} <= set(doctor.labels())
    assert "确认提交" not in doctor.labels()
    doctor.press("女")
    doctor.press("居民已同意")
    number = submitted_number(doctor.press("确认提交"))
    assert doctor.sent <= 6
    order = stored(app, number)
    (resident,) = residents_named(app, "王秀英")
    assert order.resident_id == resident.id
    assert resident.sex is Sex.FEMALE and resident.birth_year == clock().year - 70 and resident.has_consent
    assert order.need_text == "腰腿疼" and order.confirmed_specialty == "04.03"
    assert SpecialPopulation.ELDERLY in order.special_populations


def test_a_need_without_a_resident_asks_for_the_resident(chat, cast, app):
    doctor = Doctor(chat)
    card = doctor.say("/new 腰腿疼好几年了，下雨天更厉害")
    assert "骨科" in card and "居民" in card and "确认提交" not in doctor.labels()
    card = doctor.say("邱航")
    assert "邱航（男，1963年生）" in card
    doctor.press("居民已同意")
    number = submitted_number(doctor.press("确认提交"))
    assert stored(app, number).need_text == "腰腿疼好几年了，下雨天更厉害"


def test_the_step_by_step_flow_still_files_an_order(chat, cast, app):
    from tests.handlers.test_order_lifecycle import file_order

    number = file_order(chat)
    assert stored(app, number).confirmed_specialty == "03.04"


# --- duplicates ----------------------------------------------------------------------------------------------


def test_adding_an_existing_resident_again_offers_the_existing_record(chat, cast, app):
    assert len(residents_named(app, "邱航")) == 1
    chat.say("doctor", "/new")
    chat.press("doctor", "新建居民")
    chat.say("doctor", "邱航")
    chat.press("doctor", "男")
    chat.say("doctor", "1963")
    assert "已有" in chat.last("doctor") and "邱航（男，1963年生）" in chat.last("doctor")
    chat.press("doctor", "就是这位")
    if "居民是否同意" in chat.last("doctor"):
        chat.press("doctor", "居民已同意")
    chat.say("doctor", "腰杆疼")
    chat.press("doctor", "骨科")
    chat.press("doctor", "常规")
    chat.press("doctor", "完成")
    chat.press("doctor", "确认提交")
    assert "已提交" in chat.last("doctor")
    assert len(residents_named(app, "邱航")) == 1


def test_a_second_open_order_of_the_same_specialty_offers_the_first(chat, cast, app):
    doctor = Doctor(chat)
    doctor.say("邱瑞鹏 男 1942 胸闷气短两周")
    doctor.press("居民已同意")
    first = submitted_number(doctor.press("确认提交"))
    card = doctor.say("邱瑞鹏 胸口闷，心慌")
    assert first in card and "确认提交" not in doctor.labels()
    assert "看原订单" in doctor.labels() and "仍然提交" in doctor.labels()
    assert first in doctor.press("看原订单")
    assert order_count(app) == 1
    doctor.press("仍然提交")  # the card becomes the confirmation (the order's card opened since stays below it)
    second = submitted_number(next(t for t in chat.texts("doctor") if "已提交" in t and first not in t))
    assert second != first and order_count(app) == 2


def test_the_step_flow_also_offers_the_open_order_of_the_same_specialty(chat, cast, app):
    from tests.handlers.test_order_lifecycle import file_order

    first = file_order(chat)
    chat.say("doctor", "/new")
    chat.say("doctor", "邱瑞鹏")
    chat.press("doctor", "邱瑞鹏")
    chat.say("doctor", "胸闷气短，走路就喘")
    chat.press("doctor", "心血管内科")
    chat.press("doctor", "常规")
    chat.press("doctor", "完成")
    assert first in chat.last("doctor")
    labels = [b.label for row in chat.screens["doctor"][-1].buttons for b in row]
    assert "看原订单" in labels and "确认提交" not in labels


# --- names -----------------------------------------------------------------------------------------------


def test_emoji_and_a_need_are_not_taken_as_a_residents_name(chat, cast, app):
    chat.say("doctor", "/new")
    chat.press("doctor", "新建居民")
    for text in ("😷🤒 发烧咳嗽三天了 🙏", "发烧咳嗽三天了"):
        chat.say("doctor", text)
        assert "姓名" in chat.last("doctor"), text
        assert "性别" not in chat.last("doctor")
    chat.say("doctor", "欧阳秀兰")
    assert "性别" in chat.last("doctor")


# --- emergencies -----------------------------------------------------------------------------------------


def alerts(app):
    with app.uow() as uow:
        return list(uow.session.exec(select(EmergencyAlertRow)))


@ALSO_ON_POSTGRES
def test_an_emergency_in_one_message_is_stopped_as_on_the_step_path(chat, cast, app):
    story = "突然胸口剧痛，满头大汗，喘不上气"
    answer = Doctor(chat).say(f"邱瑞鹏 男 1942 {story}")
    assert "120" in answer and "确认提交" not in Doctor(chat).labels()
    assert order_count(app) == 0 and len(alerts(app)) == 1
    # The step path gives the same reasons.
    chat.say("doctor", "/cancel")
    chat.say("doctor", "/new")
    chat.say("doctor", "邱瑞鹏")
    chat.press("doctor", "邱瑞鹏")
    chat.press("doctor", "居民已同意")
    chat.say("doctor", story)
    stepped = chat.last("doctor")
    assert answer.split("\n")[0] == stepped.split("\n")[0]
    assert order_count(app) == 0 and len(alerts(app)) == 2


def test_an_emergency_without_a_command_or_a_name_is_still_stopped(chat, cast, app):
    answer = Doctor(chat).say("胸口痛出冷汗，喘不上气")
    assert "120" in answer and order_count(app) == 0 and len(alerts(app)) == 1


def test_an_emergency_told_on_the_card_is_stopped_too(chat, cast, app):
    doctor = Doctor(chat)
    doctor.say("/new 邱瑞鹏 男 1942")
    doctor.press("改需求")
    answer = doctor.say("刚才突然胸口剧痛，满头大汗")
    assert "120" in answer and "确认提交" not in doctor.labels() and order_count(app) == 0


# --- what the matcher says and what the buttons offer ---------------------------------------------------------


def test_the_specialty_named_in_the_text_is_the_first_button(chat, cast):
    chat.say("doctor", "/new")
    chat.say("doctor", "邱瑞鹏")
    chat.press("doctor", "邱瑞鹏")
    chat.press("doctor", "居民已同意")
    chat.say("doctor", "想开点安眠药")
    shown = chat.screens["doctor"][-1]
    first = shown.buttons[0][0].label
    assert first.startswith("神经内科")
    assert "神经内科" in shown.text and "全科医疗科" not in shown.text


def test_a_specialty_submenu_has_a_way_back(chat, cast):
    chat.say("doctor", "/new")
    chat.say("doctor", "邱瑞鹏")
    chat.press("doctor", "邱瑞鹏")
    chat.press("doctor", "居民已同意")
    chat.say("doctor", "眼睛花，看不清字")
    chat.press("doctor", "其他科室")
    chat.press("doctor", "外科")
    chat.press("doctor", "« 返回")
    chat.press("doctor", "内科")
    chat.press("doctor", "神经内科")
    assert "紧急程度" in chat.last("doctor")
    chat.say("doctor", "/cancel")


def test_editing_the_need_runs_the_matcher_again(chat, cast, app):
    doctor = Doctor(chat)
    doctor.say("邱瑞鹏 男 1942 眼睛花，看不清字")
    doctor.press("居民已同意")
    number = submitted_number(doctor.press("确认提交"))
    chat.say("doctor", "/orders")
    chat.press("doctor", number)
    chat.press("doctor", "修改需求")
    chat.say("doctor", "胸闷气短，心慌两个月了")
    assert "心血管内科" in chat.last("doctor")
    chat.press("doctor", "改为心血管内科")
    assert stored(app, number).confirmed_specialty == "03.04"


def test_order_details_show_the_reject_reason_the_remote_time_and_the_doctors_reply(chat, cast, app):
    from tests.handlers.test_order_lifecycle import file_order

    returned = file_order(chat)
    chat.say("township", "/pending")
    chat.press("township", "退回补充")
    chat.say("township", "胸痛持续多久？")
    chat.say("doctor", "/orders")
    chat.press("doctor", returned)
    chat.press("doctor", "回复补充")
    chat.say("doctor", "两周了，活动后明显")
    chat.say("township", "/pending")
    chat.press("township", "批准")
    chat.say("hospital", "/pending")
    chat.press("hospital", "远程会诊")
    chat.press("hospital", "罗志明")
    chat.press("hospital", "雪峰镇卫生院")
    chat.say("hospital", "12月3日上午9点")
    chat.say("hospital", "视频会诊")
    chat.say("doctor", "/orders")
    chat.press("doctor", returned)
    card = chat.last("doctor")
    assert "胸痛持续多久" in card and "两周了，活动后明显" in card and "12月3日 09:00" in card and "视频会诊" in card

    rejected = file_order(chat, "腰杆疼", None)
    chat.say("township", "/pending")
    chat.press("township", "驳回")
    chat.say("township", "已在县医院住院治疗")
    chat.say("doctor", "/orders")
    chat.press("doctor", rejected)
    assert "已在县医院住院治疗" in chat.last("doctor")


# --- buttons: every platform, stale and forged presses -------------------------------------------------------


def test_the_cards_buttons_fit_wecom(chat, cast):
    doctor = Doctor(chat)
    doctor.say("王秀英 七十岁 腰腿疼，想尽快看")
    assert doctor.labels() and all(len(label) <= 10 for label in doctor.labels()), doctor.labels()
    doctor.press("女")
    assert all(len(label) <= 10 for label in doctor.labels()), doctor.labels()


def test_a_stale_card_button_is_refused_politely_and_audited(chat, cast, app):
    doctor = Doctor(chat)
    doctor.say("邱瑞鹏 男 1942 胸闷气短两周")
    shown, consent = chat.find_button("doctor", "居民已同意")
    chat.say("doctor", "/cancel")
    chat.send(Inbound("test", "doctor", "doctor", button=consent.data, update_id="stale-1",
                      message_id=shown.message_id))
    assert "按钮已失效" in chat.last("doctor")
    with app.uow() as uow:
        assert any(e.reason == "stale_step" for e in uow.audit.recent(10, action="refused"))
    assert order_count(app) == 0


# --- voice ---------------------------------------------------------------------------------------------------


def test_a_recognised_voice_message_is_shown_back_before_it_counts(chat, cast, app):
    chat.send(Inbound("test", "doctor", "doctor", text="邱瑞鹏 男 1942 胸闷气短两周", voice=True, update_id="v1"))
    assert "邱瑞鹏 男 1942 胸闷气短两周" in chat.last("doctor") and "语音" in chat.last("doctor")
    chat.press("doctor", "对，就是这样")
    assert "心血管内科" in chat.last("doctor") and "居民已同意" in Doctor(chat).labels()


def test_a_voice_message_without_text_asks_to_type(chat, cast):
    chat.send(Inbound("test", "doctor", "doctor", text=None, voice=True, update_id="v2"))
    assert "打字" in chat.last("doctor")


def refusals(app, reason):
    with app.uow() as uow:
        return [e for e in uow.audit.recent(50, action="refused") if e.reason == reason]


def test_a_confirmation_from_an_older_card_files_nothing(chat, cast, app):
    doctor = Doctor(chat)
    doctor.say("邱瑞鹏 男 1942 胸闷气短两周")
    doctor.press("居民已同意")
    old, confirm = chat.find_button("doctor", "确认提交")
    doctor.press("改为尽快")  # a newer card
    chat.send(Inbound("test", "doctor", "doctor", button=confirm.data, update_id="old-1", message_id=old.message_id))
    assert "卡片内容已更新" in "\n".join(chat.texts("doctor")[-2:])
    assert order_count(app) == 0 and refusals(app, "old_card")
    number = submitted_number(doctor.press("确认提交"))
    assert stored(app, number).urgency is Urgency.SOON


def test_an_older_cards_consent_or_resident_is_not_taken_for_another_resident(chat, cast, app):
    doctor = Doctor(chat)
    doctor.say("邱瑞鹏 男 1956 胸闷气短两周")  # not the 邱瑞鹏 on record (1942): offered, not taken
    card = chat.last("doctor")
    assert "新建居民" in card and "邱瑞鹏（男，1942年生）" in card
    shown, offered = chat.find_button("doctor", "邱瑞鹏（1942）")
    _, consent = chat.find_button("doctor", "居民已同意")
    doctor.press("改居民")
    doctor.say("王秀英 女 1956")
    for n, button in enumerate((offered, consent)):
        chat.send(Inbound("test", "doctor", "doctor", button=button.data, update_id=f"old-{n}",
                          message_id=shown.message_id))
        assert "卡片内容已更新" in "\n".join(chat.texts("doctor")[-2:])
        assert "王秀英（女，1956年生），新建居民" in chat.last("doctor")
        assert "居民已同意" in doctor.labels()  # 王秀英's consent is still to be asked: 邱瑞鹏's card gave none
    assert len(refusals(app, "old_card")) == 2


def test_the_homonym_on_record_can_be_chosen_instead_of_a_new_resident(chat, cast, app):
    doctor = Doctor(chat)
    (known,) = residents_named(app, "邱瑞鹏")
    doctor.say("邱瑞鹏 男 1956 胸闷气短两周")
    card = doctor.press("邱瑞鹏（1942）")
    assert "本村已登记" in card and "1942" in card
    doctor.press("居民已同意")
    number = submitted_number(doctor.press("确认提交"))
    assert stored(app, number).resident_id == known.id and len(residents_named(app, "邱瑞鹏")) == 1


def test_a_typed_fragment_on_the_card_searches_the_post(chat, cast, app):
    doctor = Doctor(chat)
    doctor.say("腰腿疼好几年了")
    chat.say("doctor", "邱")
    labels = Doctor(chat).labels()
    assert any("邱航" in label for label in labels) and any("邱瑞鹏" in label for label in labels)
    card = doctor.press("邱航")
    assert "邱航（男，1963年生），本村已登记" in card


def test_a_new_line_while_a_card_is_open_says_the_old_card_was_dropped(chat, cast, app):
    doctor = Doctor(chat)
    doctor.say("邱瑞鹏 男 1942 胸闷气短两周")
    doctor.say("邱航 男 1963 腰杆疼")
    assert any("没有提交，已放弃" in t and "邱瑞鹏" in t for t in chat.texts("doctor")[-2:])
    assert "邱航（男，1963年生）" in chat.last("doctor") and order_count(app) == 0


def test_details_given_before_the_name_are_kept(chat, cast, app, clock):
    doctor = Doctor(chat)
    card = doctor.say("女 七十二岁 膝盖疼，上下楼更疼")
    assert "居民：未填写" in card
    card = doctor.say("林秀兰")
    assert f"林秀兰（女，{clock().year - 72}年生，按72岁推算），新建居民" in card


def test_a_consent_asked_for_one_resident_is_not_taken_for_the_next(chat, cast, app):
    chat.say("doctor", "/new")
    chat.say("doctor", "邱瑞鹏")
    chat.press("doctor", "邱瑞鹏")
    shown, consent = chat.find_button("doctor", "居民已同意")
    chat.say("doctor", "/new")
    chat.say("doctor", "邱航")
    chat.press("doctor", "邱航")
    assert "居民是否同意" in chat.last("doctor")
    chat.send(Inbound("test", "doctor", "doctor", button=consent.data, update_id="c-1", message_id=shown.message_id))
    assert "按钮已失效" in chat.last("doctor") and refusals(app, "another_resident")
    with app.uow() as uow:
        (qiu_hang,) = [r for r in uow.residents.in_villages([VILLAGE], "邱航")]
        assert not qiu_hang.has_consent


def test_a_card_that_offers_a_resident_who_then_withdraws_is_cleared(chat, cast, app, clock):
    doctor = Doctor(chat)
    (known,) = residents_named(app, "邱瑞鹏")
    doctor.say("邱瑞鹏 男 1956 胸闷气短两周")  # offers the 邱瑞鹏 on record (1942) beside a new one
    with app.uow() as uow:
        uow.residents.forget(known.id, clock())
        uow.commit()
        acc = uow.chat.account("test", "doctor")
        assert acc.step is None and "1942" not in str(acc.draft)


def test_an_answer_to_the_township_runs_the_matcher_again(chat, cast, app):
    doctor = Doctor(chat)
    doctor.say("邱瑞鹏 男 1942 老人不舒服")
    doctor.press("居民已同意")
    number = submitted_number(doctor.press("确认提交"))
    assert stored(app, number).confirmed_specialty == "02"
    chat.say("township", "/pending")
    chat.press("township", "退回补充")
    chat.say("township", "哪里不舒服？")
    chat.say("doctor", "/orders")
    chat.press("doctor", number)
    chat.press("doctor", "回复补充")
    chat.say("doctor", "眼睛花，看不清字，眼睛干涩")
    assert "已补充并重新提交" in chat.last("doctor") and "眼科" in chat.last("doctor")
    chat.press("doctor", "改为眼科")
    assert stored(app, number).confirmed_specialty == "10"
    assert any(number in t and "眼科" in t for t in chat.texts("township")[-2:])
