"""A decision button decides only the order as it was shown: after an edit or an answered return it is refused,
the reviewer sees the new card, and the township hears of the edit. Through the conversation, on both databases."""

from __future__ import annotations

import itertools

from domain.orders import OrderStatus
from domain.staff import Role
from handlers import Inbound
from tests.conftest import ALSO_ON_POSTGRES
from tests.handlers.test_order_lifecycle import file_order, stored

EDITED = "膝盖疼了两个月，上下楼梯加重，夜里也疼"


def edit(chat, number: str, text: str = EDITED) -> None:
    """The village doctor opens the order from /orders and changes its need text."""
    chat.say("doctor", "/orders")
    chat.press("doctor", number)
    chat.press("doctor", "修改")
    chat.say("doctor", text)
    assert "已修改" in chat.last("doctor"), chat.texts("doctor")[-3:]


_PRESSES = itertools.count(1)


def press_exact(chat, user: str, shown, button) -> None:
    """``user`` presses this very button on this (older) card, as a client can."""
    chat.send(Inbound(chat.platform, user, user, button=button.data, update_id=f"old-{next(_PRESSES)}",
                      message_id=shown.message_id))


def refusals(app, reason: str) -> list:
    with app.uow() as uow:
        return [e for e in uow.audit.recent(100, action="refused") if e.reason == reason]


def test_an_approve_button_shown_before_an_edit_is_refused_and_the_new_card_shown(chat, cast, app):
    number = file_order(chat)
    chat.say("township", "/pending")
    old_card, approve = chat.find_button("township", "批准")
    edit(chat, number)
    press_exact(chat, "township", old_card, approve)
    assert stored(app, number).status is OrderStatus.SUBMITTED
    assert "已被修改" in old_card.text and "未执行" in old_card.text
    new_card = chat.screens["township"][-1]
    assert EDITED in new_card.text and any("批准" in b.label for row in new_card.buttons for b in row)
    assert refusals(app, "order_changed")
    # The new card's button decides the order as it is now.
    chat.press("township", "批准")
    assert stored(app, number).status is OrderStatus.TOWNSHIP_APPROVED


def test_an_edit_of_a_submitted_order_notifies_the_township(chat, cast, app):
    number = file_order(chat)
    before = len(chat.texts("township"))
    edit(chat, number)
    told = chat.texts("township")[before:]
    assert any(number in t and "修改" in t for t in told), told


@ALSO_ON_POSTGRES
def test_a_return_button_pressed_before_an_edit_and_answered_after_is_refused(chat, cast, app):
    number = file_order(chat)
    chat.say("township", "/pending")
    chat.press("township", "退回")  # asks for the question …
    edit(chat, number)  # … meanwhile the doctor changes the order
    chat.say("township", "请补充血压")
    assert stored(app, number).status is OrderStatus.SUBMITTED
    assert any("已被修改" in t for t in chat.texts("township")[-3:])


def test_approve_all_skips_an_order_changed_after_the_list_was_shown(chat, cast, app):
    first = file_order(chat)
    second = file_order(chat, need="腰痛三个月，弯腰困难，想看骨科", specialty=None)
    chat.say("township", "/pending")
    chat.find_button("township", "全部常规订单")
    edit(chat, second)
    chat.press("township", "全部常规订单")
    assert stored(app, first).status is OrderStatus.TOWNSHIP_APPROVED
    assert stored(app, second).status is OrderStatus.SUBMITTED
    batch = next(t for t in chat.texts("township") if "已批准" in t)  # the list's batch message, edited
    assert first in batch and second in batch.split("已被修改")[1], batch


@ALSO_ON_POSTGRES
def test_a_hospital_disposition_on_an_order_answered_after_a_return_is_refused(chat, cast, app):
    number = file_order(chat)
    chat.say("township", "/pending")
    chat.press("township", "批准")
    chat.say("hospital", "/pending")
    old_card, local = chat.find_button("hospital", "乡镇处理")
    # The order changes after the hospital saw it (a reviewer corrects it; stands for any change).
    with app.uow() as uow:
        o = uow.orders.by_number(number)
        o.confirm_specialty("04.03", actor_staff_id=o.filed_by_staff_id, actor_role=Role.TOWNSHIP_REVIEWER,
                            now=o.created_at)
        uow.orders.save(o)
        uow.commit()
    press_exact(chat, "hospital", old_card, local)
    assert stored(app, number).status is OrderStatus.TOWNSHIP_APPROVED
    assert "已被修改" in old_card.text
    assert any("骨科" in t for t in chat.texts("hospital")[-2:])


def test_an_approve_button_shown_before_the_resident_was_erased_decides_nothing(chat, cast, app):
    """Erasure changes the order (its need text is gone): a card shown before it cannot approve it."""
    number = file_order(chat)
    chat.say("township", "/pending")
    old_card, approve = chat.find_button("township", "批准")
    order = stored(app, number)
    with app.uow() as uow:
        uow.residents.forget(order.resident_id, order.updated_at)
        uow.commit()
    press_exact(chat, "township", old_card, approve)
    assert stored(app, number).status is OrderStatus.SUBMITTED
    assert refusals(app, "order_changed")
