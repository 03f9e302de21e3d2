"""The catalogue and a resident's rights (PIPL): the catalogue itself names nobody; what an order's need matched is
health data of that resident, shown to them by /mydata and erased when they are forgotten (/forget, confirmed)."""

from __future__ import annotations

from handlers.services import catalogue as cat
from tests.catalogue.test_catalogue_chat import adopt
from tests.handlers.test_onboarding import issued_link
from tests.handlers.test_order_lifecycle import file_order, stored


def test_a_resident_sees_what_their_need_matched_and_it_goes_when_they_are_forgotten(chat, cast, app):
    adopt(chat)
    number = file_order(chat, "血压高，头晕，想开降压药", specialty=None)
    order = stored(app, number)
    chat.say("grandpa", f"/start r_{issued_link(chat)}")
    chat.say("grandpa", "/mydata")
    assert number in chat.last("grandpa") and "首诊病种：高血压" in chat.last("grandpa")
    chat.say("grandpa", "/forget")
    chat.press("grandpa", "确定撤回并删除")
    chat.press("doctor", "确认删除")
    assert "已撤回同意" in chat.last("grandpa")
    with app.uow() as uow:
        assert cat.order_match(uow, order.id) is None
        assert cat.catalogue_on(uow, "TC350421101", order.created_at.date()).size == 80  # the catalogue stays
