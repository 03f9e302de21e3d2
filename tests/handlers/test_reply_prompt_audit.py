"""Review finding: a typed reply refused because it fits only an expired list is audited naming that list, as it was
when every list was a chat_prompt row (since migration 0014 the list shown in answer to the person's own message
rides on their account row and has no id: the audit said "None")."""

from __future__ import annotations

from datetime import timedelta


def test_a_reply_to_an_expired_list_is_audited_with_something_that_names_it(chat, cast, app, clock):
    chat.say("doctor", "/survey")  # one choice: 下载模板
    assert chat.screens["doctor"][-1].buttons
    clock.now += timedelta(days=2)  # the list no longer means anything
    chat.say("doctor", "1")
    assert "「1」" in chat.last("doctor"), chat.last("doctor")
    with app.uow() as uow:
        [refused] = uow.audit.recent(1, action="refused")
    assert (refused.entity, refused.reason) == ("prompt", "expired")
    assert refused.entity_id not in ("None", "", None), refused.entity_id
