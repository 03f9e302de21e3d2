"""Finding a resident the way an administrator knows them: by name (and village) or by one of their order numbers."""

from __future__ import annotations

from domain.errors import DomainError
from domain.places import PlaceLevel
from storage.ports import UnitOfWork


def resident_for_audit(uow: UnitOfWork, name: str | None, village: str | None, order: str | None) -> int:
    """The id of the one resident meant by ``order`` (an order number), or by ``name`` with an optional ``village``
    (its code or full name); a refusal that says what to add when nobody or several match.

    A bare number as the name is the internal id older scripts pass (no screen shows it)."""
    if order:
        found = uow.orders.by_number(order.strip().upper())
        if found is None:
            raise DomainError("order.unknown", number=order)
        return found.resident_id
    name = (name or "").strip()
    if not name:
        raise DomainError("audit.who")
    if name.isdigit():
        return int(name)
    villages = uow.reference.places_at(PlaceLevel.VILLAGE)
    if village:
        wanted = village.strip()
        villages = [p for p in villages if wanted in (p.code, p.name)]
        if not villages:
            raise DomainError("audit.unknown_village", village=village)
    names = {p.code: p.name for p in villages}
    matches = [r for r in uow.residents.in_villages(sorted(names), name) if r.name == name and r.id is not None]
    if not matches:
        where = f"（{village}）" if village else ""
        raise DomainError("audit.no_resident", name=name, where=where, where_en=f" in {village}" if village else "")
    if len(matches) > 1:
        raise DomainError(
            "audit.several", name=name, count=len(matches),
            choices="；".join(f"{names[r.village_code]}（{r.village_code}），{r.birth_year}年生" for r in matches),
            choices_en="; ".join(f"{r.village_code}, born {r.birth_year}" for r in matches),
        )
    assert matches[0].id is not None
    return matches[0].id
