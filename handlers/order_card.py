"""One message, one card: a routine order from a line such as "邱瑞鹏 男 1956 胸闷气短两周，想看心内科" (issue 18).

The line is read by ``nlp.intake`` (resident, need, urgency and population cues); the resident is looked up among
the post's residents; the need goes through the matcher and the red flags exactly as on the step-by-step path
(an emergency stops here too). The answer is one card: resident (found or new), the separate consent, the need,
the proposed specialty with its words, urgency, flags, and a button to confirm or change each line. What the line
does not say is asked on the card, never guessed. The draft is conversation state in the database like every
other step (``new.card``); every press is checked against it, and a card shown before a change confirms nothing.
"""

from __future__ import annotations

from typing import Any

from domain.orders import MAX_NEED_TEXT
from domain.specialties import catalogue
from domain.staff import MAX_NAME, Resident, Role, is_person_name
from handlers.core import Button, Ctx, Router, has_meaning
from handlers.filing import (
    age_of,
    classify,
    file_order,
    has_current_consent,
    has_need_words,
    on_step,
    open_twins,
    populations_for_age,
    post_village,
    refuse,
    resident_line,
    specialty_prompt,
    specialty_rows,
    specialty_text,
    stop_for_emergency,
    suggestions_of,
    twin_rows,
    twin_warning,
    twins_acknowledged,
)
from handlers.texts import t
from nlp.intake import Intake, need_rather_than_name, read_cues, read_intake

router = Router()
VD = Role.VILLAGE_DOCTOR
STEP = "new.card"
OFFERS = 3  # residents of the same or a similar name offered on the card
SEARCH_FRAGMENT = 4  # a typed name this short with no exact match is searched as part of a name
MIN_BIRTH_YEAR = 1900


# --- reading a line ---------------------------------------------------------------------------------------


def _named(ctx: Ctx, village: str, name: str) -> list[Resident]:
    """Residents of the village whose name contains ``name`` (exact ones first)."""
    found = ctx.uow.residents.in_villages([village], name[:MAX_NAME])
    return sorted(found, key=lambda r: (r.name != name, r.name, r.id or 0))


def read_line(ctx: Ctx, text: str) -> Intake:
    """The line read with the tokenizer's dictionary and the post's residents (a word can still be a name)."""
    _, village = post_village(ctx)
    is_word = getattr(ctx.services.matcher, "is_word", None)
    return read_intake(text, ctx.today, is_word=is_word or (lambda w: False),
                       is_resident=lambda n: any(r.name == n for r in _named(ctx, village, n)))


def _usable_need(need: str) -> bool:
    return bool(need) and has_meaning(need) and len(need) <= MAX_NEED_TEXT


def try_start(ctx: Ctx, text: str) -> bool:
    """Start a card if ``text`` reads as an order (a resident's details, a name with a need, or words that point to
    a specialty or an emergency); False leaves the text to the caller (a name to search, a stray "好的")."""
    intake = read_line(ctx, text)
    need = intake.need if _usable_need(intake.need) else ""
    first = None
    if need:
        first = classify(ctx, need, {"sex": intake.sex, "birth_year": intake.birth_year, "age": intake.age},
                         whole=text)
    if not (intake.has_resident_details or (intake.name and need) or (first is not None and has_need_words(first))):
        return False
    ctx.acc.start(STEP, ctx.now, via="card", v=0)
    _take_resident(ctx, intake)
    if need and not _set_need(ctx, need, whole=text, prior=first):
        return True
    show(ctx)
    return True


# --- the resident -------------------------------------------------------------------------------------------


def _take_resident(ctx: Ctx, intake: Intake) -> None:
    """The resident as the line states them. A new name replaces everything about the previous resident; the
    first name given keeps what the line said without one ("男 70岁 胸闷", then "王秀英")."""
    d = ctx.acc.draft
    first_name = not d.get("name") and not d.get("rid")
    fields: dict[str, object] = {"name": intake.name, "rid": None, "picked": False, "twin_ok": False,
                                 "sex": intake.sex or (d.get("sex") if first_name else None)}
    if intake.birth_year or intake.age is not None or intake.bad_year or not first_name:
        fields.update(birth_year=intake.birth_year, age=intake.age, age_approx=intake.age_approximate,
                      bad_year=intake.bad_year)
    ctx.acc.advance(STEP, ctx.now, **fields)
    _resolve(ctx)


def _details(ctx: Ctx, intake: Intake) -> None:
    """Sex, birth year or age typed on their own ("女", "1956", "70岁") complete a new resident."""
    d = ctx.acc.draft
    updates: dict[str, object] = {}
    if intake.sex:
        updates["sex"] = intake.sex
    if intake.birth_year or intake.age is not None or intake.bad_year:
        updates.update(birth_year=intake.birth_year, age=intake.age, age_approx=intake.age_approximate,
                       bad_year=intake.bad_year)
    if updates and not d.get("rid"):
        ctx.acc.advance(STEP, ctx.now, **updates)
        _resolve(ctx)


def _fits(r: Resident, d: dict[str, Any], year: int) -> bool:
    """Whether a resident of the stated name agrees with the stated sex, birth year or age."""
    if d.get("sex") and r.sex.value != d["sex"]:
        return False
    if d.get("birth_year"):
        slack = 1 if d.get("age") is not None else 0  # a birth year worked out from an age may be a year off
        return abs(r.birth_year - int(d["birth_year"])) <= slack
    if d.get("age") is not None and d.get("age_approx"):
        return 0 <= (year - r.birth_year) - int(d["age"]) <= 9
    return True


def _offer(ctx: Ctx, residents: list[Resident]) -> list[list[Any]]:
    """[id, name, birth year, line] of residents shown on the card (each shown is a read of personal data)."""
    out = []
    for r in residents[:OFFERS]:
        ctx.audit("read", "resident", str(r.id), detail={"purpose": "order_card"})
        out.append([r.id, r.name, r.birth_year, resident_line(r)])
    return out


def _record(ctx: Ctx, r: Resident) -> dict[str, object]:
    ctx.audit("read", "resident", str(r.id), detail={"purpose": "order_card"})
    return {"rid": r.id, "name": r.name, "sex": r.sex.value, "birth_year": r.birth_year, "age": None,
            "age_approx": False, "bad_year": None, "on_file": has_current_consent(ctx, r), "homonyms": [],
            "ambiguous": False, "similar": False}


def _resolve(ctx: Ctx) -> None:
    """Find the stated resident among the post's: one who agrees is linked; several are offered to choose from;
    others of the same (or a similar) name are shown; nobody means a new resident."""
    d = ctx.acc.draft
    if d.get("picked"):
        return
    updates: dict[str, object] = {"rid": None, "on_file": False, "homonyms": [], "ambiguous": False, "similar": False}
    name = d.get("name")
    if isinstance(name, str) and name:
        _, village = post_village(ctx)
        like = _named(ctx, village, name)
        named = [r for r in like if r.name == name]
        agreeing = [r for r in named if _fits(r, d, ctx.today.year)]
        if agreeing and not d.get("twin_ok"):
            if len(agreeing) == 1:
                updates = _record(ctx, agreeing[0])
            else:
                updates.update(homonyms=_offer(ctx, agreeing), ambiguous=True)
        elif named and not d.get("twin_ok"):
            updates["homonyms"] = _offer(ctx, named)
        elif like and not d.get("twin_ok"):
            updates.update(homonyms=_offer(ctx, like), similar=True)
    ctx.acc.advance(STEP, ctx.now, **updates)


def _resident_text(ctx: Ctx, text: str) -> None:
    """A name typed for the card ("王秀英 女 1956", "邱航", or "邱" to search)."""
    intake = read_line(ctx, text)
    if intake.name is None:
        query = text.strip()
        if 1 <= len(query) <= SEARCH_FRAGMENT and all("\u4e00" <= ch <= "\u9fff" for ch in query):
            _, village = post_village(ctx)
            found = _named(ctx, village, query)
            if found and not any(r.name == query for r in found):  # part of a name: the residents it fits
                offers = _offer(ctx, found)
                ctx.acc.advance(STEP, ctx.now, choices=[o[0] for o in offers])
                v = ctx.acc.draft.get("v")
                rows = [[ctx.btn(line, "card.pick", rid=rid, v=v)] for rid, _n, _y, line in offers]
                rows.append([ctx.btn(t("card.btn.back"), "card.back")])
                ctx.reply(t("new.found"), rows)
                return
        if len(query) < 2:
            ctx.reply(t("card.not_found", query=query))
            return
        if not is_person_name(query) or need_rather_than_name(query, _matched(ctx.services.matcher.classify(query))):
            ctx.reply(t("new.name_invalid"))
            return
        intake = Intake(need="", name=query)  # a name the reader could not tell from a word ("文静", "阿依古丽")
    ctx.acc.advance(STEP, ctx.now, choices=[])
    _take_resident(ctx, intake)
    if _usable_need(intake.need):
        if not _set_need(ctx, intake.need, whole=text):
            return
    elif not _derive(ctx):
        return
    show(ctx)


def _matched(result: Any) -> list[str]:
    return [w for s in getattr(result, "specialties", ()) for w in s.matched]


# --- the need ---------------------------------------------------------------------------------------------------


def _set_need(ctx: Ctx, need: str, *, whole: str | None = None, prior: Any = None) -> bool:
    """A new need: the matcher and the red flags run again on it. False if it stopped (emergency, bad text)."""
    if not has_meaning(need):
        ctx.reply(t("no_meaning"))
        return False
    if len(need) > MAX_NEED_TEXT:
        ctx.reply(t("order.need.too_long", limit=MAX_NEED_TEXT))
        return False
    ctx.acc.advance(STEP, ctx.now, need=need, specialty_chosen=False, urgency_chosen=False,
                    populations_chosen=False, override_need=None)
    return _derive(ctx, whole=whole, prior=prior)


def _derive(ctx: Ctx, *, whole: str | None = None, prior: Any = None) -> bool:
    """Everything the need and the resident tell: specialties, urgency, populations; an emergency stops filing
    (unless the doctor already judged this very need no emergency). False if it stopped."""
    d = ctx.acc.draft
    need = d.get("need")
    if not isinstance(need, str) or not need:
        populations = populations_for_age(age_of(d, ctx.today.year))
        if not d.get("populations_chosen"):
            ctx.acc.advance(STEP, ctx.now, populations=populations, pop_words={})
        return True
    result = classify(ctx, need, d, whole=whole)
    if prior is not None and prior.emergency and not result.emergency:
        result = prior
    soon, calm, cues = read_cues(need)
    updates: dict[str, object] = {"suggestions": suggestions_of(result), "low": result.low_confidence}
    if not d.get("specialty_chosen"):
        updates["specialty"] = result.specialties[0].code if result.specialties else None
    if not d.get("urgency_chosen"):
        urgent = bool(soon) and not calm
        updates.update(urgency="soon" if urgent else "routine", soon_words=list(soon) if urgent else [])
    if not d.get("populations_chosen"):
        populations = populations_for_age(age_of(d, ctx.today.year))
        populations += [p for p, _w in cues if p not in populations]
        updates.update(populations=populations, pop_words=dict(cues))
    ctx.acc.advance(STEP, ctx.now, **updates)
    if result.emergency and not (d.get("emergency_override") and d.get("override_need") == need):
        ctx.acc.advance(STEP, ctx.now, override_need=need)
        stop_for_emergency(ctx, result, back=STEP)
        return False
    return True


# --- the card -------------------------------------------------------------------------------------------------


def _consent_valid(d: dict[str, Any]) -> bool:
    """The consent pressed on this card counts only for the resident it was given for."""
    return bool(d.get("consent")) and d.get("consent_for") == [d.get("rid"), d.get("name")]


def _missing(d: dict[str, Any]) -> list[str]:
    missing = []
    if not d.get("name"):
        missing.append("name")
    elif not d.get("rid"):
        if d.get("ambiguous"):
            missing.append("homonym")
        if not d.get("sex"):
            missing.append("sex")
        if not d.get("birth_year"):
            missing.append("birth_year")
    if d.get("name") and not (d.get("on_file") or _consent_valid(d)):
        missing.append("consent")
    if not d.get("need"):
        missing.append("need")
    elif not d.get("specialty"):
        missing.append("specialty")
    return missing


def _resident_lines(ctx: Ctx, d: dict[str, Any]) -> list[str]:
    name = d.get("name")
    if not name:
        return [t("card.resident_missing")]
    if d.get("rid"):
        sex = t("new.sex." + str(d.get("sex")))
        return [t("card.resident_found", resident=f"{name}（{sex}，{d.get('birth_year')}年生）")]
    sex = t("new.sex." + str(d["sex"])) if d.get("sex") else t("card.sex_missing")
    if d.get("birth_year") and d.get("age") is not None:
        year = t("card.year_from_age", year=d["birth_year"], age=d["age"])
    elif d.get("birth_year"):
        year = t("card.year", year=d["birth_year"])
    else:
        year = t("card.year_missing")
    lines = [t("card.resident_new", name=name, sex=sex, year=year)]
    if not d.get("sex"):
        lines.append(t("card.ask_sex"))
    if d.get("bad_year"):
        lines.append(t("card.bad_year", year=d["bad_year"], min=MIN_BIRTH_YEAR, max=ctx.today.year))
    elif not d.get("birth_year") and d.get("age") is not None and d.get("age_approx"):
        lines.append(t("card.ask_year_approx", age=d["age"], example=ctx.today.year - int(d["age"]) - 5))
    elif not d.get("birth_year"):
        lines.append(t("card.ask_year"))
    offers = d.get("homonyms") or []
    if offers:
        listed = "、".join(line for _i, _n, _y, line in offers)
        if d.get("ambiguous"):
            lines.append(t("card.homonyms_pick", count=len(offers), name=name, residents=listed))
        elif d.get("similar"):
            lines.append(t("card.similar", name=name, residents=listed))
        else:
            lines.append(t("card.homonyms", residents=listed))
    return lines


def _populations_text(d: dict[str, Any]) -> str:
    words = d.get("pop_words") or {}
    shown = []
    for p in d.get("populations") or []:
        name = t(f"population.{p}")
        shown.append(t("card.population_word", population=name, word=words[p]) if p in words else name)
    return "、".join(shown) or t("card.populations_none")


def show(ctx: Ctx) -> None:
    """The card as the draft stands; its buttons carry the card's version, so an older card confirms nothing."""
    d = ctx.acc.draft
    version = int(d.get("v") or 0) + 1
    ctx.acc.advance(STEP, ctx.now, v=version, awaiting=None)
    lines = [t("card.title"), *_resident_lines(ctx, d)]
    if d.get("name"):
        if d.get("on_file"):
            lines.append(t("card.consent_on_file", version=ctx.services.consent_version))
        elif _consent_valid(d):
            lines.append(t("card.consent_given"))
        else:
            lines.append(t("card.consent_needed", name=d["name"], version=ctx.services.consent_version))
    if d.get("need"):
        lines.append(t("card.need", need=d["need"]))
        lines.append(t("card.specialty", specialty=specialty_text(d)))
    else:
        lines.append(t("card.need_missing"))
    urgency = t(f"urgency.{d.get('urgency') or 'routine'}")
    if d.get("soon_words"):
        urgency = t("card.urgency_words", urgency=urgency, words="、".join(d["soon_words"]))
    lines.append(t("card.urgency", urgency=urgency))
    lines.append(t("card.populations", populations=_populations_text(d)))
    if d.get("emergency_override"):
        lines.append(t("order.emergency_mark", reasons=d.get("reasons") or "危险信号"))
    twins = open_twins(ctx, d.get("rid"), d.get("specialty"))
    if twins:
        lines.append(twin_warning(ctx, twins, d.get("name")))
    rows: list[list[Button]] = []
    if d.get("name") and not d.get("rid") and not d.get("sex"):
        rows.append([ctx.btn(t("new.sex.M"), "card.sex", sex="M", v=version),
                     ctx.btn(t("new.sex.F"), "card.sex", sex="F", v=version)])
    offers = d.get("homonyms") or []
    if offers:
        rows.append([ctx.btn(t("card.btn.pick", name=n, year=y), "card.pick", rid=i, v=version)
                     for i, n, y, _line in offers])
        if d.get("ambiguous"):
            rows.append([ctx.btn(t("card.btn.new_twin"), "card.new_twin", v=version)])
    if d.get("name") and not d.get("on_file") and not _consent_valid(d):
        rows.append([ctx.btn(t("new.consent_yes"), "card.consent", yes=True, v=version),
                     ctx.btn(t("new.consent_no"), "card.consent", yes=False, v=version)])
    if not _missing(d):
        if twins:
            rows.append(twin_rows(ctx, twins, "card.confirm", v=version))
        else:
            rows.append([ctx.btn(t("confirm"), "card.confirm", v=version)])
    rows.append([ctx.btn(t("card.btn.resident"), "card.resident"), ctx.btn(t("card.btn.need"), "card.need"),
                 ctx.btn(t("card.btn.specialty"), "card.spec")])
    soon = d.get("urgency") == "soon"
    rows.append([ctx.btn(t("card.btn.routine" if soon else "card.btn.soon"), "card.urgency",
                         u="routine" if soon else "soon", v=version),
                 ctx.btn(t("card.btn.populations"), "card.pops"), ctx.btn(t("abort"), "card.abort")])
    ctx.reply("\n".join(lines), rows)


def back_to_card(ctx: Ctx) -> None:
    """Return to the card after a detour (specialties, populations, an emergency judged no emergency)."""
    ctx.acc.advance(STEP, ctx.now)
    show(ctx)


def specialty_set(ctx: Ctx, code: str) -> None:
    """The doctor chose a specialty for the card."""
    catalogue().by_code(code)
    ctx.acc.advance(STEP, ctx.now, specialty=code, specialty_chosen=True)
    show(ctx)


def show_specialties(ctx: Ctx) -> None:
    """The suggested specialties (the line names the first), the catalogue, and the way back to the card."""
    d = ctx.acc.draft
    rows = specialty_rows(ctx, d) if d.get("need") else [
        [ctx.btn(t("new.other_specialty"), "new.spec_other", parent=None, page=0)]]
    rows.append([ctx.btn(t("card.btn.back"), "card.back")])
    ctx.reply(specialty_prompt(d), rows)


# --- typed text on the card ---------------------------------------------------------------------------------


@router.step(STEP)
def card_text(ctx: Ctx, text: str) -> None:
    """What is typed while the card is open: the answer to what was asked, or what the card is missing."""
    d = ctx.acc.draft
    awaiting = d.get("awaiting")
    if awaiting == "need":
        if _set_need(ctx, text):
            show(ctx)
        return
    if awaiting == "resident" or not d.get("name"):
        _resident_text(ctx, text)
        return
    intake = read_line(ctx, text)
    if intake.name is None and intake.has_resident_details and not intake.tail and not d.get("rid"):
        _details(ctx, intake)
        if _derive(ctx):
            show(ctx)
        return
    if not d.get("need"):
        if _set_need(ctx, text):
            show(ctx)
        return
    if intake.name and _usable_need(intake.need):  # the next order in one line: this card was not confirmed
        ctx.reply(t("card.replaced", name=d.get("name"), need=d.get("need")))
        try_start(ctx, text)
        return
    ctx.reply(t("card.hint"))


# --- buttons ----------------------------------------------------------------------------------------------------


def _on_card(ctx: Ctx, action: str, payload: dict) -> bool:
    """A press that means what the card showed (a sex, a resident, a consent, an urgency): only on the newest card.
    One from an older card (another resident, another need) changes nothing: the newest card is shown again."""
    if not on_step(ctx, action, STEP):
        return False
    if payload.get("v") != ctx.acc.draft.get("v"):
        refuse(ctx, action, "old_card", "card.changed")
        show(ctx)
        return False
    return True



@router.button("card.sex")
def card_sex(ctx: Ctx, payload: dict) -> None:
    """Sex of a new resident."""
    if not _on_card(ctx, "card.sex", payload):
        return
    if payload.get("sex") not in ("M", "F") or ctx.acc.draft.get("rid"):
        refuse(ctx, "card.sex", "bad_payload")
        return
    ctx.acc.advance(STEP, ctx.now, sex=payload["sex"])
    _resolve(ctx)
    if _derive(ctx):
        show(ctx)


@router.button("card.pick")
def card_pick(ctx: Ctx, payload: dict) -> None:
    """One of the residents the card offered (of the same or a similar name)."""
    if not _on_card(ctx, "card.pick", payload):
        return
    d = ctx.acc.draft
    rid = payload.get("rid")
    offered = {o[0] for o in d.get("homonyms") or []} | set(d.get("choices") or [])
    _, village = post_village(ctx)
    resident = ctx.uow.residents.get(rid) if isinstance(rid, int) and rid in offered else None
    if resident is None or resident.village_code != village or resident.consent_withdrawn_at is not None:
        ctx.audit("refused", "resident", str(rid), reason="not_offered")
        ctx.reply(t("perm.not_your_post"))
        return
    ctx.acc.advance(STEP, ctx.now, picked=True, twin_ok=False, choices=[], **_record(ctx, resident))
    if _derive(ctx):
        show(ctx)


@router.button("card.new_twin")
def card_new_twin(ctx: Ctx, payload: dict) -> None:
    """None of the residents of that name: a new one."""
    if not _on_card(ctx, "card.new_twin", payload):
        return
    ctx.acc.advance(STEP, ctx.now, twin_ok=True)
    _resolve(ctx)
    show(ctx)


@router.button("card.consent")
def card_consent(ctx: Ctx, payload: dict) -> None:
    """The resident's separate consent, asked on its own; never implied by the confirmation."""
    if not _on_card(ctx, "card.consent", payload):
        return
    d = ctx.acc.draft
    if not d.get("name") or not isinstance(payload.get("yes"), bool):
        refuse(ctx, "card.consent", "bad_payload")
        return
    if not payload["yes"]:
        ctx.acc.clear()
        ctx.edit(t("new.consent_refused"))
        return
    ctx.acc.advance(STEP, ctx.now, consent=True, consent_for=[d.get("rid"), d.get("name")])
    show(ctx)


@router.button("card.confirm")
def card_confirm(ctx: Ctx, payload: dict) -> None:
    """File the order the card shows; only the newest card, only when nothing is missing."""
    if not _on_card(ctx, "card.confirm", payload):
        return
    d = ctx.acc.draft
    missing = _missing(d)
    if missing:
        refuse(ctx, "card.confirm", "incomplete", "button.expired", missing=missing)
        ctx.reply(t("card.not_ready", missing="、".join(t(f"card.missing.{m}") for m in missing)))
        return
    if not d.get("rid") and not d.get("twin_ok"):
        _resolve(ctx)  # someone may have added this very resident meanwhile: then the order is theirs
        if ctx.acc.draft.get("rid") or ctx.acc.draft.get("ambiguous"):
            ctx.reply(t("card.changed"))
            show(ctx)
            return
    twins = open_twins(ctx, d.get("rid"), d.get("specialty"))
    if not twins_acknowledged(twins, payload):
        show(ctx)
        return
    ctx.acc.advance(STEP, ctx.now, consent=_consent_valid(d))
    file_order(ctx)


@router.button("card.resident")
def card_resident(ctx: Ctx, payload: dict) -> None:
    """Change the resident: type a name (or part of one)."""
    if not on_step(ctx, "card.resident", STEP):
        return
    ctx.acc.advance(STEP, ctx.now, awaiting="resident")
    ctx.reply(t("card.ask_resident"), [[ctx.btn(t("card.btn.back"), "card.back")]])


@router.button("card.need")
def card_need(ctx: Ctx, payload: dict) -> None:
    """Change the need: the matcher and the red flags run again on the new words."""
    if not on_step(ctx, "card.need", STEP):
        return
    ctx.acc.advance(STEP, ctx.now, awaiting="need")
    ctx.reply(t("card.ask_need"), [[ctx.btn(t("card.btn.back"), "card.back")]])


@router.button("card.back")
def card_back(ctx: Ctx, payload: dict) -> None:
    """Back to the card, unchanged."""
    if not on_step(ctx, "card.back", STEP):
        return
    show(ctx)


@router.button("card.spec")
def card_specialty(ctx: Ctx, payload: dict) -> None:
    """Change the specialty: the suggestions with their words, or any in the catalogue."""
    if not on_step(ctx, "card.spec", STEP):
        return
    show_specialties(ctx)


@router.button("card.urgency")
def card_urgency(ctx: Ctx, payload: dict) -> None:
    """常规 or 尽快, as the doctor judges."""
    if not _on_card(ctx, "card.urgency", payload):
        return
    if payload.get("u") not in ("routine", "soon"):
        refuse(ctx, "card.urgency", "bad_payload")
        return
    ctx.acc.advance(STEP, ctx.now, urgency=payload["u"], urgency_chosen=True, soon_words=[])
    show(ctx)


@router.button("card.abort")
def card_abort(ctx: Ctx, payload: dict) -> None:
    """Abandon the card: nothing stored."""
    if not on_step(ctx, "card.abort", STEP):
        return
    ctx.acc.clear()
    ctx.edit(t("new.abandoned"))
