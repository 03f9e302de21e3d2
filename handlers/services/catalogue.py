"""First-diagnosis catalogues (基层首诊病种目录, issue 20 part 3): each use case once, for chat and command line.

A township or community health center keeps a catalogue of the diseases it treats itself [000 三(二)(四)]: it adopts
the shared starting list (``nlp/data/first_diagnosis.tsv``), imports its own CSV, adds and removes entries; every
change is dated, so the catalogue of any past day can be read. When an order is filed its need is looked up in the
catalogue of the center that reviews it, and the match is kept on the order for the reviewer's card and the ledger.

Who may do what: the center's own township reviewer edits it; they and the village doctors of the posts it supports
read it; the command line (``actor`` None) is the operator, who may do anything. Services never commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from domain.catalogue import (
    TARGETS,
    CatalogueEntry,
    CatalogueMatch,
    CatalogueStanding,
    Tier,
    active_on,
    clean_disease,
    clean_icd10,
    clean_query,
    default_tier,
    parse_catalogue,
    require_center,
)
from domain.errors import DomainError, PermissionDenied
from domain.orders import Order
from domain.permissions import Jurisdiction
from domain.places import Institution
from domain.staff import Role
from handlers.services import Actor, today_of
from storage.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class CatalogueView:
    """A center's catalogue as it was on one day, with the target it is held to."""

    institution: Institution
    day: date
    tier: Tier
    entries: tuple[CatalogueEntry, ...]
    ever_kept: bool  # the center has had a catalogue at some time (else: "none yet, adopt the starting list")

    @property
    def size(self) -> int:
        """How many diseases the catalogue held that day."""
        return len(self.entries)

    @property
    def target(self) -> int:
        """80 for a central township health center or community hospital, 50 for the others."""
        return TARGETS[self.tier]

    @property
    def meets_target(self) -> bool:
        """True when the catalogue holds at least the target's number of diseases."""
        return self.size >= self.target

    @property
    def diseases(self) -> list[str]:
        """The diseases' names."""
        return [e.disease for e in self.entries]


def shipped_lexicon():
    """The shared starting list (imported when first needed: the ledgers read catalogues without the NLP stack)."""
    from nlp.catalogue import shipped_lexicon as lexicon

    return lexicon()


def shipped_matcher():
    """The catalogue matcher over the shipped lexicon (imported when first needed, as above)."""
    from nlp.catalogue import shipped_matcher as matcher

    return matcher()


def _center(uow: UnitOfWork, code: str) -> Institution:
    return require_center(uow.reference.institution(code), code)


def tier_of(uow: UnitOfWork, institution: Institution) -> Tier:
    """The tier an administrator set for a center, else the one its name implies."""
    return uow.catalogue.tiers().get(institution.code) or default_tier(institution)


def center_for(actor: Actor, day: date) -> str:
    """The center whose catalogue ``actor`` reads in chat: a township reviewer's own, a village doctor's
    supporting center; ``PermissionDenied`` for anyone else or a post no center supports."""
    st = actor.staff
    if actor.role is Role.TOWNSHIP_REVIEWER:
        return st.institution_code
    if actor.role is Role.VILLAGE_DOCTOR:
        centers = centers_of(actor.jurisdiction, st.institution_code, day)
        if centers:
            return centers[0]
        raise PermissionDenied("catalogue.no_center")
    raise PermissionDenied("perm.action_not_for_role", role=actor.role.value)


def centers_of(jurisdiction: Jurisdiction, post_code: str, day: date) -> list[str]:
    """The health centers that directly support a village post (the reviewers of its orders)."""
    net = jurisdiction.network
    return sorted(
        code for code in net.supporters_of(post_code, day)
        if net.supports(code, post_code, day, direct=True)
        and (k := jurisdiction.kind_of(code)) is not None and k.is_grassroots_center
    )


def _may_edit(actor: Actor | None, code: str) -> None:
    if actor is None:
        return  # the operator on the command line
    if actor.role is not Role.TOWNSHIP_REVIEWER or actor.staff.institution_code != code:
        raise PermissionDenied("catalogue.not_editor")


def catalogue_on(uow: UnitOfWork, code: str, day: date) -> CatalogueView:
    """A center's catalogue on ``day`` (``DomainError`` for an unknown institution or one that is no center)."""
    inst = _center(uow, code)
    entries = uow.catalogue.entries(code)
    return CatalogueView(inst, day, tier_of(uow, inst), tuple(active_on(entries, day)), bool(entries))


def _audit(uow: UnitOfWork, actor: Actor | None, now: datetime, action: str, code: str, **detail: object) -> None:
    from domain.orders import AuditEvent

    if actor is not None:
        actor.audit(uow, now, action, "catalogue", code, detail=detail)
    else:
        uow.audit.append(AuditEvent(None, "cli", action, "catalogue", code, None, None, None, now,
                                    {"origin": "cli", **detail}))


def _add(uow: UnitOfWork, actor: Actor | None, code: str, disease: str, icd10: str | None, day: date,
         source: str, removed_on: date | None = None) -> CatalogueEntry:
    entry = CatalogueEntry(code, disease, icd10, day, removed_on)
    return uow.catalogue.add(entry, source, actor.staff_id if actor else None)


def adopt_default(uow: UnitOfWork, actor: Actor | None, code: str, now: datetime) -> int:
    """Add every disease of the shared starting list the catalogue does not hold today; returns how many."""
    _center(uow, code)
    _may_edit(actor, code)
    day = today_of(now)
    held = {e.disease for e in active_on(uow.catalogue.entries(code), day)}
    added = 0
    for d in shipped_lexicon():
        if d.name not in held:
            _add(uow, actor, code, d.name, d.icd10, day, "default")
            added += 1
    _audit(uow, actor, now, "catalogue.adopt_default", code, added=added)
    return added


def add_entry(uow: UnitOfWork, actor: Actor | None, code: str, disease: str, icd10: str | None,
              now: datetime) -> CatalogueEntry:
    """Add one disease from today (``DomainError`` if it is already listed or the name or code is not valid)."""
    _center(uow, code)
    _may_edit(actor, code)
    name, icd = clean_disease(disease), clean_icd10(icd10)
    day = today_of(now)
    if any(e.disease == name for e in active_on(uow.catalogue.entries(code), day)):
        raise DomainError("catalogue.already_listed", disease=name)
    if icd is None:  # a disease of the starting list named without its code takes the list's code
        icd = next((d.icd10 for d in shipped_lexicon() if d.name == name), None)
    entry = _add(uow, actor, code, name, icd, day, "cli" if actor is None else "chat")
    _audit(uow, actor, now, "catalogue.add", code, disease=name, icd10=icd)
    return entry


def remove_entry(uow: UnitOfWork, actor: Actor | None, code: str, disease: str, now: datetime) -> CatalogueEntry:
    """Take a disease off from today (it stays in the catalogue's history); ``DomainError`` if it is not listed."""
    _center(uow, code)
    _may_edit(actor, code)
    name = clean_disease(disease)
    day = today_of(now)
    current = active_on(uow.catalogue.entries(code), day)
    entry = next((e for e in current if e.disease == name), None)
    entry = entry or next((e for e in current if clean_icd10_or_none(name) == e.icd10), None)
    if entry is None or entry.id is None:
        raise DomainError("catalogue.not_listed", disease=name)
    uow.catalogue.remove(entry.id, day, actor.staff_id if actor else None)
    _audit(uow, actor, now, "catalogue.remove", code, disease=entry.disease, icd10=entry.icd10)
    return entry


def clean_icd10_or_none(text: str) -> str | None:
    """``text`` as an ICD-10 code if it is one (a removal may name the code), else None."""
    try:
        return clean_icd10(text)
    except DomainError:
        return None


def import_catalogue(uow: UnitOfWork, actor: Actor | None, code: str, name: str, data: bytes,
                     now: datetime) -> tuple[int, int]:
    """Read a catalogue file and apply it whole (``ImportRejected`` with every row's problem, nothing written).

    A row names a disease from ``added_on`` (default today) and, if given, until ``removed_on``. Importing the
    same file again changes nothing: a row whose period is already stored is skipped. A disease listed today is
    left as it is, unless the row removes it after it was added: then its removal is dated. Any other row (one of
    the past, or one still to come) is stored as its own dated entry. Returns (added, removed).
    """
    _center(uow, code)
    _may_edit(actor, code)
    day = today_of(now)
    rows = parse_catalogue(name, data, day)
    entries = uow.catalogue.entries(code)
    stored = {(e.disease, e.added_on, e.removed_on) for e in entries}
    current = {e.disease: e for e in active_on(entries, day)}
    added = removed = 0
    for r in rows:
        if (r.disease, r.added_on, r.removed_on) in stored:
            continue
        held = current.get(r.disease)
        if (held is not None and held.id is not None and r.added_on <= day and r.removed_on is not None
                and r.removed_on > held.added_on):
            uow.catalogue.remove(held.id, r.removed_on, actor.staff_id if actor else None)
            removed += 1
            continue
        if any(_overlap(r.added_on, r.removed_on, e.added_on, e.removed_on)
               for e in entries if e.disease == r.disease):
            continue  # listed for (part of) that time already: a day must never count a disease twice
        entries.append(_add(uow, actor, code, r.disease, r.icd10, r.added_on, "import", r.removed_on))
        stored.add((r.disease, r.added_on, r.removed_on))
        added += 1
    _audit(uow, actor, now, "catalogue.import", code, file=name[:100], added=added, removed=removed)
    return added, removed


def _overlap(a1: date, r1: date | None, a2: date, r2: date | None) -> bool:
    """Whether two dated periods (from added_on, until removed_on or for good) share a day."""
    return a1 < (r2 or date.max) and a2 < (r1 or date.max)


def set_tier(uow: UnitOfWork, actor: Actor | None, code: str, tier: str, now: datetime) -> Tier:
    """Hold a center's catalogue to the central (80) or general (50) target; only the operator decides this."""
    _center(uow, code)
    if actor is not None:
        raise PermissionDenied("catalogue.not_editor")
    try:
        chosen = Tier(tier)
    except ValueError:
        raise DomainError("catalogue.bad_tier", tier=str(tier)[:20]) from None
    uow.catalogue.set_tier(code, chosen, now)
    _audit(uow, actor, now, "catalogue.tier", code, tier=chosen.value)
    return chosen


def match_text(uow: UnitOfWork, code: str, text: str, day: date) -> tuple[CatalogueView, list[CatalogueMatch]]:
    """The catalogue on ``day`` and the entries ``text`` names in it (``DomainError`` for text over the limit)."""
    query = clean_query(text)
    view = catalogue_on(uow, code, day)
    return view, shipped_matcher().match(query, view.entries) if query else []


def match_order(uow: UnitOfWork, order: Order, now: datetime, jurisdiction: Jurisdiction | None = None, *,
                edited: bool = True) -> CatalogueMatch | None:
    """Look the order's need up in the catalogue of the center that reviews it; keep the best match on the order
    (``edited``: the need changed, so an earlier match may no longer hold; a new order has none to forget)."""
    if order.id is None:
        return None
    day = today_of(now)
    centers = centers_of(jurisdiction or uow.reference.jurisdiction(), order.post_code, day)
    for code in centers:
        entries = active_on(uow.catalogue.entries(code), day)
        found = shipped_matcher().match(order.need_text, entries) if entries else []
        if found:
            uow.catalogue.save_match(order.id, code, found[0], now)
            return found[0]
    if edited:
        uow.catalogue.clear_match(order.id)  # an edited need may no longer name a catalogue disease
    return None


def order_match(uow: UnitOfWork, order_id: int | None) -> CatalogueMatch | None:
    """The catalogue entry an order matched when it was filed (None if none, or erased with the resident)."""
    return uow.catalogue.match_of(order_id)


def order_matches(uow: UnitOfWork, order_ids: Iterable[int | None]) -> dict[int, CatalogueMatch]:
    """The matches of several orders at once, by order id."""
    return uow.catalogue.matches_of(i for i in order_ids if i)


def catalogue_standings(uow: UnitOfWork, place_codes: frozenset[str] | None, first: date, last: date,
                        as_of: date) -> list[CatalogueStanding]:
    """The catalogue ledger of the centers at ``place_codes`` (None: every center): size on ``as_of`` against the
    80/50 target, and the period's orders that matched each catalogue and how many were handled locally."""
    centers = [i for i in uow.reference.institutions() if i.kind.is_grassroots_center
               and (place_codes is None or i.place_code in place_codes)]
    codes = [c.code for c in centers]
    entries = uow.catalogue.entries_of(codes)
    tiers = uow.catalogue.tiers()
    counts = uow.catalogue.match_counts(codes, first, last)
    return [
        CatalogueStanding(c.code, c.name, c.place_code, tiers.get(c.code) or default_tier(c),
                          len(active_on(entries.get(c.code, []), as_of)), *counts.get(c.code, (0, 0)))
        for c in sorted(centers, key=lambda c: c.code)
    ]
