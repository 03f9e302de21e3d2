"""The first-diagnosis catalogue (基层首诊病种目录, issue 20 part 3) in chat, through the real handlers.

雪峰镇卫生院 (S0005, township reviewer) adopts the shared starting list, lists it page by page within WeCom's 2,048
bytes a message, asks "can this be treated here?"; the village doctor of 城东村 (S0006) asks the same of the center
that supports their post. An order whose need is in the catalogue shows the township reviewer the matched disease,
and 本院处理 as the first button; pressing it keeps the resident at the township (handled locally).
"""

from __future__ import annotations

from domain.orders import Disposition, OrderStatus
from tests.conftest import ALSO_ON_POSTGRES
from tests.handlers.test_order_lifecycle import file_order, stored

WECOM_LIMIT = 2048


def adopt(chat) -> None:
    chat.say("township", "/catalogue 采用默认")
    assert "已采用" in chat.last("township"), chat.texts("township")[-3:]


def refusals(app) -> list[tuple[str, str | None]]:
    with app.uow() as uow:
        return [(e.entity, e.reason) for e in uow.audit.recent(200) if e.action == "refused"]


def test_a_township_without_a_catalogue_is_told_how_to_start_one(chat, cast):
    chat.say("township", "/catalogue")
    assert "尚未" in chat.last("township") and "/catalogue 采用默认" in chat.last("township")


def test_the_township_adopts_the_starting_list_and_lists_it_in_pages_that_fit_wecom(chat, cast):
    adopt(chat)
    assert "80" in chat.last("township")  # the shared list's size, said back
    chat.say("township", "/catalogue")
    first = chat.last("township")
    assert "雪峰镇卫生院" in first and "高血压（I10）" in first
    assert "50" in first  # an ordinary township center's target (not a central one's 80)
    assert len(first.encode("utf-8")) <= WECOM_LIMIT
    seen = [first]
    for _ in range(10):
        labels = [b.label for row in chat.screens["township"][-1].buttons for b in row]
        if "下一页" not in labels:
            break
        chat.press("township", "下一页")
        seen.append(chat.last("township"))
        assert len(chat.last("township").encode("utf-8")) <= WECOM_LIMIT
    assert len(seen) >= 2
    everything = "\n".join(seen)
    assert "2型糖尿病（E11）" in everything and "慢性胃炎（K29.5）" in everything


def test_asking_whether_a_complaint_is_treated_here_names_the_entry_and_the_words(chat, cast):
    adopt(chat)
    chat.say("township", "/catalogue 血压高")
    answer = chat.last("township")
    assert "高血压（I10）" in answer and "血压高" in answer and "可在本院首诊" in answer
    chat.say("doctor", "/catalogue 最近血糖高，口渴")
    answer = chat.last("doctor")
    assert "2型糖尿病（E11）" in answer and "血糖高" in answer and "雪峰镇卫生院" in answer
    chat.say("doctor", "/catalogue 眼睛里长了个东西要做手术")
    assert "不在" in chat.last("doctor")


def test_the_township_edits_its_catalogue_and_the_village_doctor_sees_the_change(chat, cast):
    adopt(chat)
    chat.say("township", "/catalogue 删除 高血压")
    assert "已移出" in chat.last("township")
    chat.say("doctor", "/catalogue 血压高")
    assert "不在" in chat.last("doctor")
    chat.say("township", "/catalogue 添加 高血压 I10")
    assert "已加入" in chat.last("township")
    chat.say("doctor", "/catalogue 血压高")
    assert "高血压（I10）" in chat.last("doctor")
    chat.say("doctor", "/catalogue 删除 高血压")  # a village doctor reads the list, never edits it
    assert "高血压（I10）" not in chat.last("doctor") or "不能" in chat.last("doctor")
    chat.say("doctor", "/catalogue 血压高")
    assert "高血压（I10）" in chat.last("doctor")


def test_bad_input_to_catalogue_gets_a_polite_answer_and_an_audit_entry(chat, cast, app):
    adopt(chat)
    for text in ("/catalogue 😀😀😀", "/catalogue 🙂血压高🙂"):
        chat.say("doctor", text)
        assert "Traceback" not in chat.last("doctor")
    assert "高血压（I10）" in chat.last("doctor")  # emoji around the words do not hide them
    chat.say("doctor", "/catalogue " + "头痛" * 300)  # within a message's limit, past a complaint's
    assert "太长" in chat.last("doctor") and "500" in chat.last("doctor")
    chat.say("doctor", "/catalogue " + "头痛" * 3000)  # past a message's limit: the conversation's own answer
    assert "太长" in chat.last("doctor")
    chat.say("township", "/catalogue 添加 " + "😀" * 5)
    assert "病名" in chat.last("township")
    chat.say("township", "/catalogue 添加 高血压病 XYZ")
    assert "ICD-10" in chat.last("township")
    chat.say("township", "/catalogue 删除 不存在的病")
    assert "没有" in chat.last("township")
    reasons = {r for e, r in refusals(app) if e == "catalogue"}
    assert {"catalogue.too_long", "catalogue.bad_disease", "catalogue.bad_icd10", "catalogue.not_listed"} <= reasons


def test_a_matching_order_shows_the_entry_on_the_township_card_with_handle_locally_first(chat, cast, app):
    adopt(chat)
    number = file_order(chat, "最近血压高，头晕，想开点降压药", specialty=None)
    chat.say("township", "/pending")
    card = next(s for s in reversed(chat.screens["township"]) if number in s.text)
    assert "本院首诊病种：高血压" in card.text
    assert card.buttons[0][0].label == "本院处理"
    chat.press("township", "本院处理")
    order = stored(app, number)
    assert order.status is OrderStatus.HANDLED_LOCALLY and order.disposition is Disposition.LOCAL
    assert any(number in t and "乡镇卫生院首诊处理" in t for t in chat.texts("doctor")[-3:])
    assert not any(number in t for t in chat.texts("hospital"))  # the hospital is not asked at all


def test_an_order_outside_the_catalogue_keeps_the_usual_card(chat, cast):
    adopt(chat)
    number = file_order(chat, "眼睛花，看不清字，眼睛干涩", specialty=None)
    chat.say("township", "/pending")
    card = next(s for s in reversed(chat.screens["township"]) if number in s.text)
    assert "本院首诊病种" not in card.text
    assert card.buttons[0][0].label == "批准"


@ALSO_ON_POSTGRES
def test_handle_locally_is_refused_to_the_village_doctor_and_after_the_order_moved_on(chat, cast, app):
    adopt(chat)
    number = file_order(chat, "血压高，头晕", specialty=None)
    chat.say("township", "/pending")
    shown, button = chat.find_button("township", "本院处理")
    from handlers import Inbound

    chat.send(Inbound("test", "doctor", "doctor", button=button.data, update_id="forged-1",
                      message_id=shown.message_id))
    assert stored(app, number).status is OrderStatus.SUBMITTED
    chat.press("township", "批准")
    assert stored(app, number).status is OrderStatus.TOWNSHIP_APPROVED
    chat.send(Inbound("test", "township", "township", button=button.data, update_id="again-1",
                      message_id=shown.message_id))
    assert stored(app, number).status is OrderStatus.TOWNSHIP_APPROVED


def test_an_edited_need_is_looked_up_again(chat, cast):
    adopt(chat)
    number = file_order(chat, "眼睛花，看不清字", specialty=None)
    chat.say("doctor", "/orders")
    chat.press("doctor", number)
    chat.press("doctor", "修改需求")
    chat.say("doctor", "其实是血压高，头晕两周")
    chat.say("township", "/pending")
    card = next(s for s in reversed(chat.screens["township"]) if number in s.text)
    assert "本院首诊病种：高血压" in card.text and card.buttons[0][0].label == "本院处理"
    chat.say("doctor", "/orders")
    chat.press("doctor", number)
    chat.press("doctor", "修改需求")
    chat.say("doctor", "眼睛花，看不清字，想配眼镜")
    chat.say("township", "/pending")
    card = next(s for s in reversed(chat.screens["township"]) if number in s.text)
    assert "本院首诊病种" not in card.text and card.buttons[0][0].label == "批准"


def test_handle_locally_forged_for_an_order_outside_the_catalogue_is_refused_and_audited(chat, cast, app, clock):
    from handlers import Inbound

    adopt(chat)
    number = file_order(chat, "眼睛花，看不清字", specialty=None)
    order = stored(app, number)
    with app.uow() as uow:
        acc = uow.chat.account("test", "township")
        token = uow.chat.new_button(acc.id, "tw.local", {"id": order.id, "v": order.version}, clock())
        uow.commit()
    chat.send(Inbound("test", "township", "township", button=token, update_id="forged-local"))
    assert "不在本院首诊病种目录内" in chat.last("township")
    assert stored(app, number).status is OrderStatus.SUBMITTED
    assert ("order", "catalogue.not_in_catalogue") in refusals(app)


def test_approve_all_leaves_an_order_in_the_catalogue_to_its_own_card(chat, cast, app):
    adopt(chat)
    plain = [file_order(chat, need, specialty=None) for need in ("眼睛花，看不清字", "耳朵嗡嗡响，听不清")]
    local = file_order(chat, "血压高，头晕", specialty=None)
    chat.say("township", "/pending")
    chat.press("township", "批准本村全部常规订单")
    assert [stored(app, n).status for n in plain] == [OrderStatus.TOWNSHIP_APPROVED] * 2
    assert stored(app, local).status is OrderStatus.SUBMITTED
