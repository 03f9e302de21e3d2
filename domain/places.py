"""Places (city → county → township → village) and the institutions located at them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from domain.errors import DomainError


class PlaceLevel(StrEnum):
    """The four levels of the administrative hierarchy, top-down."""

    CITY = "city"
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"

    @property
    def parent_level(self) -> PlaceLevel | None:
        """The level a place of this level must sit under (None for a city)."""
        order = list(PlaceLevel)
        i = order.index(self)
        return order[i - 1] if i else None


class InstitutionKind(StrEnum):
    """Kinds of institutions that take part in circuits, plus the commission that oversees them."""

    VILLAGE_POST = "village_post"
    TOWNSHIP_CENTER = "township_center"
    COMMUNITY_CENTER = "community_center"
    COUNTY_HOSPITAL = "county_hospital"
    CITY_HOSPITAL = "city_hospital"
    PROVINCIAL_HOSPITAL = "provincial_hospital"
    HEALTH_COMMISSION = "health_commission"

    @property
    def is_hospital(self) -> bool:
        """True for the supporting hospitals (county, city, provincial)."""
        return self in (
            InstitutionKind.COUNTY_HOSPITAL,
            InstitutionKind.CITY_HOSPITAL,
            InstitutionKind.PROVINCIAL_HOSPITAL,
        )

    @property
    def is_grassroots_center(self) -> bool:
        """True for township health centers and community health centers."""
        return self in (InstitutionKind.TOWNSHIP_CENTER, InstitutionKind.COMMUNITY_CENTER)


@dataclass(frozen=True, slots=True)
class Place:
    """A place with a stable code; ``market_days`` is a rule like ``lunar:3,8`` (townships only)."""

    code: str
    name: str
    level: PlaceLevel
    parent_code: str | None = None
    market_days: str | None = None


@dataclass(frozen=True, slots=True)
class Institution:
    """A village post, health center, hospital or commission at a place.

    ``phone`` is the institution's public switchboard or duty number (a landline such as 0598-1234567, or a
    mobile), kept as given: it is shown in full to staff who must call it, unlike personal numbers.
    """

    code: str
    name: str
    kind: InstitutionKind
    place_code: str
    phone: str | None = None


class Gazetteer:
    """The place hierarchy, answering "is this place within that one"."""

    def __init__(self, places: Iterable[Place]):
        self._places = {p.code: p for p in places}

    def __contains__(self, code: object) -> bool:
        return code in self._places

    def get(self, code: str) -> Place | None:
        """The place with this code, or None."""
        return self._places.get(code)

    def place(self, code: str) -> Place:
        """The place with this code, or ``DomainError('place.unknown')``."""
        try:
            return self._places[code]
        except KeyError:
            raise DomainError("place.unknown", code=code) from None

    def ancestors(self, code: str) -> list[Place]:
        """The place itself followed by its parents up to the city."""
        chain = []
        seen = set()
        current: str | None = code
        while current is not None and current not in seen:
            seen.add(current)
            p = self.place(current)
            chain.append(p)
            current = p.parent_code
        return chain

    def is_within(self, code: str, ancestor_code: str) -> bool:
        """True if ``code`` is ``ancestor_code`` or lies beneath it."""
        return any(p.code == ancestor_code for p in self.ancestors(code))

    def ancestor_at(self, code: str, level: PlaceLevel) -> Place | None:
        """The ancestor of ``code`` at ``level`` (the place itself if it is at that level)."""
        return next((p for p in self.ancestors(code) if p.level == level), None)

    def children(self, code: str) -> list[Place]:
        """The direct children of a place, by code."""
        return sorted((p for p in self._places.values() if p.parent_code == code), key=lambda p: p.code)
